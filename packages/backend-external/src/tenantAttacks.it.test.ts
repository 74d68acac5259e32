/**
 * Hostile tenants against the real operator (core's reconcilers + the external backend, a real
 * kube-apiserver, a real PostgreSQL 15 of its own). Each attack of the catalogue runs as a tenant
 * — the login of a PostgreSQLDatabase's Secret — or as a pre-existing role with the name the
 * operator derives, and is followed by what the operator does anyway: resyncs, a reset-password,
 * a reconcile of a second tenant, deletes. Afterwards no role may have gained an attribute or a
 * membership (except the operator's own admin acting as owner), the tenant must reach no database
 * but its own (and the system databases PUBLIC may connect to, where it can create nothing), no
 * trap may have fired as anyone but its author, and nothing the tenant made may be owned by a
 * superuser.
 *
 * Runs on the external backend with the operator's login a superuser and the documented minimal
 * login (CREATEDB CREATEROLE), and on a team server of the helmbitnami backend (the kubelet
 * simulator runs the chart's PostgreSQL; the operator's login is the chart's superuser).
 * (Lives here, not in core: core may not import a backend.)
 */
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import { CoreV1Api, CustomObjectsApi, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createReconcilers, decodeSecret, generatePassword, GROUP, LoadedBackendRegistry, pendingSecretName, PINNED_SESSION_OPTIONS, silentLogger, VERSION,
  type PostgreSQLDatabase,
} from '@hybridcloud-postgresql/core';
import { reconcileUntil, TestEventRecorder } from '@hybridcloud-postgresql/core/testing';
import { applyCrds, createTestNamespace, KubeletSimulator, startPostgres, useControlPlane, type ControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import bitnami, { BitnamiConfigSchema } from '@hybridcloud-postgresql/backend-helm-bitnami';
import external, { serverRoleName } from './index.js';
import type { ExternalConfig } from './config.js';
import type { ExternalBackend } from './externalBackend.js';

const MERGE = setHeaderOptions('Content-Type', 'application/merge-patch+json');
const SYSTEM_DBS = ['postgres', 'template1'];
/** SQL: database d is open to every role (no ACL = the default CONNECT for PUBLIC, or an explicit one). */
const PUBLIC_CONNECT = `d.datacl IS NULL OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(d.datacl) x WHERE x.grantee OPERATOR(pg_catalog.=) 0 AND x.privilege_type OPERATOR(pg_catalog.=) 'CONNECT')`;

let pgs: Postgres;
let kc: KubeConfig;
let cp: ControlPlane;
/** The server under attack and a superuser on it (set by each variant). */
let target: { host: string; port: number; superuser: string; password: string };
/** Maps the host/port of a credentials Secret to where the test reaches it. */
let reachable: (host: string, port: number) => Promise<{ host: string; port: number }> = async (host, port) => ({ host, port });

beforeAll(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
  kc = cp.kubeConfig();
  // A server of its own: the checks below look at every role and database on it.
  pgs = await startPostgres();
});

afterAll(async () => {
  await pgs?.stop();
});

/** A superuser session for setup and checks, pinned like the operator's (the tenant may have planted things). */
async function su<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = [], database = 'postgres'): Promise<R[]> {
  const c = new pg.Client({ host: target.host, port: target.port, user: target.superuser, password: target.password, database, options: PINNED_SESSION_OPTIONS });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

interface Login { host: string; port: number; user: string; password: string; database: string }

/** A tenant's own session: no pinned settings, whatever its database and role say applies. */
async function asTenant(login: Login, statements: string[]): Promise<{ refused: string[] }> {
  const c = new pg.Client({ host: login.host, port: login.port, user: login.user, password: login.password, database: login.database });
  c.on('error', () => undefined);
  const refused: string[] = [];
  try {
    await c.connect();
  } catch (err) {
    return { refused: [`login to ${login.database}: ${(err as Error).message}`] };
  }
  try {
    for (const s of statements) {
      try {
        await c.query(s);
      } catch (err) {
        refused.push(`${s.slice(0, 60)}: ${(err as Error).message}`);
      }
    }
  } finally {
    await c.end().catch(() => undefined);
  }
  return { refused };
}

async function canLogin(login: Login): Promise<boolean> {
  const c = new pg.Client({ host: login.host, port: login.port, user: login.user, password: login.password, database: login.database, connectionTimeoutMillis: 3000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

const ident = (s: string) => pg.escapeIdentifier(s);

/** TENANT_ATTACK_REPORT=<file>: one JSON line per attack with what it got (for the before/after count). */
function report(variant: string, attack: string, got: string[], broken: string[] = []): void {
  const file = process.env['TENANT_ATTACK_REPORT'];
  if (file) appendFileSync(file, JSON.stringify({ variant, attack, got, broken }) + '\n');
}
const lit = (s: string) => pg.escapeLiteral(s);

/** The trap every planted object calls: escalate its author, and log who ran it. */
function trapStatements(tenant: string): string[] {
  return [
    'CREATE SCHEMA IF NOT EXISTS atk',
    'GRANT USAGE ON SCHEMA atk TO PUBLIC',
    'CREATE TABLE IF NOT EXISTS atk.atk_log (who text)',
    'GRANT INSERT ON atk.atk_log TO PUBLIC',
    `CREATE OR REPLACE FUNCTION atk.atk_trap() RETURNS boolean LANGUAGE plpgsql AS $f$
     BEGIN
       INSERT INTO atk.atk_log VALUES (current_user);
       BEGIN EXECUTE 'ALTER ROLE ' || pg_catalog.quote_ident(${lit(tenant)}) || ' SUPERUSER CREATEROLE CREATEDB'; EXCEPTION WHEN others THEN NULL; END;
       BEGIN EXECUTE 'GRANT pg_read_all_data, pg_write_server_files TO ' || pg_catalog.quote_ident(${lit(tenant)}); EXCEPTION WHEN others THEN NULL; END;
       RETURN true;
     END $f$`,
  ];
}

/** Operators and functions shadowing what an admin's unqualified query would use, in schema `schema`. */
function shadowStatements(schema: string): string[] {
  const s = ident(schema);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `GRANT USAGE ON SCHEMA ${s} TO PUBLIC`,
    `CREATE OR REPLACE FUNCTION ${s}.atk_eq(name, name) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN PERFORM atk.atk_trap(); RETURN pg_catalog.nameeq($1, $2); END $f$`,
    `CREATE OPERATOR ${s}.= (LEFTARG = name, RIGHTARG = name, FUNCTION = ${s}.atk_eq)`,
    `CREATE OR REPLACE FUNCTION ${s}.atk_eqt(name, text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN PERFORM atk.atk_trap(); RETURN $1::text OPERATOR(pg_catalog.=) $2; END $f$`,
    `CREATE OPERATOR ${s}.= (LEFTARG = name, RIGHTARG = text, FUNCTION = ${s}.atk_eqt)`,
    `CREATE OR REPLACE FUNCTION ${s}.atk_oideq(oid, oid) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN PERFORM atk.atk_trap(); RETURN pg_catalog.oideq($1, $2); END $f$`,
    `CREATE OPERATOR ${s}.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = ${s}.atk_oideq)`,
    `CREATE OR REPLACE FUNCTION ${s}.has_schema_privilege(name, oid, text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN PERFORM atk.atk_trap(); RETURN true; END $f$`,
    `CREATE OR REPLACE FUNCTION ${s}.current_setting(text) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN PERFORM atk.atk_trap(); RETURN '150000'; END $f$`,
    `CREATE OR REPLACE FUNCTION ${s}.pg_get_userbyid(oid) RETURNS name LANGUAGE plpgsql AS $f$ BEGIN PERFORM atk.atk_trap(); RETURN 'nobody'; END $f$`,
    `CREATE OR REPLACE FUNCTION ${s}.pg_has_role(name, name, text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN PERFORM atk.atk_trap(); RETURN false; END $f$`,
  ];
}

interface Tenant extends Login {
  cr: string;
  secret: string;
}

interface AttackContext {
  /** The attacking tenant (a PostgreSQLDatabase made before the attack), unless the attack is a pre-existing role. */
  a: Tenant;
  /** A neighbour on the same server (the second tenant). */
  b: Tenant;
  admin: string;
  serverRole: string;
  patchSpec(cr: string, spec: Record<string, unknown>): Promise<void>;
  resync(cr: string): Promise<void>;
}

interface Attack {
  name: string;
  /** metadata.name of the attacking tenant's PostgreSQLDatabase (default atk<i>). */
  crName?: string;
  /** Runs as the tenant (or sets the scene as a superuser). */
  run(c: AttackContext): Promise<void>;
  /** Databases the tenant may reach because their owner granted it (the attack's cooperating victim). */
  consented?: (c: AttackContext) => string[];
  /** Extra checks after resync, reset-password and the neighbour's reconcile (before the deletes). */
  check?(c: AttackContext): Promise<void>;
}

/**
 * Attacks run by an existing tenant. (The pre-existing-name attacks are separate below: there the
 * CR is the victim and the holder of the name must keep what it has.)
 */
const ATTACKS: Attack[] = [
  {
    name: 'search_path via ALTER DATABASE + operator = (name,name) planted in the path',
    run: async ({ a }) => {
      await asTenant(a, [...trapStatements(a.user), ...shadowStatements('atk'), `ALTER DATABASE ${ident(a.database)} SET search_path = atk, pg_catalog, public`]);
    },
  },
  {
    name: 'search_path via ALTER ROLE … IN DATABASE (self, ALL, the admin)',
    run: async ({ a, admin }) => {
      await asTenant(a, [
        ...trapStatements(a.user), ...shadowStatements('atk'),
        `ALTER ROLE CURRENT_USER IN DATABASE ${ident(a.database)} SET search_path = atk, pg_catalog`,
        `ALTER ROLE ALL IN DATABASE ${ident(a.database)} SET search_path = atk, pg_catalog`,
        `ALTER ROLE ${ident(admin)} IN DATABASE ${ident(a.database)} SET search_path = atk, pg_catalog`,
      ]);
    },
  },
  {
    name: 'shadowing catalog functions and operators in public (search_path public first)',
    run: async ({ a }) => {
      await asTenant(a, [...trapStatements(a.user), ...shadowStatements('public'), `ALTER DATABASE ${ident(a.database)} SET search_path = public, pg_catalog`]);
    },
  },
  {
    name: 'pg_temp first on the search_path, temp objects and session settings',
    run: async ({ a }) => {
      await asTenant(a, [
        ...trapStatements(a.user),
        `ALTER DATABASE ${ident(a.database)} SET search_path = pg_temp, atk, pg_catalog`,
        `ALTER ROLE CURRENT_USER SET search_path = pg_temp, atk, pg_catalog`,
        'CREATE TEMP TABLE atk_tmp (x int)',
        `CREATE FUNCTION pg_temp.atk_tmpfn() RETURNS boolean LANGUAGE sql AS $f$ SELECT atk.atk_trap() $f$`,
        `ALTER DATABASE ${ident(a.database)} SET temp_tablespaces = 'pg_default'`,
      ]);
    },
  },
  {
    name: 'ALTER DATABASE … SET role / session_authorization / read-only for the admin’s sessions',
    run: async ({ a }) => {
      await asTenant(a, [
        ...trapStatements(a.user),
        `ALTER DATABASE ${ident(a.database)} SET role = ${ident(a.user)}`,
        `ALTER DATABASE ${ident(a.database)} SET session_authorization = ${ident(a.user)}`,
        `ALTER DATABASE ${ident(a.database)} SET session_preload_libraries = 'plpgsql'`,
        `ALTER DATABASE ${ident(a.database)} SET default_transaction_read_only = on`,
      ]);
    },
  },
  {
    name: 'SECURITY DEFINER function planted in a neighbour’s database before REASSIGN/DROP OWNED',
    consented: ({ b }) => [b.database],
    run: async ({ a, b }) => {
      // The neighbour lets the attacker in (its own decision); the attacker plants, then is deleted.
      await asTenant(b, [`GRANT CONNECT, CREATE ON DATABASE ${ident(b.database)} TO ${ident(a.user)}`, `GRANT CREATE, USAGE ON SCHEMA public TO ${ident(a.user)}`]);
      await asTenant({ ...a, database: b.database }, [
        `CREATE SCHEMA atk_in_b`,
        `CREATE FUNCTION atk_in_b.atk_secdef() RETURNS text LANGUAGE sql SECURITY DEFINER AS $f$ SELECT current_user::text $f$`,
        `CREATE FUNCTION public.atk_secdef2() RETURNS text LANGUAGE sql SECURITY DEFINER AS $f$ SELECT current_user::text $f$`,
        `CREATE TABLE public.atk_table (x int)`,
        `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO PUBLIC`,
        `GRANT USAGE ON SCHEMA atk_in_b TO PUBLIC`,
      ]);
    },
  },
  {
    name: 'extension schema hijack: schema "extensions" and type citext made by the tenant, then an extension requested',
    run: async ({ a, patchSpec, resync }) => {
      await asTenant(a, [
        ...trapStatements(a.user),
        'CREATE SCHEMA extensions',
        'GRANT USAGE, CREATE ON SCHEMA extensions TO PUBLIC',
        ...shadowStatements('extensions').slice(2),
        `CREATE FUNCTION public.atk_lower(text) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN PERFORM atk.atk_trap(); RETURN pg_catalog.lower($1); END $f$`,
        `ALTER DATABASE ${ident(a.database)} SET search_path = extensions, public, pg_catalog`,
      ]);
      await patchSpec(a.cr, { database: { extensions: ['citext', 'pgcrypto'] } });
      await resync(a.cr);
    },
  },
  {
    name: 'extension schema hijack (no schema of its own): functions planted in public for the extension script',
    run: async ({ a, patchSpec, resync }) => {
      await asTenant(a, [
        ...trapStatements(a.user), ...shadowStatements('public'),
        `CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN PERFORM atk.atk_trap(); RETURN pg_catalog.lower($1); END $f$`,
        `CREATE FUNCTION public.texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN PERFORM atk.atk_trap(); RETURN pg_catalog.texteq($1, $2); END $f$`,
        `ALTER DATABASE ${ident(a.database)} SET search_path = public, pg_catalog`,
      ]);
      await patchSpec(a.cr, { database: { extensions: ['citext', 'hstore'] } });
      await resync(a.cr);
    },
    check: async ({ a }) => {
      // Extensions exist, in the operator's schema, and the tenant still uses them unqualified.
      const ext = await su<{ extname: string; nspname: string }>(`SELECT e.extname, n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace WHERE e.extname OPERATOR(pg_catalog.<>) 'plpgsql' ORDER BY 1`, [], a.database);
      expect(ext).toEqual([{ extname: 'citext', nspname: 'extensions' }, { extname: 'hstore', nspname: 'extensions' }]);
      const c = new pg.Client({ host: a.host, port: a.port, user: a.user, password: a.password, database: a.database });
      await c.connect();
      try {
        await c.query('RESET search_path');
        await c.query(`SET search_path = "$user", public, extensions`);
        expect((await c.query(`SELECT 'A'::citext = 'a'::citext AS eq`)).rows[0].eq).toBe(true);
      } finally {
        await c.end();
      }
    },
  },
  {
    name: 'granting its own role to the neighbour, the server role and the operator',
    run: async ({ a, b, admin, serverRole }) => {
      await asTenant(a, [
        `GRANT ${ident(a.user)} TO ${ident(b.user)}`,
        `GRANT ${ident(a.user)} TO ${ident(serverRole)}`,
        `GRANT ${ident(a.user)} TO ${ident(admin)}`,
        `GRANT ${ident(a.user)} TO ${ident(b.user)} WITH ADMIN OPTION`,
      ]);
    },
  },
  {
    name: 'forging ownership: comments, owner change, rename, event trigger, role creation',
    run: async ({ a, b }) => {
      const uidOfB = (await su<{ c: string }>(`SELECT pg_catalog.shobj_description(oid, 'pg_authid') AS c FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1`, [b.user]))[0]?.c ?? '';
      await asTenant(a, [
        `COMMENT ON ROLE ${ident(a.user)} IS ${lit(uidOfB)}`,
        `COMMENT ON ROLE ${ident(b.user)} IS 'hybridcloud-postgresql-operator: PostgreSQLDatabase x/y uid=forged'`,
        `COMMENT ON DATABASE ${ident(a.database)} IS ${lit(uidOfB)}`,
        `ALTER DATABASE ${ident(a.database)} OWNER TO ${ident(b.user)}`,
        `ALTER DATABASE ${ident(a.database)} RENAME TO ${ident(b.database + '_x')}`,
        `CREATE FUNCTION public.atk_evt() RETURNS event_trigger LANGUAGE plpgsql AS $f$ BEGIN NULL; END $f$`,
        `CREATE EVENT TRIGGER atk_evt ON ddl_command_start EXECUTE FUNCTION public.atk_evt()`,
        `CREATE ROLE atk_role LOGIN`,
        `CREATE DATABASE atk_db`,
        `ALTER ROLE ${ident(a.user)} CREATEDB`,
        `ALTER ROLE ${ident(b.user)} PASSWORD 'stolen'`,
      ]);
    },
  },
  {
    name: 'search_path trap by a tenant whose CR name has dots and 63 characters (63-byte role/database names)',
    crName: `atk.dots-${'x'.repeat(54)}`,
    run: async ({ a }) => {
      await asTenant(a, [...trapStatements(a.user), ...shadowStatements('atk'), `ALTER DATABASE ${ident(a.database)} SET search_path = atk, pg_catalog, public`]);
    },
  },
  {
    name: 'hostile object names: quotes, dots, spaces, unicode, 63-byte edges',
    run: async ({ a }) => {
      const names = [`atk_"; DROP DATABASE postgres; --`, 'atk_with.dots.in.it', 'atk_with space', 'atk_ünïcødé_日本', `atk_'quote`, `atk_${'x'.repeat(59)}`, `atk_${'ü'.repeat(29)}`];
      const stmts: string[] = [];
      for (const n of names) {
        stmts.push(`CREATE SCHEMA ${ident(n)}`, `CREATE TABLE ${ident(n)}.${ident(n)} (${ident(n)} int)`, `CREATE FUNCTION ${ident(n)}.${ident(n)}() RETURNS int LANGUAGE sql SECURITY DEFINER AS $f$ SELECT 1 $f$`);
      }
      await asTenant(a, stmts);
    },
  },
  {
    name: 'squatting the orphan role and the extension schema of the neighbour',
    run: async ({ a, b }) => {
      await asTenant(a, [`CREATE ROLE hybridcloud_orphaned_objects`, `GRANT ${ident(a.user)} TO hybridcloud_orphaned_objects`]);
      await asTenant({ ...a, database: b.database }, [`CREATE SCHEMA extensions`]);
    },
  },
];

interface Server {
  rec: ReturnType<typeof createReconcilers>;
  /** The operator's login on the server. */
  admin: string;
  /** PostgreSQL names the operator derives for a PostgreSQLDatabase. */
  names(cr: string): { databaseName: string; userName: string };
  serverSpec: Record<string, unknown>;
  /** Called once the PostgreSQLServer is Ready, with its Secret (sets `target`, `reachable`). */
  serverReady(secret: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

interface Variant {
  label: string;
  setup(ns: string): Promise<Server>;
}

const gen = () => generatePassword({ length: 20, specialCharacters: true });

async function externalServer(ns: string, admin: { user: string; password: string }): Promise<Server> {
  target = { host: pgs.host, port: pgs.port, superuser: pgs.superuser, password: pgs.password };
  reachable = async (host, port) => ({ host, port });
  const config: ExternalConfig = {
    host: pgs.host, port: pgs.port, sslmode: 'disable', admin_username: admin.user, admin_password: admin.password,
    database: 'postgres', role_prefix: '', server_delete_fake: false, database_delete_fake: false,
  };
  const backend = (await external.create({ config, operatorConfig: {}, log: silentLogger, kubeConfig: kc, operatorNamespace: 'default', generatePassword: gen })) as ExternalBackend;
  const rec = createReconcilers({ kubeConfig: kc, registry: new LoadedBackendRegistry('external', [], new Map([['external', backend]])), events: new TestEventRecorder(kc), log: silentLogger, generatePassword: gen, resyncMs: 300_000 });
  return {
    rec, admin: admin.user, names: (cr) => backend.namesFor({ namespace: ns, name: cr }), serverSpec: {},
    serverReady: async () => undefined,
    close: async () => {
      await rec.sql.close();
      await backend.close();
    },
  };
}

const BITNAMI_CHART = fileURLToPath(new URL('../../backend-helm-bitnami/test-charts/postgresql', import.meta.url));

const VARIANTS: Variant[] = [
  { label: 'external, superuser operator login', setup: (ns) => externalServer(ns, { user: pgs.superuser, password: pgs.password }) },
  {
    label: 'external, minimal operator login (CREATEDB CREATEROLE, no superuser)',
    setup: async (ns) => {
      target = { host: pgs.host, port: pgs.port, superuser: pgs.superuser, password: pgs.password };
      await su(`CREATE ROLE hc_operator LOGIN CREATEDB CREATEROLE PASSWORD 'Operator-Pw-1'`);
      return externalServer(ns, { user: 'hc_operator', password: 'Operator-Pw-1' });
    },
  },
  {
    label: 'helmbitnami team server, the chart\'s superuser as operator login',
    setup: async (ns) => {
      const sim = new KubeletSimulator(kc, { namespaces: [ns] }).start();
      const ctx = { operatorConfig: {}, log: silentLogger, kubeConfig: kc, operatorNamespace: 'default', generatePassword: gen, connectionResolver: sim.resolver };
      const b = await bitnami.create({ ...ctx, config: Value.Default(BitnamiConfigSchema, { chart: { reference: BITNAMI_CHART }, helm_binary: cp.bin.helm, pvc_cleanup: true }) as never } as never);
      const rec = createReconcilers({
        kubeConfig: kc, registry: new LoadedBackendRegistry('helmbitnami', [], new Map([['helmbitnami', b]])), events: new TestEventRecorder(kc),
        log: silentLogger, generatePassword: gen, resyncMs: 300_000, resolver: sim.resolver,
      });
      reachable = async (host, port) => sim.resolver.resolve({}, { host, port });
      return {
        rec, admin: 'postgres', names: (cr) => ({ databaseName: cr.replaceAll('-', '_'), userName: cr.replaceAll('-', '_') }),
        serverSpec: { size: { cpu: 1, memoryMB: 1024, storageGB: 2 } },
        serverReady: async (secret) => {
          const at = await reachable(secret['host']!, Number(secret['port']));
          target = { ...at, superuser: secret['username']!, password: secret['password']! };
        },
        close: async () => {
          await rec.sql.close();
          await b.close?.();
          await sim.stop();
        },
      };
    },
  },
];

describe.each(VARIANTS)('tenant attacks, $label', (variant) => {
  let ns: string;
  let env: Server;
  let admin: { user: string };
  let rec: ReturnType<typeof createReconcilers>;
  let co: CustomObjectsApi;
  let core: CoreV1Api;
  const server = 'srv';
  let serverRole: string;

  beforeAll(async () => {
    ns = await createTestNamespace(cp, 'tenant-attacks');
    co = kc.makeApiClient(CustomObjectsApi);
    core = kc.makeApiClient(CoreV1Api);
    env = await variant.setup(ns);
    rec = env.rec;
    admin = { user: env.admin };
    await co.createNamespacedCustomObject({ ...ref('postgresqlservers'), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLServer', metadata: { name: server, namespace: ns }, spec: { credentialsSecret: `${server}-admin`, ...env.serverSpec } } });
    await reconcileUntil(rec.server, { namespace: ns, name: server }, async () => ready(await co.getNamespacedCustomObject({ ...ref('postgresqlservers'), name: server })), { timeoutMs: 180_000, maxDelayMs: 500 });
    const secret = await secretData(`${server}-admin`);
    await env.serverReady(secret);
    serverRole = secret['username']!;
  }, 300_000);

  afterAll(async () => {
    await env?.close();
  });

  const ref = (plural: string) => ({ group: GROUP, version: VERSION, namespace: ns, plural });
  const ready = (o: unknown) => (o as PostgreSQLDatabase).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const getDb = async (name: string) => (await co.getNamespacedCustomObject({ ...ref('postgresqldatabases'), name })) as PostgreSQLDatabase;
  const secretData = async (name: string) => decodeSecret(await core.readNamespacedSecret({ namespace: ns, name }).catch(() => undefined));
  const gone = async (name: string) => getDb(name).then(() => false, () => true);

  async function createDb(name: string, annotations: Record<string, string> = {}): Promise<void> {
    await co.createNamespacedCustomObject({ ...ref('postgresqldatabases'), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLDatabase', metadata: { name, namespace: ns, annotations }, spec: { serverRef: { name: server }, credentialsSecret: `${name}-creds` } } });
  }
  async function tenant(name: string): Promise<Tenant> {
    await createDb(name);
    await reconcileUntil(rec.database, { namespace: ns, name }, async () => ready(await getDb(name)));
    const s = await secretData(`${name}-creds`);
    const at = await reachable(s['host']!, Number(s['port']));
    return { cr: name, secret: `${name}-creds`, ...at, user: s['username']!, password: s['password']!, database: s['dbname']! };
  }
  async function resync(cr: string): Promise<void> {
    for (let i = 0; i < 2; i++) await rec.database.reconcile({ namespace: ns, name: cr }).catch(() => undefined);
    await rec.server.reconcile({ namespace: ns, name: server }).catch(() => undefined);
  }
  async function patchSpec(cr: string, spec: Record<string, unknown>): Promise<void> {
    await co.patchNamespacedCustomObject({ ...ref('postgresqldatabases'), name: cr, body: { spec } }, MERGE);
  }
  async function resetPassword(cr: string): Promise<void> {
    await co.patchNamespacedCustomObject({ ...ref('postgresqldatabases'), name: cr, body: { metadata: { labels: { 'operator/action': 'reset-password' } } } }, MERGE);
    // A database the operator refuses to serve keeps the label; a few reconciles must not hurt
    // (a fixed number: waiting for a label that stays cost 5 s per attack).
    for (let i = 0; i < 4; i++) {
      await rec.database.reconcile({ namespace: ns, name: cr }).catch(() => undefined);
      if ((await getDb(cr)).metadata.labels?.['operator/action'] === undefined) break;
    }
  }
  async function remove(cr: string): Promise<void> {
    await co.deleteNamespacedCustomObject({ ...ref('postgresqldatabases'), name: cr }).catch(() => undefined);
    await reconcileUntil(rec.database, { namespace: ns, name: cr }, () => gone(cr));
  }

  async function roles(): Promise<Map<string, string[]>> {
    const rows = await su<{ rolname: string; attrs: string[] }>(`SELECT rolname, pg_catalog.array_remove(ARRAY[
        CASE WHEN rolsuper THEN 'SUPERUSER' END, CASE WHEN rolcreaterole THEN 'CREATEROLE' END, CASE WHEN rolcreatedb THEN 'CREATEDB' END,
        CASE WHEN rolreplication THEN 'REPLICATION' END, CASE WHEN rolbypassrls THEN 'BYPASSRLS' END], NULL) AS attrs
      FROM pg_catalog.pg_roles WHERE rolname !~ '^pg_'`);
    return new Map(rows.map((r) => [r.rolname, r.attrs]));
  }
  async function memberships(): Promise<Set<string>> {
    const rows = await su<{ e: string }>(`SELECT r.rolname || ' <- ' || u.rolname AS e FROM pg_catalog.pg_auth_members m
      JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.roleid JOIN pg_catalog.pg_roles u ON u.oid OPERATOR(pg_catalog.=) m.member`);
    return new Set(rows.map((r) => r.e));
  }
  /**
   * Databases a role may connect to beyond those anyone may (PUBLIC's CONNECT: postgres and
   * template1 by default, databases made by hand), and system databases it may create objects in.
   */
  async function reach(role: string): Promise<{ connect: string[]; create: string[] }> {
    const connect = (await su<{ datname: string }>(`SELECT datname FROM pg_catalog.pg_database d WHERE datallowconn AND pg_catalog.has_database_privilege($1::pg_catalog.name, oid, 'CONNECT')
         AND NOT (${PUBLIC_CONNECT}) ORDER BY 1`, [role])).map((r) => r.datname);
    const create: string[] = [];
    for (const db of SYSTEM_DBS) {
      const r = await su<{ ok: boolean }>(`SELECT pg_catalog.has_database_privilege($1::pg_catalog.name, $2::pg_catalog.text, 'CREATE')
          OR EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE pg_catalog.has_schema_privilege($1::pg_catalog.name, n.oid, 'CREATE')) AS ok`, [role, db], db);
      if (r[0]?.ok) create.push(db);
    }
    return { connect, create };
  }
  /** Objects named atk… owned by a superuser, in every database. */
  async function superuserOwnedAttackObjects(): Promise<string[]> {
    const out: string[] = [];
    const dbs = await su<{ datname: string }>(`SELECT datname FROM pg_catalog.pg_database WHERE datallowconn`);
    for (const { datname } of dbs) {
      const rows = await su<{ o: string }>(`
        SELECT 'relation ' || c.relname AS o FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) c.relowner WHERE r.rolsuper AND c.relname::pg_catalog.text LIKE 'atk%'
        UNION ALL SELECT 'function ' || p.proname FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) p.proowner WHERE r.rolsuper AND p.proname::pg_catalog.text LIKE 'atk%'
        UNION ALL SELECT 'schema ' || n.nspname FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner WHERE r.rolsuper AND n.nspname::pg_catalog.text LIKE 'atk%'
        UNION ALL SELECT 'operator ' || o.oprname FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) o.oprowner JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) o.oprcode WHERE r.rolsuper AND p.proname::pg_catalog.text LIKE 'atk%'`, [], datname);
      out.push(...rows.map((r) => `${datname}: ${r.o}`));
    }
    return out;
  }
  /** Who ran a planted trap, other than its author. */
  async function trapRuns(database: string, author: string): Promise<string[]> {
    const has = await su(`SELECT 1 FROM pg_catalog.pg_class WHERE relname OPERATOR(pg_catalog.=) 'atk_log' AND relnamespace OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) 'atk')`, [], database).catch(() => []);
    if (has.length === 0) return [];
    return (await su<{ who: string }>(`SELECT DISTINCT who FROM atk.atk_log WHERE who OPERATOR(pg_catalog.<>) $1`, [author], database)).map((r) => r.who);
  }

  function gained(before: Map<string, string[]>, after: Map<string, string[]>): string[] {
    const out: string[] = [];
    for (const [role, attrs] of after) {
      const had = before.get(role) ?? [];
      const extra = attrs.filter((a) => !had.includes(a));
      if (extra.length > 0) out.push(`${role}: ${extra.join(' ')}`);
    }
    return out;
  }

  it.each(ATTACKS.map((a, i) => ({ ...a, i })))('attack $i: $name', { timeout: 120_000 }, async (attack) => {
    const b = await tenant(`nb${attack.i}`);
    const a = await tenant(attack.crName ?? `atk${attack.i}`);
    const rolesBefore = await roles();
    const membersBefore = await memberships();
    const ownedBefore = new Set(await superuserOwnedAttackObjects());
    const newlyOwned = async () => (await superuserOwnedAttackObjects()).filter((o) => !ownedBefore.has(o)).map((o) => `owned by a superuser: ${o}`);
    const ctx: AttackContext = { a, b, admin: admin.user, serverRole, patchSpec, resync };

    /** What the attack got; `broken`: what stopped working (not a gain, but not fine either). */
    const problems: string[] = [];
    const broken: string[] = [];
    const step = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        broken.push(`${what}: ${(err as Error).message.slice(0, 300)}`);
      }
    };
    let c: Tenant | undefined;
    await step('attack', () => attack.run(ctx));
    // What the operator does anyway.
    await step('resync', () => resync(a.cr));
    await step('reset-password', async () => {
      await resetPassword(a.cr);
      const aNow = await secretData(a.secret);
      // A reconcile that failed after the role got its new password keeps it in the pending Secret.
      const pending = (await secretData(pendingSecretName((await getDb(a.cr)).metadata.uid!)))['password'];
      a.password = pending ?? aNow['password'] ?? a.password;
    });
    await step('neighbour resync', () => resync(b.cr));
    await step('second tenant', async () => {
      c = await tenant(`nc${attack.i}`);
    });
    await step('resync', () => resync(a.cr));
    const tenants = [a, b, ...(c ? [c] : [])];

    await step('checks', async () => {
      problems.push(...(await trapRuns(a.database, a.user)).map((w) => `trap in ${a.database} ran as ${w}`));
      for (const t of tenants) {
        const r = await reach(t.user);
        const allowed = new Set([t.database, ...SYSTEM_DBS, ...(t === a ? attack.consented?.(ctx) ?? [] : [])]);
        problems.push(...r.connect.filter((d) => !allowed.has(d)).map((d) => `${t.user} may connect to ${d}`));
        problems.push(...r.create.map((d) => `${t.user} may create objects in ${d}`));
      }
      problems.push(...gained(rolesBefore, await roles()).map((g) => `gained ${g}`));
      const expectedEdge = (m: string) => m.endsWith(` <- ${admin.user}`) || tenants.some((t) => m === `${t.user} <- ${serverRole}`);
      problems.push(...[...(await memberships())].filter((m) => !membersBefore.has(m) && !expectedEdge(m)).map((m) => `new membership ${m}`));
      problems.push(...(await newlyOwned()));
    });
    if (attack.check) await step('attack-specific check', () => attack.check!(ctx));
    // Everyone still logs in with the password their Secret holds.
    for (const t of tenants) if (!(await canLogin(t))) broken.push(`${t.cr} cannot log in with its Secret`);

    // The attacker goes first: what it left in its neighbours' databases is still there to inspect.
    await step(`delete ${a.cr}`, () => remove(a.cr));
    await step('checks after the attacker is gone', async () => {
      problems.push(...(await newlyOwned()));
    });
    for (const t of tenants.slice(1)) await step(`delete ${t.cr}`, () => remove(t.cr));

    await step('final checks', async () => {
      problems.push(...gained(rolesBefore, await roles()).map((g) => `gained ${g}`));
      const membersAfter = await memberships();
      problems.push(...[...membersAfter].filter((m) => !membersBefore.has(m) && !m.endsWith(` <- ${admin.user}`)).map((m) => `new membership ${m}`));
      const left = await su<{ datname: string }>(`SELECT datname FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.name[])`, [tenants.map((t) => t.database)]);
      broken.push(...left.map((d) => `database ${d.datname} left behind`));
    });
    report(variant.label, attack.name, [...new Set(problems)], broken);
    expect({ got: [...new Set(problems)], broken }).toEqual({ got: [], broken: [] });
  });

  describe('a name that is taken before the CR exists', () => {
    interface Squatter { label: string; setup(role: string, database: string): string[]; password?: string }
    const other = () => `atk_other_${ns.replaceAll('-', '_')}`;
    const dbOwner = () => `atk_db_owner_${ns.replaceAll('-', '_')}`;
    const squatters: Squatter[] = [
      { label: 'a superuser', setup: (r) => [`CREATE ROLE ${ident(r)} SUPERUSER LOGIN PASSWORD 'Squatter-Pw-1'`], password: 'Squatter-Pw-1' },
      { label: 'a NOLOGIN role owning a database of that name', setup: (r, d) => [`CREATE ROLE ${ident(r)} NOLOGIN`, `CREATE DATABASE ${ident(d)} OWNER ${ident(r)}`] },
      { label: 'a login role with a database of that name', setup: (r, d) => [`CREATE ROLE ${ident(r)} LOGIN PASSWORD 'Squatter-Pw-1'`, `CREATE DATABASE ${ident(d)} OWNER ${ident(r)}`], password: 'Squatter-Pw-1' },
      {
        label: 'a role owning another team’s objects',
        setup: (r) => [`CREATE ROLE ${ident(r)} LOGIN PASSWORD 'Squatter-Pw-1'`, `CREATE DATABASE ${ident(other())}`, `GRANT CREATE ON DATABASE ${ident(other())} TO ${ident(r)}`],
        password: 'Squatter-Pw-1',
      },
      { label: 'only a database of that name, owned by someone else', setup: (_r, d) => [`CREATE ROLE ${ident(dbOwner())} NOLOGIN`, `CREATE DATABASE ${ident(d)} OWNER ${ident(dbOwner())}`] },
    ];

    it.each(squatters.map((s, i) => ({ ...s, i })))('$label: NameTaken naming the holder; nothing re-passworded, re-owned or dropped', { timeout: 60_000 }, async (sq) => {
      const cr = `taken${sq.i}`;
      const { databaseName, userName } = env.names(cr);
      for (const s of sq.setup(userName, databaseName)) await su(s);
      if (sq.label.includes('another team')) {
        await su('CREATE TABLE public.atk_their_table (x int)', [], other());
        await su(`ALTER TABLE public.atk_their_table OWNER TO ${ident(userName)}`, [], other());
      }
      const rolesBefore = await roles();
      const ownerBefore = await su<{ o: string }>(`SELECT pg_catalog.pg_get_userbyid(datdba) AS o FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) $1`, [databaseName]);

      await createDb(cr);
      const settled = (r?: string) => r === 'NameTaken' || r === 'Ready';
      const broken: string[] = [];
      await reconcileUntil(rec.database, { namespace: ns, name: cr }, async () => settled((await getDb(cr)).status?.conditions?.[0]?.reason), { timeoutMs: 10_000 })
        .catch((err: Error) => broken.push(err.message.slice(0, 300)));
      const cond = (await getDb(cr)).status?.conditions?.[0];
      const problems: string[] = [];
      const creds = await secretData(`${cr}-creds`);
      if (cond?.status === 'True') problems.push(`the CR became Ready on the holder's ${creds['username'] ? `role ${creds['username']}` : 'objects'}`);
      if (creds['password'] && creds['username'] && (await canLogin({ ...(await reachable(creds['host']!, Number(creds['port']))), user: creds['username'], password: creds['password'], database: creds['dbname']! }))) {
        problems.push('the CR\'s Secret logs in as the holder\'s role');
      }
      for (const [what, fn] of [
        ['resync', () => resync(cr)], ['reset-password', () => resetPassword(cr)], ['second tenant', () => tenant(`after${sq.i}`)],
        ['delete', () => remove(cr)], ['delete second tenant', () => remove(`after${sq.i}`)],
      ] as const) {
        await (fn() as Promise<unknown>).catch((err: Error) => broken.push(`${what}: ${err.message.slice(0, 300)}`));
      }

      // The holder keeps everything: role, password, database, owner.
      const holder = sq.label.startsWith('only a database') ? dbOwner() : userName;
      if ((await su(`SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1`, [holder])).length !== 1) problems.push(`role ${holder} was dropped`);
      if (sq.password && !(await canLogin({ host: target.host, port: target.port, user: userName, password: sq.password, database: 'postgres' }))) problems.push(`role ${userName} was re-passworded`);
      const ownerAfter = await su<{ o: string }>(`SELECT pg_catalog.pg_get_userbyid(datdba) AS o FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) $1`, [databaseName]);
      if (JSON.stringify(ownerAfter) !== JSON.stringify(ownerBefore)) problems.push(`database ${databaseName}: owner ${JSON.stringify(ownerBefore)} → ${JSON.stringify(ownerAfter)}`);
      if (sq.label.includes('another team')) {
        const t = await su<{ o: string }>(`SELECT pg_catalog.pg_get_userbyid(relowner) AS o FROM pg_catalog.pg_class WHERE relname OPERATOR(pg_catalog.=) 'atk_their_table'`, [], other());
        if (t[0]?.o !== userName) problems.push(`the other team's table now belongs to ${t[0]?.o ?? 'nobody (dropped)'}`);
      }
      problems.push(...gained(rolesBefore, await roles()).map((g) => `gained ${g}`));
      report(variant.label, `pre-existing name: ${sq.label}`, problems, broken);
      expect({ got: problems, broken }).toEqual({ got: [], broken: [] });
      expect(cond?.reason).toBe('NameTaken');
      expect(cond?.message).toMatch(sq.label.startsWith('only a database') ? new RegExp(`owned by role ${dbOwner()}`) : new RegExp(`role ${userName.replace(/[.]/g, '\\.')} (is taken|already exists)`));
      expect(creds['username']).toBeUndefined();
    });

    it('a PostgreSQLServer whose login name is taken (external): NameTaken, the holder keeps its password and role', { timeout: 60_000 }, async () => {
      if (!variant.label.startsWith('external')) return;
      const name = 'squatted';
      const role = serverRoleName('', ns, name);
      await su(`CREATE ROLE ${ident(role)} LOGIN PASSWORD 'Squatter-Pw-1'`);
      await co.createNamespacedCustomObject({ ...ref('postgresqlservers'), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLServer', metadata: { name, namespace: ns }, spec: { credentialsSecret: `${name}-admin` } } });
      const getServer = async () => (await co.getNamespacedCustomObject({ ...ref('postgresqlservers'), name })) as PostgreSQLDatabase;
      await reconcileUntil(rec.server, { namespace: ns, name }, async () => (await getServer()).status?.conditions?.[0]?.reason === 'NameTaken', { timeoutMs: 10_000 });
      expect((await getServer()).status?.conditions?.[0]?.message).toContain(`role ${role} is taken: it was not created by the operator (LOGIN)`);
      await co.patchNamespacedCustomObject({ ...ref('postgresqlservers'), name, body: { metadata: { labels: { 'operator/action': 'reset-password' } } } }, MERGE);
      for (let i = 0; i < 3; i++) await rec.server.reconcile({ namespace: ns, name }).catch(() => undefined);
      await co.deleteNamespacedCustomObject({ ...ref('postgresqlservers'), name });
      await reconcileUntil(rec.server, { namespace: ns, name }, async () => getServer().then(() => false, () => true));
      expect(await canLogin({ host: target.host, port: target.port, user: role, password: 'Squatter-Pw-1', database: 'postgres' })).toBe(true);
    });

    it('adopts a hand-made role and database only with the opt-in annotation (never a superuser)', { timeout: 60_000 }, async () => {
      const cr = 'adopted';
      const { databaseName, userName } = env.names(cr);
      await su(`CREATE ROLE ${ident(userName)} LOGIN PASSWORD 'Handmade-Pw-1'`);
      await su(`CREATE DATABASE ${ident(databaseName)} OWNER ${ident(userName)}`);
      await createDb(cr, { 'hybridcloud.maibornwolff.de/adopt': 'true' });
      await reconcileUntil(rec.database, { namespace: ns, name: cr }, async () => ready(await getDb(cr)));
      const s = await secretData(`${cr}-creds`);
      expect(s['username']).toBe(userName);
      expect(await canLogin({ ...(await reachable(s['host']!, Number(s['port']))), user: userName, password: s['password']!, database: databaseName })).toBe(true);
      const marker = await su<{ c: string }>(`SELECT pg_catalog.shobj_description(oid, 'pg_authid') AS c FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1`, [userName]);
      expect(marker[0]?.c).toContain(`PostgreSQLDatabase ${ns}/${cr} uid=`);
      await remove(cr);
      expect(await su(`SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1`, [userName])).toHaveLength(0);
    });
  });

  it('tenant roles are least-privileged', async () => {
    const t = await tenant('leastpriv');
    const r = (await roles()).get(t.user);
    expect(r).toEqual([]);
    expect((await memberships()).size === 0 || [...(await memberships())].every((m) => !m.endsWith(` <- ${t.user}`))).toBe(true);
    const { connect, create } = await reach(t.user);
    expect(connect).toEqual([t.database]);
    expect(create).toEqual([]);
    // Its database is closed to everyone else (no CONNECT for PUBLIC).
    expect(await su(`SELECT 1 FROM pg_catalog.pg_database d WHERE datname OPERATOR(pg_catalog.=) $1 AND (${PUBLIC_CONNECT})`, [t.database])).toEqual([]);
    const attrs = await su<{ rolcanlogin: boolean; rolconnlimit: number }>(`SELECT rolcanlogin, rolconnlimit FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1`, [t.user]);
    expect(attrs[0]?.rolcanlogin).toBe(true);
    await remove(t.cr);
  });
});

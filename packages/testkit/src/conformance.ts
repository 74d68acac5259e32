/**
 * describeBackendConformance: the contract of core's Backend interface as vitest tests a plugin
 * author can read. The backend runs inside core's real controller and reconcilers (see
 * operator.ts) against a real kube-apiserver; the kit supplies a real PostgreSQL the environment
 * may point its backend at (a stand-in for a cloud server, an external server, ...).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  ACTION_LABEL, databaseCrd, RESET_PASSWORD, retryable, serverCrd, silentLogger, stateAnnotationPrefix, terminal, throttled,
  type BackendDefinition, type ConnectionResolver, type ServerRequest, type ServerSpec,
} from '@hybridcloud-postgresql/core';
import { createTestNamespace, useControlPlane, usePostgres, type ControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import { startKitOperator, type KitOperator } from './operator.js';
import { CallLog } from './recordingBackend.js';
import { eventually, isReady, psqlPath, psqlWith, readyOf, World, type Kind } from './world.js';

/** The API version of the backend contract this kit checks (core's BACKEND_API_VERSION). */
export { BACKEND_API_VERSION as KIT_API_VERSION } from '@hybridcloud-postgresql/core';

/** What the kit hands the environment: the cluster, the namespace of this suite, a real PostgreSQL. */
export interface Harness {
  kubeConfig: KubeConfig;
  controlPlane: ControlPlane;
  namespace: string;
  /** A real PostgreSQL (superuser login) the backend may use as its server or stand-in. */
  postgres: Postgres;
}

/** A server this suite created, for the environment's resource listing. */
export interface ServerRef {
  namespace: string;
  name: string;
  uid: string;
}

/** Checks a backend may declare not applicable, each with the reason (shown as the test's name). */
export type OptionalCheck = 'update' | 'unsupportedFields' | 'nativeErrors' | 'serverResetPassword';

export interface Environment {
  /**
   * The operator config file (YAML as an object) that enables this backend: `backend`, and its
   * section under `backends`. Resolved by core's startup with `env`, validated by the backend's
   * own schema, then its `create()` is called, exactly as the operator does.
   */
  config: Record<string, unknown>;
  /** Environment variables the config refers to (`admin_password_env`, HYBRIDCLOUD_* overrides). */
  env?: Record<string, string>;
  /** Spec fields for the suite's servers besides credentialsSecret (version, size ...). */
  serverSpec?: Record<string, unknown>;
  /** Maps endpoints in Secrets to where the test reaches them (also given to core and the backend). */
  resolver?: ConnectionResolver;
  /**
   * The backend resources that exist for a server (cloud instances, helm releases, roles …), by
   * any stable id. One after Ready (no duplicates), none after delete (no leaks).
   */
  resources(server: ServerRef): Promise<string[]>;
  /** Runs SQL as superuser on the PostgreSQL that holds the databases; default: the harness's. */
  superuserSql?(sql: string): Promise<string>;
  /** A real difference for the update check: a spec patch the backend must apply (then `check`). */
  update?: { spec: Record<string, unknown>; check?(server: ServerRef): Promise<void> };
  /** Spec fields this backend cannot honour: the fields' values and their JSON paths. */
  unsupported?: { spec: Record<string, unknown>; fields: string[] };
  /**
   * The backend's own error mapping, driven through its real client: `fault(kind)` makes the
   * cloud answer the next requests with a throttle (e.g. HTTP 429 / Throttling) or a transient
   * failure (5xx); returns a function that ends the fault.
   */
  fault?(kind: 'throttled' | 'unavailable'): Promise<() => Promise<void>>;
  /** Checks that do not apply to this backend, with the reason (each still appears as a test). */
  notApplicable?: Partial<Record<OptionalCheck, string>>;
  close?(): Promise<void>;
}

export interface ConformanceOptions {
  /** The backend package's default export. */
  definition: BackendDefinition;
  /** Prepares what the backend talks to; called once before the suite. */
  environment(h: Harness): Promise<Environment>;
  /** How long a server may take to become Ready (default 120 s). */
  readyTimeoutMs?: number;
  /** Upper bound of crash points in the crash check (default: every mutating call). */
  maxCrashPoints?: number;
}

interface Suite {
  h: Harness;
  env: Environment;
  world: World;
  log: CallLog;
  op: KitOperator;
  psql: string;
  readyMs: number;
}

const obj = (s: Suite, name: string) => `${s.h.namespace}/${name}`;

export function describeBackendConformance(o: ConformanceOptions): void {
  const id = o.definition.id;
  const readyMs = o.readyTimeoutMs ?? 120_000;
  const caseMs = readyMs * 3 + 60_000;
  let s!: Suite;

  const start = (crash?: Parameters<typeof startKitOperator>[0]['crash']) =>
    startKitOperator({
      kubeConfig: s.h.kubeConfig,
      definition: o.definition,
      config: s.env.config,
      namespace: s.h.namespace,
      env: process.env,
      ...(s.env.resolver ? { resolver: s.env.resolver } : {}),
      log: s.log,
      ...(crash ? { crash } : {}),
    });
  const restart = async (how: 'stop' | 'kill' = 'stop') => {
    await (how === 'kill' ? s.op.kill() : s.op.stop());
    s.op = await start();
  };
  const describeState = (kind: Kind, name: string) => async () => {
    const cr = await s.world.get(kind, name);
    const c = readyOf(cr);
    return cr ? `Ready=${c?.status} ${c?.reason}: ${c?.message}` : 'gone';
  };
  const waitReady = (kind: Kind, name: string, ms = readyMs) =>
    eventually(`${kind} ${name} Ready`, async () => isReady(await s.world.get(kind, name)), ms, describeState(kind, name));
  const waitGone = (kind: Kind, name: string, ms = readyMs) =>
    eventually(`${kind} ${name} gone`, async () => (await s.world.get(kind, name)) === undefined, ms, describeState(kind, name));
  const serverRef = async (name: string) => ({ namespace: s.h.namespace, name, uid: (await s.world.get('server', name))?.metadata.uid ?? '' });
  const createServer = (name: string, extra: Record<string, unknown> = {}) => s.world.create('server', name, { credentialsSecret: `${name}-admin`, ...(s.env.serverSpec ?? {}), ...extra });
  const createDatabase = (name: string, server: string, extra: Record<string, unknown> = {}) =>
    s.world.create('database', name, { serverRef: { name: server }, credentialsSecret: `${name}-creds`, ...extra });
  const login = async (secret: Record<string, string>, server: string, sql = 'SELECT current_user') =>
    psqlWith(s.psql, secret, sql, s.env.resolver, { namespace: s.h.namespace, name: server, backend: id });
  const expectLogin = async (secret: string, server: string) => {
    const data = await s.world.secret(secret);
    expect(data, `Secret ${secret}`).toBeDefined();
    const r = await login(data!, server);
    expect(r.code, `psql with Secret ${secret}: ${r.stderr}`).toBe(0);
    return data!;
  };
  const superuserSql = (sql: string) => (s.env.superuserSql ? s.env.superuserSql(sql) : s.h.postgres.psql(sql).then((r) => r.stdout.trim()));
  const resetPassword = async (kind: Kind, name: string, server: string) => {
    const secret = kind === 'server' ? `${name}-admin` : `${name}-creds`;
    const old = (await s.world.secret(secret))!;
    await s.world.patch(kind, name, { metadata: { labels: { [ACTION_LABEL]: RESET_PASSWORD } } });
    await eventually(`${kind} ${name}: reset-password done`, async () => {
      const cr = await s.world.get(kind, name);
      return cr?.metadata.labels?.[ACTION_LABEL] === undefined && isReady(cr);
    }, readyMs, describeState(kind, name));
    const now = await expectLogin(secret, server);
    expect(now['password']).not.toBe(old['password']);
    const stale = await login(old, server);
    expect(stale.code, 'the old password must stop working').not.toBe(0);
  };

  describe(`backend '${id}': conformance (testkit, contract API v${o.definition.apiVersion})`, () => {
    beforeAll(async () => {
      const cp = await useControlPlane();
      await applyCoreCrds(cp);
      const namespace = await createTestNamespace(cp, `kit-${id}`);
      const postgres = await usePostgres();
      const h: Harness = { kubeConfig: cp.kubeConfig(), controlPlane: cp, namespace, postgres };
      const env = await o.environment(h);
      // The test process is the operator process: backends read their variables from it.
      for (const [k, v] of Object.entries(env.env ?? {})) process.env[k] = v;
      s = { h, env, world: new World(h.kubeConfig, namespace), log: new CallLog(), op: undefined as unknown as KitOperator, psql: psqlPath(postgres.binDir), readyMs };
      s.op = await start();
    }, 600_000);

    afterAll(async () => {
      await s?.op?.stop();
      await s?.env?.close?.();
    }, 120_000);

    it('server: create → Ready; its credentials Secret logs in with psql; exactly one backend resource', { timeout: caseMs }, async () => {
      await createServer('main');
      await waitReady('server', 'main');
      const data = await expectLogin('main-admin', 'main');
      for (const k of ['host', 'port', 'username', 'password']) expect(data[k], `Secret key ${k}`).toBeTruthy();
      expect((await s.world.get('server', 'main'))?.status?.backend).toBe(id);
      expect(await s.env.resources(await serverRef('main'))).toHaveLength(1);
    });

    it('database: create → Ready; its credentials Secret logs in with psql and owns its database', { timeout: caseMs }, async () => {
      await createDatabase('app', 'main');
      await waitReady('database', 'app');
      const data = await expectLogin('app-creds', 'main');
      const r = await login(data, 'main', 'CREATE TABLE kit_probe (id int); INSERT INTO kit_probe VALUES (1); SELECT count(*) FROM kit_probe');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.split('\n').pop()).toBe('1');
    });

    it('a converged server and database make no mutating backend call on resync (operator restarted: everything re-listed)', { timeout: caseMs }, async () => {
      const before = s.log.mutating().length;
      const observed = s.log.of('observeServer', obj(s, 'main')).length;
      await restart();
      // The restarted operator lists both objects and reconciles them once; then a quiet period.
      await eventually('the restarted operator observed the server', async () => s.log.of('observeServer', obj(s, 'main')).length > observed, 60_000);
      await new Promise((r) => setTimeout(r, 3_000));
      // databaseProvisioned is idempotent and runs on every reconcile by contract.
      expect(s.log.mutating().slice(before).filter((c) => c.method !== 'databaseProvisioned').map((c) => `${c.method} ${c.object}`)).toEqual([]);
      expect(isReady(await s.world.get('server', 'main'))).toBe(true);
      expect(isReady(await s.world.get('database', 'app'))).toBe(true);
    });

    it('update: a metadata-only change calls no update; a real spec difference calls it, then Ready', { timeout: caseMs }, async () => {
      const updates = () => s.log.of('updateServer', obj(s, 'main')).length;
      const before = updates();
      await s.world.patch('server', 'main', { metadata: { labels: { 'kit.example/touched': 'yes' }, annotations: { 'kit.example/note': 'x' } } });
      await new Promise((r) => setTimeout(r, 2_000));
      expect(updates()).toBe(before);
      if (!s.env.update) {
        expect(s.env.notApplicable?.update, 'no `update` given: declare notApplicable.update with the reason').toBeTruthy();
        return;
      }
      await s.world.patch('server', 'main', { spec: s.env.update.spec });
      await waitReady('server', 'main');
      expect(updates()).toBeGreaterThan(before);
      await s.env.update.check?.(await serverRef('main'));
      await expectLogin('main-admin', 'main');
    });

    it('reset-password (server): the new password logs in, the old one fails', { timeout: caseMs }, async () => {
      if (s.env.notApplicable?.serverResetPassword) return;
      await resetPassword('server', 'main', 'main');
    });

    it('reset-password (database): the new password logs in, the old one fails', { timeout: caseMs }, async () => {
      await resetPassword('database', 'app', 'main');
    });

    it('errors are classified: retryable → retried with backoff, throttled → Throttled after Retry-After, terminal → its reason, not retried', { timeout: caseMs }, async () => {
      const name = 'errs';
      const target = obj(s, name);
      const rec = () => s.op.recording;
      const observes = () => s.log.of('observeServer', target);
      const reasonSeen = (reason: string) =>
        eventually(`Ready=False reason ${reason}`, async () => {
          const c = readyOf(await s.world.get('server', name));
          return c?.status === 'False' && c.reason === reason;
        }, 30_000, describeState('server', name));

      rec().inject({ method: 'observeServer', object: target, times: 1, error: () => throttled('kit: slow down', 3_000) });
      await createServer(name);
      await reasonSeen('Throttled');
      await eventually('the call after Retry-After', async () => observes().length >= 2, 30_000);
      const [first, second] = observes();
      expect(second!.at - first!.at, 'Retry-After of 3 s honoured').toBeGreaterThanOrEqual(2_500);
      await waitReady('server', name);

      // The next reconcile (a spec change) meets a transient error, then a terminal one.
      rec().inject({ method: 'observeServer', object: target, times: 1, error: () => retryable('kit: connection reset', undefined, 'KitTransient') });
      const n = observes().length;
      await s.world.patch('server', name, { spec: { backup: { retentionDays: 7 } } });
      await reasonSeen('KitTransient');
      await eventually('retried after a transient error', async () => observes().length >= n + 2, 30_000);
      await waitReady('server', name);

      rec().inject({ method: 'observeServer', object: target, times: 1, error: () => terminal('KitRejected', 'kit: the cloud refuses this spec') });
      await s.world.patch('server', name, { spec: { backup: { retentionDays: 8 } } });
      await reasonSeen('KitRejected');
      const afterTerminal = observes().length;
      await new Promise((r) => setTimeout(r, 4_000));
      expect(observes().length, 'a terminal error is not retried until the spec changes').toBe(afterTerminal);
      const ev = await s.world.events(name);
      expect(ev.some((e) => e.type === 'Warning' && e.reason === 'KitRejected')).toBe(true);
      await s.world.patch('server', name, { spec: { backup: { retentionDays: 9 } } });
      await waitReady('server', name);
    });

    it("errors of the backend's own client: a throttled and an unavailable cloud are retried until they pass", { timeout: caseMs }, async () => {
      if (!s.env.fault) {
        expect(s.env.notApplicable?.nativeErrors, 'no `fault` given: declare notApplicable.nativeErrors with the reason').toBeTruthy();
        return;
      }
      for (const kind of ['throttled', 'unavailable'] as const) {
        const name = `fault-${kind}`;
        const end = await s.env.fault(kind);
        const calls = s.log.calls.length;
        await createServer(name);
        await eventually(`the backend met the ${kind} fault`, async () => s.log.calls.slice(calls).some((c) => c.object === obj(s, name) && c.error), 60_000);
        const c = readyOf(await s.world.get('server', name));
        expect(c?.reason, 'a cloud fault is not the user\'s fault').not.toBe('InvalidSpec');
        await end();
        await waitReady('server', name);
        expect(await s.env.resources(await serverRef(name)), 'retries created no duplicate').toHaveLength(1);
      }
    });

    it('unsupported fields are reported in status.unsupportedFields and a Warning Event', { timeout: caseMs }, async () => {
      if (!s.env.unsupported) {
        expect(s.env.notApplicable?.unsupportedFields, 'no `unsupported` given: declare notApplicable.unsupportedFields with the reason').toBeTruthy();
        return;
      }
      await createServer('partial', s.env.unsupported.spec);
      await waitReady('server', 'partial');
      const cr = await s.world.get('server', 'partial');
      expect(cr?.status?.unsupportedFields).toEqual(expect.arrayContaining(s.env.unsupported.fields));
      expect((await s.world.events('partial')).some((e) => e.type === 'Warning' && e.reason === 'UnsupportedFields')).toBe(true);
    });

    it('hostile values are refused or quoted: no statement of a tenant runs', { timeout: caseMs }, async () => {
      await superuserSql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'kit_sentinel') THEN CREATE ROLE kit_sentinel; END IF; END $$");
      const hostile = `C"; DROP ROLE kit_sentinel; --`;
      await createDatabase('hostile', 'main', { database: { collation: hostile, charset: `UTF8'; DROP ROLE kit_sentinel; --` } });
      await eventually('the hostile database settled (not Ready, or Ready with quoted values)', async () => {
        const c = readyOf(await s.world.get('database', 'hostile'));
        return c && c.status !== 'Unknown' && c.reason !== 'Creating';
      }, 60_000, describeState('database', 'hostile'));
      expect(await superuserSql("SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = 'kit_sentinel'")).toBe('1');
      await s.world.delete('database', 'hostile');
      await waitGone('database', 'hostile');
    });

    it('crash after every mutating backend call of a lifecycle (create, reset-password, delete): no duplicate, converges, nothing left', { timeout: 3_600_000 }, async () => {
      // The reference lifecycle counts the mutating calls of one server; then one lifecycle per
      // crash point k: the operator dies right after call k returned, a new one takes over.
      const lifecycle = async (name: string, crashAfter?: number) => {
        let crashed: Promise<void> | undefined;
        if (crashAfter !== undefined) {
          s.op.recording.crash = {
            object: obj(s, name),
            after: crashAfter,
            onCrash: () => void (crashed = restart('kill')),
          };
        }
        const uidOf = async () => serverRef(name);
        await createServer(name);
        await waitReady('server', name, readyMs * 2);
        await crashed;
        expect(await s.env.resources(await uidOf()), `${name}: one backend resource`).toHaveLength(1);
        await expectLogin(`${name}-admin`, name);
        if (!s.env.notApplicable?.serverResetPassword) await resetPassword('server', name, name);
        await crashed;
        const ref = await uidOf();
        await s.world.delete('server', name);
        await waitGone('server', name, readyMs * 2);
        // The reference's last calls may come after the CR is gone (a reconcile queued meanwhile
        // that still saw it): a crash point there may not fire before this lifecycle ends, and
        // would kill the operator under the next test. No crash is due once the CR is gone.
        s.op.recording.crash = undefined;
        await crashed;
        expect(await s.env.resources(ref), `${name}: nothing left after delete`).toEqual([]);
      };
      const marker = s.log.calls.length;
      const explain = async (name: string, run: () => Promise<void>) => {
        try {
          await run();
        } catch (err) {
          const calls = s.log.calls.filter((c) => c.object === obj(s, name)).map((c) => `${c.method}${c.error ? ` ✗ ${c.error}` : ''}`);
          throw new Error(`${name}: ${(err as Error).message}\n  backend calls for ${name}: ${calls.join(' → ')}`, { cause: err });
        }
      };
      await explain('life-0', () => lifecycle('life-0'));
      const points = s.log.calls.slice(marker).filter((c) => c.mutating && c.object === obj(s, 'life-0')).length;
      expect(points, 'a lifecycle makes mutating calls').toBeGreaterThan(0);
      const chosen = crashPoints(points, o.maxCrashPoints, id);
      process.stderr.write(`[testkit] ${id}: crash points ${chosen.join(', ')} of ${points}${chosen.length < points ? ` (sample; seed ${crashSeed()}, HC_TESTKIT_CRASH_POINTS=all for every one)` : ''}\n`);
      for (const k of chosen) {
        await explain(`life-${k}`, () => lifecycle(`life-${k}`, k));
        // A lifecycle may take fewer calls than the reference (a retry less): then no crash was due.
        s.op.recording.crash = undefined;
      }
    });

    it('delete of a server that never became Ready (deleted while the operator was down after its create call): gone, nothing left', { timeout: caseMs }, async () => {
      const name = 'early';
      let crashed: Promise<void> | undefined;
      s.op.recording.crash = {
        object: obj(s, name),
        after: 1,
        // The create call went out, the process died before it saw the answer, and the user deleted the CR meanwhile.
        onCrash: () => void (crashed = s.op.kill().then(() => s.world.delete('server', name)).then(async () => { s.op = await start(); })),
      };
      await createServer(name);
      const ref = await serverRef(name);
      await eventually('the first create call and the crash', async () => crashed !== undefined, readyMs);
      await crashed;
      await waitGone('server', name, readyMs * 2);
      expect(await s.env.resources(ref)).toEqual([]);
    });

    it('delete of a database that never became Ready drops its role and database', { timeout: caseMs }, async () => {
      await createDatabase('broken', 'main', { database: { extensions: ['kit_no_such_extension'] } });
      await eventually('the database failed', async () => readyOf(await s.world.get('database', 'broken'))?.status === 'False', 60_000, describeState('database', 'broken'));
      // Core created role and database before the extension failed.
      const roles = async () => superuserSql("SELECT count(*) FROM pg_catalog.pg_database WHERE datname LIKE '%broken%'");
      await s.world.delete('database', 'broken');
      await waitGone('database', 'broken');
      expect(await roles()).toBe('0');
      expect(await superuserSql("SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname LIKE '%broken%'")).toBe('0');
    });

    it('delete: database, then server → gone, nothing left; deleting again is a no-op', { timeout: caseMs }, async () => {
      const ref = await serverRef('main');
      const cr = (await s.world.get('server', 'main'))!;
      await s.world.delete('database', 'app');
      await waitGone('database', 'app');
      await s.world.delete('server', 'main');
      await waitGone('server', 'main', readyMs * 2);
      expect(await s.env.resources(ref)).toEqual([]);
      // Idempotent: the same delete once more, as after a crash right after the first one.
      const prefix = stateAnnotationPrefix(id);
      const state = Object.fromEntries(Object.entries(cr.metadata.annotations ?? {}).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
      const req: ServerRequest = { namespace: ref.namespace, name: ref.name, uid: ref.uid, spec: cr.spec as ServerSpec, state };
      const ctl = new AbortController();
      const again = await s.op.recording.backend.deleteServer({ log: silentLogger, signal: ctl.signal, saveState: async () => undefined, warn: () => undefined }, req);
      expect(again.state).toBe('gone');
      expect(await s.env.resources(ref)).toEqual([]);
    });
  });
}

/** The seed of the crash point sample: HC_TESTKIT_SEED, else the day (a different sample each day, the same within one). */
function crashSeed(): number {
  const given = Number(process.env['HC_TESTKIT_SEED']);
  return Number.isInteger(given) && given > 0 ? given : Math.floor(Date.now() / 86_400_000);
}

/**
 * Which crash points to run: every one by default (what a plugin author wants), or a seeded sample
 * of HC_TESTKIT_CRASH_POINTS of them (this repository's `npm test` runs a sample and the fault run
 * all of them; a day's seed rotates the sample, so all points get covered across runs).
 */
export function crashPoints(points: number, max?: number, salt = ''): number[] {
  const all = Array.from({ length: points }, (_, i) => i + 1);
  const env = process.env['HC_TESTKIT_CRASH_POINTS'];
  const limit = Math.min(max ?? points, env && env !== 'all' && Number(env) > 0 ? Number(env) : points);
  if (limit >= points) return all;
  // mulberry32: small, seeded, good enough to spread a sample.
  // The backend's id salts the seed: backends with as many points do not all get the same sample.
  let t = (crashSeed() + [...salt].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 0)) >>> 0;
  const random = () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, limit).sort((a, b) => a - b);
}

/** The CRDs as core generates them (the same the CRD chart ships), applied server-side. */
async function applyCoreCrds(cp: ControlPlane): Promise<void> {
  const input = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [serverCrd(), databaseCrd()] });
  await cp.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=testkit', '-f', '-'], { input });
  for (const crd of [serverCrd(), databaseCrd()]) {
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${(crd['metadata'] as { name: string }).name}`]);
  }
}

/**
 * The credentials Secret contract and issue #13's leftovers, through core's reconcilers with the
 * external backend against a real kube-apiserver and a real PostgreSQL:
 *   - a credentials Secret that exists is complete (watched from before its creation, for servers
 *     and databases, across reset-password); the new password waits in a pending Secret of its own;
 *   - a crash between applying a password and writing the Secret converges to a working login;
 *   - an older version's `pending-password` key is still finished and removed;
 *   - a CR deleted while its finalizer is added gets nothing created for it;
 *   - a changed spec.backend or default backend never creates a second server nor deletes through
 *     the wrong backend;
 *   - no log line carries a password, even when a write fails with a message that echoes one.
 */
import { Writable } from 'node:stream';
import { AdmissionregistrationV1Api, CoreV1Api, CustomObjectsApi, setHeaderOptions, Watch, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKubeAccess, createLogger, createReconcilers, decodeSecret, generatePassword, GROUP, LoadedBackendRegistry, pendingSecretName, VERSION,
  type Backend, type KubeAccess, type Logger, type PostgreSQLDatabase, type PostgreSQLServer,
} from '@hybridcloud-postgresql/core';
import { reconcileUntil, TestEventRecorder } from '@hybridcloud-postgresql/core/testing';
import { applyCrds, createTestNamespace, useControlPlane, usePostgres, type Postgres } from '@hybridcloud-postgresql/testenv';
import external from './index.js';
import type { ExternalConfig } from './config.js';

let kc: KubeConfig;
let ns: string;
let pgs: Postgres;
let backend: Backend;
/** A second instance of the external backend, registered as 'other' (roles prefixed other_). */
let other: Backend;
let events: TestEventRecorder;
let co: CustomObjectsApi;
let core: CoreV1Api;
const closers: Array<() => Promise<unknown>> = [];

/** Every log line of the reconcilers and backends (level trace). */
const lines: string[] = [];
let log: Logger;
/** Every password the operator generated. */
const generated: string[] = [];
const gen = () => {
  const pw = generatePassword({ length: 20, specialCharacters: true });
  generated.push(pw);
  return pw;
};

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const MERGE = setHeaderOptions('Content-Type', 'application/merge-patch+json');

beforeAll(async () => {
  const cp = await useControlPlane();
  await applyCrds(cp);
  ns = await createTestNamespace(cp, 'ext-credentials');
  pgs = await usePostgres();
  kc = cp.kubeConfig();
  co = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  log = createLogger({ level: 'trace' }, new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)); cb(); } }));
  const config = (role_prefix: string): ExternalConfig => ({
    host: pgs.host, port: pgs.port, sslmode: 'disable', admin_username: pgs.superuser, admin_password: pgs.password,
    database: 'postgres', role_prefix, server_delete_fake: false, database_delete_fake: false,
  });
  backend = await external.create({ config: config(''), operatorConfig: {}, log, kubeConfig: kc, operatorNamespace: 'default', generatePassword: gen });
  other = await external.create({ config: config('other_'), operatorConfig: {}, log, kubeConfig: kc, operatorNamespace: 'default', generatePassword: gen });
  events = new TestEventRecorder(kc);
});

afterAll(async () => {
  for (const c of closers) await c().catch(() => undefined);
  await backend?.close?.();
  await other?.close?.();
});

/** A fresh set of reconcilers (a process (re)start), on the given registry and Kubernetes access. */
function operator(o: { kube?: KubeAccess; defaultId?: string; allowed?: string[]; backends?: Array<[string, Backend]> } = {}) {
  const registry = new LoadedBackendRegistry(o.defaultId ?? 'external', o.allowed ?? [], new Map(o.backends ?? [['external', backend]]));
  const rec = createReconcilers({ kubeConfig: kc, registry, events, log, generatePassword: gen, resyncMs: 300_000, ...(o.kube ? { kube: o.kube } : {}) });
  closers.push(() => rec.sql.close());
  return rec;
}

const ref = (plural: string) => ({ group: GROUP, version: VERSION, namespace: ns, plural });
const getServer = async (name: string) => (await co.getNamespacedCustomObject({ ...ref('postgresqlservers'), name })) as PostgreSQLServer;
const getDb = async (name: string) => (await co.getNamespacedCustomObject({ ...ref('postgresqldatabases'), name })) as PostgreSQLDatabase;
const ready = (o: PostgreSQLServer | PostgreSQLDatabase) => o.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
const readSecret = (name: string) => core.readNamespacedSecret({ namespace: ns, name }).catch(() => undefined);
const secretData = async (name: string) => decodeSecret(await readSecret(name));
const exists = async (fn: () => Promise<unknown>) => fn().then(() => true, () => false);
const roles = async (like: string) => (await pgs.psql(`SELECT rolname FROM pg_roles WHERE rolname LIKE '${like}' ORDER BY 1`)).stdout.trim();

async function login(data: Record<string, string>): Promise<string> {
  const c = new pg.Client({ host: data['host'] ?? pgs.host, port: Number(data['port'] ?? pgs.port), user: data['username'], password: data['password'], database: data['dbname'] ?? 'postgres', connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    return (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
  } finally {
    await c.end().catch(() => undefined);
  }
}

const serverBody = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLServer', metadata: { name, namespace: ns }, spec: { credentialsSecret: `${name}-admin`, ...spec } });
const dbBody = (name: string, server: string) => ({ apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLDatabase', metadata: { name, namespace: ns }, spec: { serverRef: { name: server }, credentialsSecret: `${name}-creds` } });
const createServerCr = (name: string, spec: Record<string, unknown> = {}) => co.createNamespacedCustomObject({ ...ref('postgresqlservers'), body: serverBody(name, spec) }) as Promise<PostgreSQLServer>;
const createDbCr = (name: string, server: string) => co.createNamespacedCustomObject({ ...ref('postgresqldatabases'), body: dbBody(name, server) }) as Promise<PostgreSQLDatabase>;

async function serverReady(rec: ReturnType<typeof operator>, name: string, spec: Record<string, unknown> = {}) {
  await createServerCr(name, spec);
  await reconcileUntil(rec.server, { namespace: ns, name }, async () => ready(await getServer(name)));
}
async function dbReady(rec: ReturnType<typeof operator>, name: string, server: string) {
  await createDbCr(name, server);
  await reconcileUntil(rec.database, { namespace: ns, name }, async () => ready(await getDb(name)));
}
async function resetPassword(rec: ReturnType<typeof operator>, kind: 'server' | 'database', name: string) {
  const plural = kind === 'server' ? 'postgresqlservers' : 'postgresqldatabases';
  await co.patchNamespacedCustomObject({ ...ref(plural), name, body: { metadata: { labels: { 'operator/action': 'reset-password' } } } }, MERGE);
  await reconcileUntil(kind === 'server' ? rec.server : rec.database, { namespace: ns, name }, async () => {
    const o = kind === 'server' ? await getServer(name) : await getDb(name);
    return o.metadata.labels?.['operator/action'] === undefined && ready(o);
  });
}

/** Every version of every Secret in the namespace, as the API server showed them to a watcher. */
async function watchSecrets(): Promise<{ seen: Array<{ type: string; secret: V1Secret }>; stop: () => Promise<void> }> {
  const seen: Array<{ type: string; secret: V1Secret }> = [];
  const list = await core.listNamespacedSecret({ namespace: ns });
  const ctl = await new Watch(kc).watch(`/api/v1/namespaces/${ns}/secrets`, { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: false }, (type, obj: V1Secret) => seen.push({ type, secret: obj }), () => undefined);
  return {
    seen,
    async stop() {
      // The last writes reach the watcher shortly after the reconcile returned.
      await new Promise((r) => setTimeout(r, 1000));
      ctl.abort();
    },
  };
}

/** Events posted to the API server (in the background, so polled by the callers that need one). */
const eventsOf = async (name?: string) => (await core.listNamespacedEvent({ namespace: ns })).items.filter((e) => !name || e.involvedObject.name === name);

const COMPLETE = ['host', 'hostname', 'port', 'dbname', 'username', 'password', 'sslmode', 'uri', 'jdbc-uri'];

describe('a credentials Secret that exists is complete', () => {
  it('server and database Secrets appear whole and stay whole across reset-password; the password waits in a pending Secret', async () => {
    const rec = operator();
    const w = await watchSecrets();
    await serverReady(rec, 'watched');
    await dbReady(rec, 'watched-db', 'watched');
    const before = { admin: await secretData('watched-admin'), db: await secretData('watched-db-creds') };
    await resetPassword(rec, 'server', 'watched');
    await resetPassword(rec, 'database', 'watched-db');
    await w.stop();

    const srv = await getServer('watched');
    const db = await getDb('watched-db');
    for (const [secretName, old] of [['watched-admin', before.admin], ['watched-db-creds', before.db]] as const) {
      const versions = w.seen.filter((e) => e.secret.metadata?.name === secretName && e.type !== 'DELETED').map((e) => decodeSecret(e.secret));
      expect(versions.length, secretName).toBeGreaterThanOrEqual(2);
      for (const v of versions) {
        expect(COMPLETE.filter((k) => !v[k]), `${secretName}: keys missing in a version`).toEqual([]);
        expect(v['pending-password'], secretName).toBeUndefined();
      }
      // Created once, complete; replaced once, whole, by the reset: no other versions.
      expect(w.seen.filter((e) => e.secret.metadata?.name === secretName).map((e) => e.type)).toEqual(['ADDED', 'MODIFIED']);
      const now = await secretData(secretName);
      expect(now['password']).not.toBe(old['password']);
      expect(await login(now)).toBe(now['username']);
      await expect(login(old)).rejects.toThrow(/password authentication failed/);
    }

    // Each new password a consumer could miss went through a pending Secret of the CR: ours, owned
    // by it, gone once promoted. The server's creation and reset, and the database's reset; a
    // database's first password needs none (nobody holds it until the Secret exists).
    for (const [obj, expected] of [[srv, ['ADDED', 'DELETED', 'ADDED', 'DELETED']], [db, ['ADDED', 'DELETED']]] as const) {
      const name = pendingSecretName(obj.metadata.uid!);
      const pending = w.seen.filter((e) => e.secret.metadata?.name === name);
      expect(pending.map((e) => e.type)).toEqual(expected);
      const added = pending[0]!.secret;
      expect(added.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('hybrid-cloud-postgresql-operator');
      expect(added.metadata?.ownerReferences?.map((r) => [r.kind, r.uid, r.controller])).toEqual([[obj.kind, obj.metadata.uid, true]]);
      expect(await readSecret(name)).toBeUndefined();
    }
    // The server's credentials Secret was complete before the database needed it.
    expect(w.seen.findIndex((e) => e.secret.metadata?.name === 'watched-admin')).toBeLessThan(w.seen.findIndex((e) => e.secret.metadata?.name === 'watched-db-creds'));
  });

  it('a crash between applying the password and writing the Secret converges to a working login (create and reset)', async () => {
    // The "process" dies right before writing a credentials Secret: after the backend created the
    // login (server) or the role got its password (database).
    const crashing = (secretName: string): KubeAccess => {
      const live = createKubeAccess(kc);
      return { ...live, writeSecret: async (s) => (s.metadata?.name === secretName ? Promise.reject(new Error('SIGKILL')) : live.writeSecret(s)) };
    };
    const healthy = operator();
    const pendingOf = async (uid: string) => (await secretData(pendingSecretName(uid)))['password'];

    // Server creation.
    const srv = await createServerCr('crashy');
    await expect(reconcileUntil(operator({ kube: crashing('crashy-admin') }).server, { namespace: ns, name: 'crashy' }, async () => false, { timeoutMs: 3000 })).rejects.toThrow(/SIGKILL/);
    expect(await readSecret('crashy-admin')).toBeUndefined();
    const serverPw = await pendingOf(srv.metadata.uid!);
    expect(await login({ username: `${ns}.crashy`, password: serverPw! })).toBe(`${ns}.crashy`);
    // The restarted operator finishes with the password that was applied.
    await reconcileUntil(operator().server, { namespace: ns, name: 'crashy' }, async () => ready(await getServer('crashy')));
    const admin = await secretData('crashy-admin');
    expect(admin['password']).toBe(serverPw);
    expect(await login(admin)).toBe(`${ns}.crashy`);
    expect(await readSecret(pendingSecretName(srv.metadata.uid!))).toBeUndefined();

    // Database creation: the first password is not stored before the role gets it (nobody holds it
    // yet). The crash leaves the role, ours, with a password nobody knows, and no Secret; the
    // restarted operator gives the role a new password and writes the Secret.
    const db = await createDbCr('crashy-db', 'crashy');
    await expect(reconcileUntil(operator({ kube: crashing('crashy-db-creds') }).database, { namespace: ns, name: 'crashy-db' }, async () => false, { timeoutMs: 3000 })).rejects.toThrow(/SIGKILL/);
    expect(await readSecret('crashy-db-creds')).toBeUndefined();
    expect(await readSecret(pendingSecretName(db.metadata.uid!))).toBeUndefined();
    const user = `${ns}_crashy_db`;
    expect(await roles(user)).toBe(user);
    const lost = generated.at(-1)!;
    expect(await login({ username: user, password: lost, dbname: user })).toBe(user);
    await reconcileUntil(operator().database, { namespace: ns, name: 'crashy-db' }, async () => ready(await getDb('crashy-db')));
    const creds = await secretData('crashy-db-creds');
    expect(creds['password']).not.toBe(lost);
    expect(await login(creds)).toBe(user);
    await expect(login({ ...creds, password: lost })).rejects.toThrow(/password authentication failed/);
    const dbPw = creds['password'];

    // reset-password of the database: the Secret keeps its old, complete contents through the crash.
    await co.patchNamespacedCustomObject({ ...ref('postgresqldatabases'), name: 'crashy-db', body: { metadata: { labels: { 'operator/action': 'reset-password' } } } }, MERGE);
    await expect(reconcileUntil(operator({ kube: crashing('crashy-db-creds') }).database, { namespace: ns, name: 'crashy-db' }, async () => false, { timeoutMs: 3000 })).rejects.toThrow(/SIGKILL/);
    expect(await secretData('crashy-db-creds')).toEqual(creds);
    const resetPw = await pendingOf(db.metadata.uid!);
    expect(resetPw).not.toBe(dbPw);
    expect(await login({ ...creds, password: resetPw! })).toBe(user);
    await reconcileUntil(healthy.database, { namespace: ns, name: 'crashy-db' }, async () => (await getDb('crashy-db')).metadata.labels?.['operator/action'] === undefined);
    const after = await secretData('crashy-db-creds');
    expect(after['password']).toBe(resetPw);
    expect(await login(after)).toBe(user);
    expect(await readSecret(pendingSecretName(db.metadata.uid!))).toBeUndefined();
  });

  it('a reconcile on a stale read (the informer cache has not seen the last reset finish) does not reset again', async () => {
    const rec = operator();
    await serverReady(rec, 'cached');
    await dbReady(rec, 'cached-db', 'cached');
    await co.patchNamespacedCustomObject({ ...ref('postgresqldatabases'), name: 'cached-db', body: { metadata: { labels: { 'operator/action': 'reset-password' } } } }, MERGE);
    const staleCr = await getDb('cached-db');
    const staleSecret = (await readSecret('cached-db-creds'))!;
    await reconcileUntil(rec.database, { namespace: ns, name: 'cached-db' }, async () => (await getDb('cached-db')).metadata.labels?.['operator/action'] === undefined);
    const reset = await secretData('cached-db-creds');
    expect(reset['password']).not.toBe(decodeSecret(staleSecret)['password']);

    // What CachedKubeAccess returns when its informers lag: the CR still labelled, the old Secret.
    const live = createKubeAccess(kc);
    const lagging: KubeAccess = {
      ...live,
      getDatabase: async (namespace, name) => (name === 'cached-db' ? structuredClone(staleCr) : live.getDatabase(namespace, name)),
      getSecret: async (namespace, name) => (name === 'cached-db-creds' ? structuredClone(staleSecret) : live.getSecret(namespace, name)),
    };
    await operator({ kube: lagging }).database.reconcile({ namespace: ns, name: 'cached-db' }).catch(() => undefined);
    expect(await secretData('cached-db-creds')).toEqual(reset);
    expect(await login(reset)).toBe(reset['username']);
    expect(await readSecret(pendingSecretName(staleCr.metadata.uid!))).toBeUndefined();
  });

  it("finishes an older version's pending-password key inside the credentials Secret, then removes it", async () => {
    const rec = operator();
    // Server: the older version stored the pending password and died before the login existed.
    const srv = await createServerCr('upgraded');
    await core.createNamespacedSecret({ namespace: ns, body: {
      metadata: { name: 'upgraded-admin', labels: { 'app.kubernetes.io/managed-by': 'hybrid-cloud-postgresql-operator' }, ownerReferences: [{ apiVersion: srv.apiVersion, kind: srv.kind, name: srv.metadata.name, uid: srv.metadata.uid!, controller: true }] },
      stringData: { 'pending-password': 'Old-Version-Pending-1' },
    } });
    await reconcileUntil(rec.server, { namespace: ns, name: 'upgraded' }, async () => ready(await getServer('upgraded')));
    const admin = await secretData('upgraded-admin');
    expect(admin['password']).toBe('Old-Version-Pending-1');
    expect(admin['pending-password']).toBeUndefined();
    expect(COMPLETE.filter((k) => !admin[k])).toEqual([]);
    expect(await login(admin)).toBe(`${ns}.upgraded`);

    // Database: the older version was resetting, had applied the pending password and died.
    await dbReady(rec, 'upgraded-db', 'upgraded');
    const creds = await secretData('upgraded-db-creds');
    await pgs.psql(`ALTER ROLE "${creds['username']}" PASSWORD 'Old-Version-Pending-2'`);
    await core.patchNamespacedSecret({ namespace: ns, name: 'upgraded-db-creds', body: { stringData: { 'pending-password': 'Old-Version-Pending-2' } } }, MERGE);
    await reconcileUntil(rec.database, { namespace: ns, name: 'upgraded-db' }, async () => (await secretData('upgraded-db-creds'))['pending-password'] === undefined);
    const now = await secretData('upgraded-db-creds');
    expect(now['password']).toBe('Old-Version-Pending-2');
    expect(await login(now)).toBe(creds['username']);
  });
});

describe('issue #13 leftovers', () => {
  it('a CR deleted while its finalizer is added: nothing is created for it (404 on the finalizer patch)', async () => {
    // The deletion lands between the reconcile's read and its finalizer patch.
    const racing = (plural: string): KubeAccess => {
      const live = createKubeAccess(kc);
      return {
        ...live,
        async patchMetadata(kind, namespace, name, patch) {
          if (patch.finalizers) await co.deleteNamespacedCustomObject({ ...ref(plural), name });
          return live.patchMetadata(kind, namespace, name, patch);
        },
      };
    };
    const outcome = (p: Promise<unknown>) => p.then((r) => JSON.stringify(r), (e: Error) => e.message);
    const srv = await createServerCr('vanishing');
    const serverOutcome = await outcome(operator({ kube: racing('postgresqlservers') }).server.reconcile({ namespace: ns, name: 'vanishing' }));
    expect(await exists(() => getServer('vanishing'))).toBe(false);
    expect(await roles(`${ns}.vanishing%`)).toBe('');
    expect(await readSecret('vanishing-admin')).toBeUndefined();
    expect(await readSecret(pendingSecretName(srv.metadata.uid!))).toBeUndefined();
    // Not an error either: the reconcile simply ends.
    expect(serverOutcome).toBe('{}');

    const rec = operator();
    await serverReady(rec, 'host-of-vanishing');
    const db = await createDbCr('vanishing-db', 'host-of-vanishing');
    const dbOutcome = await outcome(operator({ kube: racing('postgresqldatabases') }).database.reconcile({ namespace: ns, name: 'vanishing-db' }));
    expect(await exists(() => getDb('vanishing-db'))).toBe(false);
    expect(await roles(`${ns}_vanishing_db%`)).toBe('');
    expect((await pgs.psql(`SELECT datname FROM pg_database WHERE datname = '${ns}_vanishing_db'`)).stdout.trim()).toBe('');
    expect(await readSecret('vanishing-db-creds')).toBeUndefined();
    expect(await readSecret(pendingSecretName(db.metadata.uid!))).toBeUndefined();
    expect(dbOutcome).toBe('{}');
  });

  it('a changed spec.backend or default backend never creates a second server nor deletes through the wrong one', async () => {
    const both: Array<[string, Backend]> = [['external', backend], ['other', other]];
    const rec = operator({ allowed: ['external', 'other'], backends: both });
    await serverReady(rec, 'sticky');
    const admin = await secretData('sticky-admin');

    // spec.backend changed after creation: a Warning and a note in the Ready condition; the original backend is kept.
    await co.patchNamespacedCustomObject({ ...ref('postgresqlservers'), name: 'sticky', body: { spec: { backend: 'other' } } }, MERGE);
    for (let i = 0; i < 3; i++) await rec.server.reconcile({ namespace: ns, name: 'sticky' }).catch(() => undefined);
    expect(await roles(`other_%`)).toBe('');
    expect((await getServer('sticky')).status?.backend).toBe('external');
    expect((await getServer('sticky')).status?.conditions?.[0]?.message).toMatch(/differs from status.backend 'external'/);
    await expect.poll(async () => (await eventsOf('sticky')).map((e) => `${e.type} ${e.reason}`)).toContain('Warning BackendChangeIgnored');

    // The operator restarted with another default backend (and no allowed list): still the original one.
    const moved = operator({ defaultId: 'other', backends: both });
    for (let i = 0; i < 3; i++) await moved.server.reconcile({ namespace: ns, name: 'sticky' }).catch(() => undefined);
    expect((await getServer('sticky')).status?.backend).toBe('external');
    expect(await roles(`other_%`)).toBe('');
    expect(await secretData('sticky-admin')).toEqual(admin);
    expect(await login(admin)).toBe(`${ns}.sticky`);

    // Deleting goes through the backend that made it.
    await co.deleteNamespacedCustomObject({ ...ref('postgresqlservers'), name: 'sticky' });
    await reconcileUntil(moved.server, { namespace: ns, name: 'sticky' }, async () => !(await exists(() => getServer('sticky'))));
    expect(await roles(`${ns}.sticky`)).toBe('');
    expect(await roles(`other_%`)).toBe('');
  });

  it('no log line, status or Event carries a password, also when a Secret write is refused with a message that echoes it', async () => {
    // An admission policy that refuses our new Secrets in this namespace, quoting their data
    // (base64, as the API server holds it), as a careless policy engine might.
    const adm = kc.makeApiClient(AdmissionregistrationV1Api);
    const policy = `echo-secrets-${ns}`;
    await adm.createValidatingAdmissionPolicy({ body: {
      metadata: { name: policy },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['secrets'] }] },
        matchConditions: [{ name: 'probe-or-ours', expression: "object.metadata.name.startsWith('leaky') || object.metadata.name.startsWith('hybridcloud-postgresql-pending-')" }],
        validations: [{ expression: 'false', messageExpression: "'refused: ' + (has(object.data) ? object.data.map(k, k + '=' + object.data[k]).join(',') : '')" }],
      },
    } });
    await adm.createValidatingAdmissionPolicyBinding({ body: { metadata: { name: policy }, spec: { policyName: policy, validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } } } } });
    const removePolicy = async () => {
      await adm.deleteValidatingAdmissionPolicyBinding({ name: policy }).catch(() => undefined);
      await adm.deleteValidatingAdmissionPolicy({ name: policy }).catch(() => undefined);
    };
    closers.push(removePolicy);
    // In force once a probe is refused with its data quoted.
    await expect.poll(async () => core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'leaky-probe' }, stringData: { k: 'probe-value' } } }).then(() => core.deleteNamespacedSecret({ namespace: ns, name: 'leaky-probe' }).then(() => 'admitted'), (e: Error) => e.message), { timeout: 20_000, interval: 500 }).toMatch(new RegExp(`k=${b64('probe-value')}`));

    const rec = operator();
    const from = lines.length;
    const gotFrom = generated.length;
    await createServerCr('leaky');
    await expect(rec.server.reconcile({ namespace: ns, name: 'leaky' })).rejects.toThrow(/refused/);
    expect(generated.length).toBeGreaterThan(gotFrom);
    const refused = (await getServer('leaky')).status?.conditions?.[0]?.message ?? '';
    expect(refused).toMatch(/password=\[REDACTED\]/);
    await removePolicy();
    await reconcileUntil(rec.server, { namespace: ns, name: 'leaky' }, async () => ready(await getServer('leaky')));
    await dbReady(rec, 'leaky-db', 'leaky');
    await resetPassword(rec, 'server', 'leaky');
    await resetPassword(rec, 'database', 'leaky-db');

    const passwords = [...generated.slice(gotFrom), (await secretData('leaky-admin'))['password']!, (await secretData('leaky-db-creds'))['password']!];
    const logged = lines.slice(from);
    expect(logged.some((l) => l.includes('refused'))).toBe(true);
    const status = JSON.stringify((await getServer('leaky')).status);
    const posted = JSON.stringify((await eventsOf()).map((e) => e.message));
    for (const form of passwords.flatMap((pw) => [pw, b64(pw)])) {
      expect(logged.filter((l) => l.includes(form))).toEqual([]);
      expect(status).not.toContain(form);
      expect(posted).not.toContain(form);
    }
  });
});

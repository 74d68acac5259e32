/**
 * Core's reconcilers with the external backend against a real kube-apiserver and a real
 * PostgreSQL, driven in-process (the e2e tests run the same through the operator's CLI).
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createReconcilers, decodeSecret, generatePassword, GROUP, LoadedBackendRegistry, silentLogger, VERSION,
  type Backend, type PostgreSQLDatabase, type PostgreSQLServer,
} from '@hybridcloud-postgresql/core';
import { reconcileUntil, TestEventRecorder } from '@hybridcloud-postgresql/core/testing';
import { applyCrds, createTestNamespace, useControlPlane, usePostgres, type Postgres } from '@hybridcloud-postgresql/testenv';
import external from './index.js';
import type { ExternalConfig } from './config.js';

let kc: KubeConfig;
let ns: string;
let pgs: Postgres;
let backend: Backend;
let events: TestEventRecorder;
let rec: ReturnType<typeof createReconcilers>;
let co: CustomObjectsApi;
let core: CoreV1Api;

beforeAll(async () => {
  const cp = await useControlPlane();
  await applyCrds(cp);
  ns = await createTestNamespace(cp, 'ext-reconcile');
  pgs = await usePostgres();
  kc = cp.kubeConfig();
  co = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  const config: ExternalConfig = {
    host: pgs.host, port: pgs.port, sslmode: 'disable', admin_username: pgs.superuser, admin_password: pgs.password,
    database: 'postgres', role_prefix: '', server_delete_fake: false, database_delete_fake: false,
  };
  const gen = () => generatePassword({ length: 20, specialCharacters: true });
  backend = await external.create({ config, operatorConfig: {}, log: silentLogger, kubeConfig: kc, operatorNamespace: 'default', generatePassword: gen });
  events = new TestEventRecorder(kc);
  rec = createReconcilers({ kubeConfig: kc, registry: new LoadedBackendRegistry('external', [], new Map([['external', backend]])), events, log: silentLogger, generatePassword: gen, resyncMs: 300_000 });
});

afterAll(async () => {
  await rec?.sql.close();
  await backend?.close?.();
});

const ref = (plural: string) => ({ group: GROUP, version: VERSION, namespace: ns, plural });
const getServer = async (name: string) => (await co.getNamespacedCustomObject({ ...ref('postgresqlservers'), name })) as PostgreSQLServer;
const getDb = async (name: string) => (await co.getNamespacedCustomObject({ ...ref('postgresqldatabases'), name })) as PostgreSQLDatabase;
const ready = (o: PostgreSQLServer | PostgreSQLDatabase) => o.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
const secretData = async (name: string) => decodeSecret(await core.readNamespacedSecret({ namespace: ns, name }).catch(() => undefined));
const exists = async (fn: () => Promise<unknown>) => fn().then(() => true, () => false);

async function login(data: Record<string, string>): Promise<string> {
  const c = new pg.Client({ host: data['host'], port: Number(data['port']), user: data['username'], password: data['password'], database: data['dbname'], connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    return (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function createServer(name: string, extra: Record<string, unknown> = {}) {
  await co.createNamespacedCustomObject({ ...ref('postgresqlservers'), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLServer', metadata: { name, namespace: ns }, spec: { credentialsSecret: `${name}-admin`, ...extra } } });
  await reconcileUntil(rec.server, { namespace: ns, name }, async () => ready(await getServer(name)));
}
async function createDb(name: string, server: string) {
  await co.createNamespacedCustomObject({ ...ref('postgresqldatabases'), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLDatabase', metadata: { name, namespace: ns }, spec: { serverRef: { name: server }, credentialsSecret: `${name}-creds`, database: { extensions: ['citext'] } } } });
  await reconcileUntil(rec.database, { namespace: ns, name }, async () => ready(await getDb(name)));
}

describe('external backend through core reconcilers', () => {
  it('provisions a server and a database whose Secrets log in; resync writes nothing', async () => {
    await createServer('team', { size: { cpu: 2 }, highavailability: { enabled: true } });
    const admin = await secretData('team-admin');
    expect(admin['username']).toBe(`${ns}.team`);
    expect(admin['hostname']).toBe(pgs.host);
    expect(await login(admin)).toBe(`${ns}.team`);
    const srv = await getServer('team');
    expect(srv.metadata.finalizers).toContain('hybridcloud.maibornwolff.de/finalizer');
    expect(srv.status?.backend).toBe('external');
    expect(srv.status?.unsupportedFields).toEqual(['spec.size.cpu', 'spec.highavailability.enabled']);
    expect(srv.status?.deployment?.status).toBe('finished');
    expect(events.reasons('team')).toContain('UnsupportedFields');

    await createDb('orders-db', 'team');
    const creds = await secretData('orders-db-creds');
    expect(creds['dbname']).toBe(`${ns}_orders_db`);
    expect(creds['pending-password']).toBeUndefined();
    expect(await login(creds)).toBe(creds['username']);
    expect(creds['uri']).toContain(encodeURIComponent(creds['password']!));

    // A resync of ready objects: no writes (resourceVersions unchanged).
    const before = [(await getServer('team')).metadata.resourceVersion, (await getDb('orders-db')).metadata.resourceVersion];
    const secretRv = (await core.readNamespacedSecret({ namespace: ns, name: 'orders-db-creds' })).metadata?.resourceVersion;
    await rec.server.reconcile({ namespace: ns, name: 'team' });
    await rec.database.reconcile({ namespace: ns, name: 'orders-db' });
    expect([(await getServer('team')).metadata.resourceVersion, (await getDb('orders-db')).metadata.resourceVersion]).toEqual(before);
    expect((await core.readNamespacedSecret({ namespace: ns, name: 'orders-db-creds' })).metadata?.resourceVersion).toBe(secretRv);
  });

  it('reports a spec.backend change after creation instead of ignoring it silently', async () => {
    await co.patchNamespacedCustomObject({ ...ref('postgresqlservers'), name: 'team', body: { spec: { backend: 'awsrds' } } }, (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'));
    await reconcileUntil(rec.server, { namespace: ns, name: 'team' }, async () => /differs from status.backend/.test((await getServer('team')).status?.conditions?.[0]?.message ?? ''));
    const srv = await getServer('team');
    expect(srv.status?.backend).toBe('external');
    expect(ready(srv)).toBe(true);
    expect(events.reasons('team')).toContain('BackendChangeIgnored');
  });

  it('resets passwords of server and database via the label', async () => {
    for (const [kind, plural, name, secret, r] of [
      ['server', 'postgresqlservers', 'team', 'team-admin', () => rec.server],
      ['database', 'postgresqldatabases', 'orders-db', 'orders-db-creds', () => rec.database],
    ] as const) {
      const old = await secretData(secret);
      await co.patchNamespacedCustomObject({ ...ref(plural), name, body: { metadata: { labels: { 'operator/action': 'reset-password' } } } }, (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'));
      await reconcileUntil(r(), { namespace: ns, name }, async () => {
        const o = kind === 'server' ? await getServer(name) : await getDb(name);
        return o.metadata.labels?.['operator/action'] === undefined;
      });
      const now = await secretData(secret);
      expect(now['password']).not.toBe(old['password']);
      await expect(login(old)).rejects.toThrow(/password authentication failed/);
      expect(await login(now)).toBe(now['username']);
      expect(events.reasons(name)).toContain('PasswordReset');
    }
  });

  it('database before its server: ServerNotReady, then Ready once the server is', async () => {
    await co.createNamespacedCustomObject({ ...ref('postgresqldatabases'), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLDatabase', metadata: { name: 'early', namespace: ns }, spec: { serverRef: { name: 'late' }, credentialsSecret: 'early-creds' } } });
    await rec.database.reconcile({ namespace: ns, name: 'early' });
    const waiting = (await getDb('early')).status?.conditions?.[0];
    expect(waiting?.reason).toBe('ServerNotReady');
    await createServer('late');
    await reconcileUntil(rec.database, { namespace: ns, name: 'early' }, async () => ready(await getDb('early')));
    expect(await login(await secretData('early-creds'))).toBe(`${ns}_early`);
  });

  it('adopts objects left by the Python operator: kopf finalizer replaced, Secret password reused, nothing provisioned twice', async () => {
    // What kopf + the Python operator left: its finalizer, status.backend/deployment, a role
    // with a password, and a Secret with only the original's keys (no owner, no labels).
    const role = `${ns}.legacy`;
    await pgs.psql(`CREATE ROLE "${role}" LOGIN PASSWORD 'Legacy-Pw-1'`);
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'legacy-admin' }, stringData: { host: pgs.host, port: String(pgs.port), dbname: 'postgres', username: role, password: 'Legacy-Pw-1', sslmode: 'disable' } } });
    await co.createNamespacedCustomObject({ ...ref('postgresqlservers'), body: {
      apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLServer',
      metadata: { name: 'legacy', namespace: ns, finalizers: ['kopf.zalando.org/KopfFinalizerMarker'], annotations: { 'kopf.zalando.org/last-handled-configuration': '{"spec":{}}' } },
      spec: { credentialsSecret: 'legacy-admin' } } });
    await co.patchNamespacedCustomObjectStatus({ ...ref('postgresqlservers'), name: 'legacy', body: { status: { backend: 'external', deployment: { status: 'finished', reason: 'Database server created', 'latest-update': '2024-01-01T10:00:00.123456+00:00' } } } },
      (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'));
    await reconcileUntil(rec.server, { namespace: ns, name: 'legacy' }, async () => ready(await getServer('legacy')));
    const srv = await getServer('legacy');
    expect(srv.metadata.finalizers).toEqual(['hybridcloud.maibornwolff.de/finalizer']);
    const data = await secretData('legacy-admin');
    expect(data['password']).toBe('Legacy-Pw-1');
    expect(data['hostname']).toBe(pgs.host);
    expect(data['uri']).toBeDefined();
    expect(await login(data)).toBe(role);
    const secret = await core.readNamespacedSecret({ namespace: ns, name: 'legacy-admin' });
    expect(secret.metadata?.ownerReferences?.[0]?.uid).toBe(srv.metadata.uid);
    expect(events.reasons('legacy')).not.toContain('PasswordReset');
    await co.deleteNamespacedCustomObject({ ...ref('postgresqlservers'), name: 'legacy' });
    await reconcileUntil(rec.server, { namespace: ns, name: 'legacy' }, async () => !(await exists(() => getServer('legacy'))));
  });

  it('server deletion waits for its databases, then everything is gone', async () => {
    const dbCreds = await secretData('orders-db-creds');
    await co.deleteNamespacedCustomObject({ ...ref('postgresqlservers'), name: 'team' });
    await rec.server.reconcile({ namespace: ns, name: 'team' });
    const waiting = (await getServer('team')).status?.conditions?.[0];
    expect(waiting?.reason).toBe('DependentDatabases');
    expect(waiting?.message).toContain('orders-db');

    await co.deleteNamespacedCustomObject({ ...ref('postgresqldatabases'), name: 'orders-db' });
    await reconcileUntil(rec.database, { namespace: ns, name: 'orders-db' }, async () => !(await exists(() => getDb('orders-db'))));
    await reconcileUntil(rec.server, { namespace: ns, name: 'team' }, async () => !(await exists(() => getServer('team'))));
    expect(await exists(() => core.readNamespacedSecret({ namespace: ns, name: 'orders-db-creds' }))).toBe(false);
    expect(await exists(() => core.readNamespacedSecret({ namespace: ns, name: 'team-admin' }))).toBe(false);
    const roles = await pgs.psql(`SELECT rolname FROM pg_roles WHERE rolname IN ('${ns}.team', '${dbCreds['username']}')`);
    expect(roles.stdout.trim()).toBe('');
    const dbs = await pgs.psql(`SELECT datname FROM pg_database WHERE datname = '${dbCreds['dbname']}'`);
    expect(dbs.stdout.trim()).toBe('');
  });
});

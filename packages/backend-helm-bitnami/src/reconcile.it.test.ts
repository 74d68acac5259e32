/**
 * helmbitnami (and helmyugabyte) through core's reconcilers: CRs on the real apiserver, real helm,
 * the fixture charts, the kubelet simulator; core reaches the databases through the simulator's
 * resolver, like kuttle/sshuttle did for the Python operator.
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Value } from '@sinclair/typebox/value';
import { CoreV1Api, CustomObjectsApi, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createReconcilers, decodeSecret, generatePassword, GROUP, LoadedBackendRegistry, silentLogger, VERSION,
  type Backend, type PostgreSQLDatabase, type PostgreSQLServer,
} from '@hybridcloud-postgresql/core';
import { reconcileUntil, TestEventRecorder } from '@hybridcloud-postgresql/core/testing';
import { applyCrds, createTestNamespace, KubeletSimulator, useControlPlane } from '@hybridcloud-postgresql/testenv';
import yugabyte, { YugabyteConfigSchema } from '@hybridcloud-postgresql/backend-helm-yugabyte';
import bitnami, { BitnamiConfigSchema } from './index.js';

const BITNAMI_CHART = fileURLToPath(new URL('../test-charts/postgresql', import.meta.url));
const YB_CHART = fileURLToPath(new URL('../../backend-helm-yugabyte/test-charts/yugabyte', import.meta.url));

let kc: KubeConfig;
let ns: string;
let sim: KubeletSimulator;
let backends: Backend[];
let rec: ReturnType<typeof createReconcilers>;
let co: CustomObjectsApi;
let core: CoreV1Api;
let events: TestEventRecorder;

beforeAll(async () => {
  const cp = await useControlPlane();
  await applyCrds(cp);
  ns = await createTestNamespace(cp, 'helm-reconcile');
  kc = cp.kubeConfig();
  co = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  sim = new KubeletSimulator(kc, { namespaces: [ns] }).start();
  const gen = () => generatePassword({ length: 20, specialCharacters: true });
  const ctx = { operatorConfig: {}, log: silentLogger, kubeConfig: kc, operatorNamespace: 'default', generatePassword: gen, connectionResolver: sim.resolver };
  const b = await bitnami.create({ ...ctx, config: Value.Default(BitnamiConfigSchema, { chart: { reference: BITNAMI_CHART }, helm_binary: cp.bin.helm, pvc_cleanup: true }) as never } as never);
  const y = await yugabyte.create({ ...ctx, config: Value.Default(YugabyteConfigSchema, { chart: { reference: YB_CHART }, helm_binary: cp.bin.helm }) as never } as never);
  backends = [b, y];
  events = new TestEventRecorder(kc);
  rec = createReconcilers({
    kubeConfig: kc,
    registry: new LoadedBackendRegistry('helmbitnami', ['helmbitnami', 'helmyugabyte'], new Map([['helmbitnami', b], ['helmyugabyte', y]])),
    events,
    log: silentLogger,
    generatePassword: gen,
    resyncMs: 300_000,
    resolver: sim.resolver,
  });
});

afterAll(async () => {
  await rec?.sql.close();
  for (const b of backends ?? []) await b.close?.();
  await sim?.stop();
});

const ref = (plural: string) => ({ group: GROUP, version: VERSION, namespace: ns, plural });
const getServer = async (name: string) => (await co.getNamespacedCustomObject({ ...ref('postgresqlservers'), name })) as PostgreSQLServer;
const getDb = async (name: string) => (await co.getNamespacedCustomObject({ ...ref('postgresqldatabases'), name })) as PostgreSQLDatabase;
const ready = (o: PostgreSQLServer | PostgreSQLDatabase) => o.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
const secretData = async (name: string) => decodeSecret(await core.readNamespacedSecret({ namespace: ns, name }).catch(() => undefined));
const exists = async (fn: () => Promise<unknown>) => fn().then(() => true, () => false);

/** Logs in with a credentials Secret, reaching the in-cluster host through the simulator. */
async function login(data: Record<string, string>): Promise<string> {
  const addr = await sim.resolver.resolve({}, { host: data['host']!, port: Number(data['port']) });
  const c = new pg.Client({ host: addr.host, port: addr.port, user: data['username'], password: data['password'], database: data['dbname'], connectionTimeoutMillis: 3000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function createServer(name: string, spec: Record<string, unknown>) {
  await co.createNamespacedCustomObject({ ...ref('postgresqlservers'), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLServer', metadata: { name, namespace: ns }, spec: { credentialsSecret: `${name}-admin`, ...spec } } });
  await reconcileUntil(rec.server, { namespace: ns, name }, async () => ready(await getServer(name)), { timeoutMs: 180_000, maxDelayMs: 500 });
}
async function createDb(name: string, server: string) {
  await co.createNamespacedCustomObject({ ...ref('postgresqldatabases'), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLDatabase', metadata: { name, namespace: ns }, spec: { serverRef: { name: server }, credentialsSecret: `${name}-creds` } } });
  await reconcileUntil(rec.database, { namespace: ns, name }, async () => ready(await getDb(name)), { timeoutMs: 150_000, maxDelayMs: 500 });
}
async function resetPassword(plural: string, name: string, r: () => typeof rec.server | typeof rec.database, getter: (n: string) => Promise<PostgreSQLServer | PostgreSQLDatabase>) {
  await co.patchNamespacedCustomObject({ ...ref(plural), name, body: { metadata: { labels: { 'operator/action': 'reset-password' } } } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'));
  await reconcileUntil(r(), { namespace: ns, name }, async () => {
    const o = await getter(name);
    return o.metadata.labels?.['operator/action'] === undefined && ready(o);
  }, { timeoutMs: 150_000, maxDelayMs: 500 });
}

describe.each([
  { backend: 'helmbitnami', server: 'pgb', host: (n: string) => `pgb-postgresql.${n}.svc.cluster.local`, port: '5432', admin: 'postgres' },
  { backend: 'helmyugabyte', server: 'ybs', host: (n: string) => `ybs-yugabyte-yb-tservers.${n}.svc.cluster.local`, port: '5433', admin: 'yugabyte' },
])('$backend through core reconcilers', ({ backend, server, host, port, admin }) => {
  it('server + database: credentials Secrets log in', { timeout: 300_000 }, async () => {
    await createServer(server, { backend, size: { cpu: 1, memoryMB: 1024, storageGB: 2 }, network: { firewallRules: [{ name: 'x', startIp: '10.0.0.1', endIp: '10.0.0.2' }] } });
    const adminCreds = await secretData(`${server}-admin`);
    expect(adminCreds['host']).toBe(host(ns));
    expect(adminCreds['port']).toBe(port);
    expect(adminCreds['username']).toBe(admin);
    expect(await login(adminCreds)).toBe(admin);
    const srv = await getServer(server);
    expect(srv.status?.backend).toBe(backend);
    expect(srv.status?.unsupportedFields).toEqual(['spec.network.firewallRules']);
    expect(events.reasons(server)).toContain('UnsupportedFields');

    await createDb(`${server}-app`, server);
    const creds = await secretData(`${server}-app-creds`);
    expect(await login(creds)).toBe(creds['username']);
  });

  it('reset-password of server and database: new passwords work, old ones fail', { timeout: 300_000 }, async () => {
    for (const [plural, name, secret, r, getter] of [
      ['postgresqlservers', server, `${server}-admin`, () => rec.server, getServer],
      ['postgresqldatabases', `${server}-app`, `${server}-app-creds`, () => rec.database, getDb],
    ] as const) {
      const old = await secretData(secret);
      await resetPassword(plural, name, r, getter);
      const now = await secretData(secret);
      expect(now['password']).not.toBe(old['password']);
      await expect(login(old)).rejects.toThrow(/password authentication failed/);
      expect(await login(now)).toBe(now['username']);
    }
  });

  it('delete: database, then server; the release is gone', { timeout: 300_000 }, async () => {
    await co.deleteNamespacedCustomObject({ ...ref('postgresqldatabases'), name: `${server}-app` });
    await reconcileUntil(rec.database, { namespace: ns, name: `${server}-app` }, async () => !(await exists(() => getDb(`${server}-app`))), { timeoutMs: 150_000 });
    await co.deleteNamespacedCustomObject({ ...ref('postgresqlservers'), name: server });
    await reconcileUntil(rec.server, { namespace: ns, name: server }, async () => !(await exists(() => getServer(server))), { timeoutMs: 150_000 });
    const releases = await core.listNamespacedSecret({ namespace: ns, labelSelector: `owner=helm,name=${backend === 'helmbitnami' ? `${server}-postgresql` : `${server}-yugabyte`}` });
    expect(releases.items).toEqual([]);
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.filter((c) => !c.metadata?.deletionTimestamp).map((c) => c.metadata!.name!);
    // bitnami ran with pvc_cleanup, yugabyte without: its volumes stay
    if (backend === 'helmbitnami') expect(claims.filter((c) => c.includes('pgb-postgresql'))).toEqual([]);
    else expect(claims.filter((c) => c.includes('ybs-yugabyte')).length).toBe(2);
  });
});

describe('helm failures through core reconcilers', () => {
  it('missing helm binary and chart render failure: Ready=False with a clear reason, no tight loop', { timeout: 60_000 }, async () => {
    const cp = await useControlPlane();
    const gen = () => generatePassword({ length: 20, specialCharacters: true });
    const ctx = { operatorConfig: {}, log: silentLogger, kubeConfig: kc, operatorNamespace: 'default', generatePassword: gen, connectionResolver: sim.resolver };
    const noHelm = await yugabyte.create({ ...ctx, config: Value.Default(YugabyteConfigSchema, { chart: { reference: YB_CHART }, helm_binary: '/nonexistent/helm' }) as never } as never);
    // An image outside bitnami/ without allowInsecureImages: the chart refuses to render.
    const badChart = await bitnami.create({ ...ctx, config: Value.Default(BitnamiConfigSchema, { chart: { reference: BITNAMI_CHART }, helm_binary: cp.bin.helm, image: { repository: 'someone/postgresql' }, allow_insecure_images: false }) as never } as never);
    const failing = createReconcilers({
      kubeConfig: kc,
      registry: new LoadedBackendRegistry('helmbitnami', ['helmbitnami', 'helmyugabyte'], new Map([['helmbitnami', badChart], ['helmyugabyte', noHelm]])),
      events,
      log: silentLogger,
      generatePassword: gen,
      resyncMs: 300_000,
      resolver: sim.resolver,
    });
    try {
      const mk = (name: string, backend: string) =>
        co.createNamespacedCustomObject({ ...ref('postgresqlservers'), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLServer', metadata: { name, namespace: ns }, spec: { backend, credentialsSecret: `${name}-admin` } } });
      await mk('nohelm', 'helmyugabyte');
      let result: unknown;
      for (let i = 0; i < 3; i++) result = await failing.server.reconcile({ namespace: ns, name: 'nohelm' });
      const cond = (await getServer('nohelm')).status?.conditions?.find((c) => c.type === 'Ready');
      expect(cond).toMatchObject({ status: 'False', reason: 'HelmNotFound' });
      expect(cond?.message).toContain('/nonexistent/helm');
      // terminal: not retried until the object (or the operator config) changes
      expect(result).toEqual({ requeueAfterMs: 300_000 });

      await mk('badchart', 'helmbitnami');
      let thrown: unknown;
      for (let i = 0; i < 3 && !thrown; i++) thrown = await failing.server.reconcile({ namespace: ns, name: 'badchart' }).then(() => undefined, (e: unknown) => e);
      // thrown → the work queue retries with exponential backoff
      expect(thrown).toMatchObject({ kind: 'retryable' });
      const c2 = (await getServer('badchart')).status?.conditions?.find((c) => c.type === 'Ready');
      expect(c2?.status).toBe('False');
      expect(c2?.reason).toBe('HelmRenderFailed');
      expect(c2?.message).toMatch(/helm upgrade --install of .*badchart-postgresql failed: .*Set global.security.allowInsecureImages=true/);
      const releases = await core.listNamespacedSecret({ namespace: ns, labelSelector: 'owner=helm,name=badchart-postgresql' });
      expect(releases.items).toEqual([]);
    } finally {
      await failing.sql.close();
    }
  });
});

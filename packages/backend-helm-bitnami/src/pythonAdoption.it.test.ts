/**
 * Upgrading from the Python operator (issue 15): what it left behind — its helm releases (bitnami
 * chart 11.9.13 = PostgreSQL 14 without an image tag in the values, yugabyte chart 2.13.0), its
 * chart-rendered Secrets, CRs with kopf's finalizer, annotation and status.deployment, its
 * credentials Secrets — taken over by core's real reconcilers on a real apiserver with real helm
 * and the kubelet simulator. Asserted on the world: helm revisions, StatefulSets, the admin role's
 * password verifier inside the database, Secret values, logins with the old passwords, Events.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Value } from '@sinclair/typebox/value';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createReconcilers, decodeSecret, generatePassword, GROUP, LoadedBackendRegistry, silentLogger, VERSION,
  type Backend, type PostgreSQLServer,
} from '@hybridcloud-postgresql/core';
import { reconcileUntil, TestEventRecorder } from '@hybridcloud-postgresql/core/testing';
import { applyCrds, createTestNamespace, KubeletSimulator, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import yugabyte, { YugabyteConfigSchema } from '@hybridcloud-postgresql/backend-helm-yugabyte';
import bitnami, { BitnamiConfigSchema } from './index.js';

const BITNAMI_CHART = fileURLToPath(new URL('../test-charts/postgresql', import.meta.url));
const YB_CHART = fileURLToPath(new URL('../../backend-helm-yugabyte/test-charts/yugabyte', import.meta.url));

let cp: ControlPlane;
let kc: KubeConfig;
let ns: string;
let sim: KubeletSimulator;
let backends: Backend[];
let rec: ReturnType<typeof createReconcilers>;
let co: CustomObjectsApi;
let core: CoreV1Api;
let apps: AppsV1Api;
let events: TestEventRecorder;
let work: string;
/** The charts the Python operator's image baked: same templates as the fixtures, older versions. */
let pyBitnamiChart: string;
let pyYugabyteChart: string;

/** A copy of a fixture chart as an older release of it (Chart.yaml version/appVersion, default image tag). */
function olderChart(src: string, name: string, version: string, appVersion: string, tagLine: RegExp, tag: string): string {
  const dir = join(work, name);
  cpSync(src, dir, { recursive: true });
  const chartYaml = readFileSync(join(dir, 'Chart.yaml'), 'utf8').replace(/^version: .*$/m, `version: ${version}`).replace(/^appVersion: .*$/m, `appVersion: "${appVersion}"`);
  writeFileSync(join(dir, 'Chart.yaml'), chartYaml);
  writeFileSync(join(dir, 'values.yaml'), readFileSync(join(dir, 'values.yaml'), 'utf8').replace(tagLine, (m) => m.replace(/"?[^"\s]+"?$/, `"${tag}"`)));
  return dir;
}

beforeAll(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
  ns = await createTestNamespace(cp, 'py-upgrade');
  kc = cp.kubeConfig();
  co = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  work = mkdtempSync(join(tmpdir(), 'py-charts-'));
  pyBitnamiChart = olderChart(BITNAMI_CHART, 'postgresql', '11.9.13', '14.5.0', /^ {2}tag: .*$/m, '14.5.0-debian-11-r14');
  pyYugabyteChart = olderChart(YB_CHART, 'yugabyte', '2.13.0', '2.13.0.0-b42', /^ {2}tag: .*$/m, '2.13.0.0-b42');
  sim = new KubeletSimulator(kc, { namespaces: [ns] }).start();
  const gen = () => generatePassword({ length: 20, specialCharacters: true });
  const ctx = { operatorConfig: {}, log: silentLogger, kubeConfig: kc, operatorNamespace: 'default', generatePassword: gen, connectionResolver: sim.resolver };
  // The same config file the Python operator ran with, plus a default class (which it applied only with size.class).
  const b = await bitnami.create({ ...ctx, config: Value.Default(BitnamiConfigSchema, { chart: { reference: BITNAMI_CHART }, helm_binary: cp.bin.helm, classes: { small: { cpu: '500m', memory: '512Mi' } }, default_class: 'small' }) as never } as never);
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
  if (work) rmSync(work, { recursive: true, force: true });
});

const ref = (plural: string) => ({ group: GROUP, version: VERSION, namespace: ns, plural });
const mergePatch = setHeaderOptions('Content-Type', 'application/merge-patch+json');
const getServer = async (name: string) => (await co.getNamespacedCustomObject({ ...ref('postgresqlservers'), name })) as PostgreSQLServer;
const readyCond = (o: PostgreSQLServer) => o.status?.conditions?.find((c) => c.type === 'Ready');
const secretData = async (name: string) => decodeSecret(await core.readNamespacedSecret({ namespace: ns, name }).catch(() => undefined));

/** helm's release records (one Secret per revision): revision → status. */
async function revisions(release: string): Promise<Record<string, string>> {
  const list = await core.listNamespacedSecret({ namespace: ns, labelSelector: `owner=helm,name=${release}` });
  return Object.fromEntries(list.items.map((s) => [s.metadata!.labels!['version']!, s.metadata!.labels!['status']!]));
}

async function stsState(name: string): Promise<{ generation: number; image: string }> {
  const sts = await apps.readNamespacedStatefulSet({ name, namespace: ns });
  return { generation: sts.metadata!.generation!, image: sts.spec!.template.spec!.containers[0]!.image! };
}

async function sql<T extends pg.QueryResultRow>(statefulSet: string, user: string, password: string, text: string, database = 'postgres'): Promise<T[]> {
  const inst = sim.instance(ns, statefulSet)!;
  const c = new pg.Client({ host: '127.0.0.1', port: inst.port, user, password, database, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

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

async function eventually(check: () => Promise<void>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** `helm upgrade --install` exactly as helm_postgres.py / helm_yugabyte.py ran it (values on a file instead of stdin). */
async function pythonHelmInstall(release: string, chart: string, values: Record<string, unknown>, extra: string[] = []): Promise<void> {
  const file = join(work, `${release}.values.yaml`);
  writeFileSync(file, JSON.stringify(values), { mode: 0o600 }); // YAML is a superset of JSON
  await cp.helm(['upgrade', '--install', '-n', ns, release, chart, '-f', file, ...extra]);
}

/** A CR as kopf 1.38 leaves it: its finalizer, last-handled-configuration, status.deployment and status.kopf. */
async function pythonServer(name: string, spec: Record<string, unknown>, backend: string): Promise<void> {
  await co.createNamespacedCustomObject({ ...ref('postgresqlservers'), body: {
    apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLServer',
    metadata: { name, namespace: ns, finalizers: ['kopf.zalando.org/KopfFinalizerMarker'], annotations: { 'kopf.zalando.org/last-handled-configuration': JSON.stringify({ spec }) } },
    spec } });
  await co.patchNamespacedCustomObjectStatus({ ...ref('postgresqlservers'), name, body: { status: { backend, deployment: { status: 'finished', reason: 'Database server created', 'latest-update': '2024-05-01T10:00:00.123456+00:00' }, kopf: { progress: {} } } } }, mergePatch);
}

async function reconcileToReady(name: string): Promise<PostgreSQLServer> {
  await reconcileUntil(rec.server, { namespace: ns, name }, async () => readyCond(await getServer(name))?.status === 'True', { timeoutMs: 150_000, maxDelayMs: 500 });
  // and a few more: later reconciles must not act either
  for (let i = 0; i < 3; i++) await rec.server.reconcile({ namespace: ns, name });
  return getServer(name);
}

describe('helmbitnami: a release of the Python operator (chart 11.9.13, PostgreSQL 14)', () => {
  const PW = 'Py-Admin-Pw1';
  const creds = { username: 'postgres', password: PW, dbname: 'postgres', host: '', port: '5432', sslmode: 'disable' };

  it('is adopted without a single mutating call: same revision, same pod, same password verifier, same Secret values', { timeout: 300_000 }, async () => {
    creds.host = `pyb-postgresql.${ns}.svc.cluster.local`;
    // What helm_postgres.py rendered for a spec without size: cpu 1, 256Mi, 10Gi, the password in global.
    await pythonHelmInstall('pyb-postgresql', pyBitnamiChart, {
      fullnameOverride: 'pyb-postgresql',
      global: { storageClass: '', postgresql: { auth: { postgresPassword: PW } } },
      primary: { resources: { limits: { memory: '256Mi', cpu: 1 }, requests: { memory: '256Mi', cpu: 1 } }, persistence: { size: '10Gi' } },
    });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'pyb-credentials' }, type: 'Opaque', stringData: creds } });
    await eventually(async () => expect(sim.instance(ns, 'pyb-postgresql')?.isRunning).toBe(true));
    const verifier = async () => (await sql<{ v: string }>('pyb-postgresql', 'postgres', PW, "SELECT rolpassword AS v FROM pg_authid WHERE rolname = 'postgres'"))[0]!.v;
    const before = { revisions: await revisions('pyb-postgresql'), sts: await stsState('pyb-postgresql'), verifier: await verifier() };
    expect(before.revisions).toEqual({ 1: 'deployed' });
    expect(before.sts.image).toBe('docker.io/bitnami/postgresql:14.5.0-debian-11-r14');

    await pythonServer('pyb', { credentialsSecret: 'pyb-credentials' }, 'helmbitnami');
    const srv = await reconcileToReady('pyb');

    // zero mutating helm calls, no pod restart, no ALTER ROLE
    expect(await revisions('pyb-postgresql')).toEqual(before.revisions);
    expect(await stsState('pyb-postgresql')).toEqual(before.sts);
    expect(await verifier()).toBe(before.verifier);
    // every key the Python operator wrote keeps its value; keys are only added
    const data = await secretData('pyb-credentials');
    expect(data).toMatchObject(creds);
    expect(await login(data)).toBe('postgres');
    // our default class would resize it: kept, with one Warning Event and a status note naming the switch
    expect(srv.metadata.finalizers).toEqual(['hybridcloud.maibornwolff.de/finalizer']);
    // kopf's handler progress is removed, status.deployment kept (tools read it)
    expect((srv.status as { kopf?: unknown }).kopf).toBeUndefined();
    expect(srv.status?.deployment?.status).toBe('finished');
    const warnings = events.recorded.filter((e) => e.obj.name === 'pyb' && e.reason === 'AdoptedReleaseKept');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/cpu 500m \/ memory 512Mi .*default_class 'small'.*runs cpu 1 \/ memory 256Mi/);
    expect(warnings[0]!.message).toContain('python_releases: upgrade');
    expect(readyCond(srv)?.message).toContain('AdoptedReleaseKept');
  });

  it('a spec that asks for a major the release does not run is refused: Ready=False MajorVersionChange, nothing changed', { timeout: 300_000 }, async () => {
    const before = { revisions: await revisions('pyb-postgresql'), sts: await stsState('pyb-postgresql') };
    await co.patchNamespacedCustomObject({ ...ref('postgresqlservers'), name: 'pyb', body: { spec: { version: '17', size: { cpu: 2, memoryMB: 512 } } } }, mergePatch);
    for (let i = 0; i < 3; i++) await rec.server.reconcile({ namespace: ns, name: 'pyb' });
    const cond = readyCond(await getServer('pyb'));
    expect(cond).toMatchObject({ status: 'False', reason: 'MajorVersionChange' });
    expect(cond?.message).toMatch(/PostgreSQL 14 runs now \(running image docker.io\/bitnami\/postgresql:14.5.0-debian-11-r14\); image tag 17 is PostgreSQL 17/);
    expect(cond?.message).toContain('docs/migration.md#major-version-upgrades');
    expect(await revisions('pyb-postgresql')).toEqual(before.revisions);
    expect(await stsState('pyb-postgresql')).toEqual(before.sts);
  });

  it('a spec change without a version is applied with the running major pinned (the chart default would be 17)', { timeout: 300_000 }, async () => {
    await co.patchNamespacedCustomObject({ ...ref('postgresqlservers'), name: 'pyb', body: { spec: { version: null, size: { cpu: 2, memoryMB: 512 } } } }, mergePatch);
    await reconcileToReady('pyb');
    expect(Object.keys(await revisions('pyb-postgresql')).sort()).toEqual(['1', '2']);
    const sts = await apps.readNamespacedStatefulSet({ name: 'pyb-postgresql', namespace: ns });
    expect(sts.spec!.template.spec!.containers[0]!.image).toBe('docker.io/bitnamilegacy/postgresql:14.5.0-debian-11-r14');
    expect(sts.spec!.template.spec!.containers[0]!.resources!.limits).toEqual({ cpu: '2', memory: '512Mi' });
    expect(events.reasons('pyb')).toContain('MajorVersionPinned');
    // the old password still opens it (now from the operator's admin Secret)
    const data = await secretData('pyb-credentials');
    expect(data['password']).toBe(PW);
    await eventually(async () => expect(await login(data)).toBe('postgres'));
    // and stays pinned: nothing to do afterwards
    await reconcileToReady('pyb');
    expect(Object.keys(await revisions('pyb-postgresql')).sort()).toEqual(['1', '2']);
  });
});

describe('helmyugabyte: a release of the Python operator (chart 2.13.0, old naming)', () => {
  const PW = 'Py-Ysql-Pw1';

  it('is adopted without a single mutating call and keeps its Secret (dbname postgres)', { timeout: 300_000 }, async () => {
    const creds = { username: 'yugabyte', password: PW, dbname: 'postgres', host: `yb-tservers.${ns}.svc.cluster.local`, port: '5433', sslmode: 'disable' };
    // What helm_yugabyte.py rendered for a spec without size (cpu 1, 256Mi, 10Gi), installed with the hooks it ran.
    await pythonHelmInstall('pyy-yugabyte', pyYugabyteChart, {
      storage: { ephemeral: false, master: { count: 1, size: '10Gi', storageClass: '' }, tserver: { count: 1, size: '10Gi', storageClass: '' } },
      resource: { master: { requests: { cpu: 1, memory: '256Mi' }, limits: { cpu: 1, memory: '256Mi' } }, tserver: { requests: { cpu: 1, memory: '256Mi' }, limits: { cpu: 1, memory: '256Mi' } } },
      replicas: { master: 1, tserver: 1 },
      partition: { master: 1, tserver: 1 },
      authCredentials: { ysql: { password: PW } },
      Component: 'pyy-yugabyte',
      serviceEndpoints: [],
      enableLoadBalancer: false,
    }, ['--no-hooks']);
    await eventually(async () => expect(sim.instance(ns, 'yb-tserver')?.isRunning).toBe(true));
    // (its credentials job had set the password)
    await sql('yb-tserver', 'yugabyte', 'yugabyte', `ALTER ROLE yugabyte PASSWORD '${PW}'`);
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'pyy-credentials' }, type: 'Opaque', stringData: creds } });
    const verifier = async () => (await sql<{ v: string }>('yb-tserver', 'yugabyte', PW, "SELECT rolpassword AS v FROM pg_authid WHERE rolname = 'yugabyte'"))[0]!.v;
    const before = { revisions: await revisions('pyy-yugabyte'), master: await stsState('yb-master'), tserver: await stsState('yb-tserver'), verifier: await verifier() };
    expect(before.tserver.image).toBe('yugabytedb/yugabyte:2.13.0.0-b42');

    await pythonServer('pyy', { backend: 'helmyugabyte', credentialsSecret: 'pyy-credentials' }, 'helmyugabyte');
    await reconcileToReady('pyy');

    expect(await revisions('pyy-yugabyte')).toEqual(before.revisions);
    expect(await stsState('yb-master')).toEqual(before.master);
    expect(await stsState('yb-tserver')).toEqual(before.tserver);
    expect(await verifier()).toBe(before.verifier);
    const data = await secretData('pyy-credentials');
    expect(data).toMatchObject(creds);
    expect(await login(data)).toBe('yugabyte');
    const kept = events.recorded.filter((e) => e.obj.name === 'pyy' && e.reason === 'AdoptedReleaseKept');
    expect(kept).toHaveLength(1);
    expect(kept[0]!.message).toMatch(/default memory is now 2Gi, was 256Mi/);
  });

  it('a spec change keeps the running YugabyteDB release series; asking for another one is refused', { timeout: 300_000 }, async () => {
    const before = await revisions('pyy-yugabyte');
    await co.patchNamespacedCustomObject({ ...ref('postgresqlservers'), name: 'pyy', body: { spec: { size: { storageGB: 10, cpu: 1, memoryMB: 2048 } } } }, mergePatch);
    // pinned: the running 2.13 image stays (the fixture chart's default is 2025.1)
    await reconcileToReady('pyy');
    const ts = await stsState('yb-tserver');
    expect(ts.image).toBe('yugabytedb/yugabyte:2.13.0.0-b42');
    expect(Object.keys(await revisions('pyy-yugabyte')).length).toBe(Object.keys(before).length + 1);
    // asking for another series explicitly is refused
    const y = await yugabyte.create({ operatorConfig: {}, log: silentLogger, kubeConfig: kc, operatorNamespace: 'default', generatePassword: () => 'x', connectionResolver: sim.resolver, config: Value.Default(YugabyteConfigSchema, { chart: { reference: YB_CHART }, helm_binary: cp.bin.helm, image: { tag: '2025.1.0.0-b1' } }) as never } as never);
    const { TestOp, serverRequest } = await import('@hybridcloud-postgresql/helm-common/testing');
    const op = new TestOp();
    const s = serverRequest(ns, 'pyy', { size: { cpu: 1, memoryMB: 2048 } }, op);
    const err = await y.updateServer(op, s, await y.observeServer(op, s)).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'terminal', reason: 'MajorVersionChange' });
    expect((err as Error).message).toMatch(/YugabyteDB 2.13 runs now .*image tag 2025.1.0.0-b1 is YugabyteDB 2025.1/);
    expect(Object.keys(await revisions('pyy-yugabyte')).length).toBe(Object.keys(before).length + 1);
  });
});

/**
 * helmbitnami against the real thing: real kube-apiserver, real helm, the fixture chart (same value
 * names as bitnami/postgresql), and the kubelet simulator running a real PostgreSQL for the
 * StatefulSet the chart rendered. The backend's production code path; assertions on the world.
 */
import { spawn } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Value } from '@sinclair/typebox/value';
import { AppsV1Api, CoreV1Api, NetworkingV1Api, PolicyV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError, silentLogger, type Backend, type Endpoint } from '@hybridcloud-postgresql/core';
import { createTestNamespace, KubeletSimulator, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { reconcileUntilReady, serverRequest, TestOp } from '@hybridcloud-postgresql/helm-common/testing';
import definition, { BitnamiConfigSchema } from './index.js';

const CHART = fileURLToPath(new URL('../test-charts/postgresql', import.meta.url));

let cp: ControlPlane;
let kc: KubeConfig;
let ns: string;
let sim: KubeletSimulator;
let core: CoreV1Api;
let apps: AppsV1Api;

function makeBackend(overrides: Record<string, unknown> = {}): Backend {
  const config = Value.Default(BitnamiConfigSchema, structuredClone({ chart: { reference: CHART }, helm_binary: cp.bin.helm, ...overrides })) as never;
  if (!Value.Check(BitnamiConfigSchema, config)) throw new Error(`bad test config: ${JSON.stringify([...Value.Errors(BitnamiConfigSchema, config)][0])}`);
  return definition.create({
    config,
    operatorConfig: {},
    log: silentLogger,
    kubeConfig: kc,
    operatorNamespace: 'default',
    generatePassword: () => 'unused',
    connectionResolver: sim.resolver,
  } as never) as Backend;
}

async function login(endpoint: Endpoint, user: string, password: string): Promise<string> {
  const addr = await sim.resolver.resolve({}, endpoint);
  const c = new pg.Client({ host: addr.host, port: addr.port, user, password, database: 'postgres', connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    const r = await c.query<{ u: string }>('SELECT current_user AS u');
    return r.rows[0]!.u;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function secret(name: string): Promise<Record<string, string> | undefined> {
  try {
    const s = await core.readNamespacedSecret({ name, namespace: ns });
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  } catch {
    return undefined;
  }
}

async function releaseRecords(release: string): Promise<Array<{ name: string; status: string; body: string }>> {
  const list = await core.listNamespacedSecret({ namespace: ns, labelSelector: `owner=helm,name=${release}` });
  return list.items.map((s) => ({
    name: s.metadata!.name!,
    status: s.metadata!.labels!['status']!,
    body: gunzipSync(Buffer.from(Buffer.from(s.data!['release']!, 'base64').toString(), 'base64')).toString(),
  }));
}

async function pvcs(): Promise<string[]> {
  return (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.map((p) => p.metadata!.name!).sort();
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

beforeAll(async () => {
  cp = await useControlPlane();
  kc = cp.kubeConfig();
  ns = await createTestNamespace(cp, 'helmbitnami');
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  sim = new KubeletSimulator(kc, { namespaces: [ns] }).start();
});

afterAll(async () => {
  await sim?.stop();
});

describe('helmbitnami on a real control plane', { timeout: 300_000 }, () => {
  const P1 = 'first-Pass_word1';
  const P2 = 'second-Pass_word2';

  it('creates a release, becomes ready from the StatefulSet, and the admin login works', async () => {
    const backend = makeBackend({ classes: { small: { cpu: '500m', memory: '300Mi' } }, default_class: 'small' });
    const op = new TestOp();
    const s = serverRequest(ns, 'alpha', { size: { class: 'small', storageGB: 3 } }, op);
    const endpoint = await reconcileUntilReady(backend, op, s, P1);
    expect(endpoint).toMatchObject({ host: `alpha-postgresql.${ns}.svc.cluster.local`, port: 5432, adminUsername: 'postgres' });
    expect(await login(endpoint, 'postgres', P1)).toBe('postgres');

    const sts = await apps.readNamespacedStatefulSet({ name: 'alpha-postgresql', namespace: ns });
    expect(sts.spec!.template.spec!.containers[0]!.resources).toEqual({ requests: { cpu: '500m', memory: '300Mi' }, limits: { cpu: '500m', memory: '300Mi' } });
    expect(sts.spec!.template.spec!.containers[0]!.image).toBe('docker.io/bitnamilegacy/postgresql:17.6.0-debian-12-r4');
    expect(sts.spec!.volumeClaimTemplates![0]!.spec!.resources!.requests!['storage']).toBe('3Gi');
    expect(await pvcs()).toContain('data-alpha-postgresql-0');

    // bitnami/postgresql 17.1.0 defaults auth.usePasswordFiles: the password reaches the image as a
    // file of the mounted Secret (POSTGRES_PASSWORD_FILE), never as an environment variable; the
    // login above proves the server was initialised from that file.
    const pod = sts.spec!.template.spec!;
    const env = pod.containers[0]!.env ?? [];
    expect(env.find((e) => e.name === 'POSTGRES_PASSWORD_FILE')?.value).toBe('/opt/bitnami/postgresql/secrets/postgres-password');
    expect(env.filter((e) => /PASSWORD$/.test(e.name))).toEqual([]);
    expect(pod.volumes?.find((v) => v.name === 'postgresql-password')?.secret?.secretName).toBe('alpha-postgresql-admin');
    expect(pod.containers[0]!.volumeMounts?.find((m) => m.name === 'postgresql-password')?.mountPath).toBe('/opt/bitnami/postgresql/secrets/');
    // The chart's other objects: NetworkPolicy, PodDisruptionBudget, ServiceAccount (the pod's).
    expect((await kc.makeApiClient(NetworkingV1Api).readNamespacedNetworkPolicy({ name: 'alpha-postgresql', namespace: ns })).spec!.podSelector.matchLabels).toMatchObject({ 'app.kubernetes.io/instance': 'alpha-postgresql' });
    expect((await kc.makeApiClient(PolicyV1Api).readNamespacedPodDisruptionBudget({ name: 'alpha-postgresql', namespace: ns })).spec!.maxUnavailable).toBe(1);
    expect((await core.readNamespacedServiceAccount({ name: 'alpha-postgresql', namespace: ns })).automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('alpha-postgresql');

    // The password lives in the operator's Secret only: not in the helm release (values or manifest).
    expect((await secret('alpha-postgresql-admin'))?.['postgres-password']).toBe(P1);
    const records = await releaseRecords('alpha-postgresql');
    expect(records.map((r) => r.status)).toEqual(['deployed']);
    expect(records[0]!.body).not.toContain(P1);
    expect(records[0]!.body).toContain('"existingSecret":"alpha-postgresql-admin"');

    // Nothing to do on the next reconcile.
    const seen = await backend.observeServer(op, s);
    expect(seen).toMatchObject({ exists: true, upToDate: true, ready: true });
  });

  it('a size change is a helm upgrade with the new values', async () => {
    const backend = makeBackend();
    const op = new TestOp();
    const s = serverRequest(ns, 'alpha', { size: { cpu: 2, memoryMB: 512, storageGB: 3 } }, op);
    const seen = await backend.observeServer(op, s);
    expect(seen).toMatchObject({ exists: true, upToDate: false });
    const endpoint = await reconcileUntilReady(backend, op, s, P1);
    const sts = await apps.readNamespacedStatefulSet({ name: 'alpha-postgresql', namespace: ns });
    expect(sts.spec!.template.spec!.containers[0]!.resources).toEqual({ requests: { cpu: '2', memory: '512Mi' }, limits: { cpu: '2', memory: '512Mi' } });
    const records = await releaseRecords('alpha-postgresql');
    expect(records.map((r) => r.status).sort()).toEqual(['deployed', 'superseded']);
    expect(await login(endpoint, 'postgres', P1)).toBe('postgres');
  });

  it('reset-password changes the password inside the running database, crash-safely', async () => {
    const backend = makeBackend();
    const op = new TestOp();
    const s = serverRequest(ns, 'alpha', { size: { cpu: 2, memoryMB: 512, storageGB: 3 } }, op);
    const endpoint = await reconcileUntilReady(backend, op, s, P2, { resetPassword: true });
    expect(await login(endpoint, 'postgres', P2)).toBe('postgres');
    await expect(login(endpoint, 'postgres', P1)).rejects.toThrow(/password authentication failed/);
    expect(await secret('alpha-postgresql-admin')).toEqual({ 'postgres-password': P2 });

    // Crash between ALTER ROLE and the Secret update: the database has P3, the Secret still P2 + pending P3.
    const P3 = 'third-Pass_word3';
    await core.replaceNamespacedSecret({
      name: 'alpha-postgresql-admin',
      namespace: ns,
      body: { metadata: { name: 'alpha-postgresql-admin', namespace: ns }, stringData: { 'postgres-password': P2, 'pending-password': P3 } },
    });
    const addr = await sim.resolver.resolve({}, endpoint);
    const c = new pg.Client({ host: addr.host, port: addr.port, user: 'postgres', password: P2, database: 'postgres' });
    await c.connect();
    await c.query(`ALTER ROLE postgres PASSWORD '${P3}'`);
    await c.end();
    expect(await backend.observeServer(op, s)).toMatchObject({ upToDate: false, ready: false });
    await reconcileUntilReady(backend, op, s, P3);
    expect(await secret('alpha-postgresql-admin')).toEqual({ 'postgres-password': P3 });
    expect(await login(endpoint, 'postgres', P3)).toBe('postgres');
  });

  it('honours admin_username other than postgres (created as superuser with the admin password)', async () => {
    const backend = makeBackend({ admin_username: 'dbadmin' });
    const op = new TestOp();
    const s = serverRequest(ns, 'beta', {}, op);
    const endpoint = await reconcileUntilReady(backend, op, s, P1);
    expect(endpoint.adminUsername).toBe('dbadmin');
    expect(await login(endpoint, 'dbadmin', P1)).toBe('dbadmin');
  });

  it('delete keeps the volumes without pvc_cleanup; a re-created server opens them with a new password', async () => {
    const backend = makeBackend({ admin_username: 'dbadmin' });
    const op = new TestOp();
    const s = serverRequest(ns, 'beta', {}, op);
    expect(await backend.deleteServer(op, s)).toEqual({ state: 'gone' });
    expect(await releaseRecords('beta-postgresql')).toEqual([]);
    await expect(apps.readNamespacedStatefulSet({ name: 'beta-postgresql', namespace: ns })).rejects.toThrow();
    // helm uninstall removed the chart's other objects too.
    await expect(kc.makeApiClient(NetworkingV1Api).readNamespacedNetworkPolicy({ name: 'beta-postgresql', namespace: ns })).rejects.toThrow();
    await expect(kc.makeApiClient(PolicyV1Api).readNamespacedPodDisruptionBudget({ name: 'beta-postgresql', namespace: ns })).rejects.toThrow();
    await expect(core.readNamespacedServiceAccount({ name: 'beta-postgresql', namespace: ns })).rejects.toThrow();
    expect(await pvcs()).toContain('data-beta-postgresql-0');

    const endpoint = await reconcileUntilReady(backend, op, s, P2);
    expect(await login(endpoint, 'dbadmin', P2)).toBe('dbadmin');
    expect(await login(endpoint, 'postgres', P2)).toBe('postgres');
  });

  it('pvc_cleanup deletes exactly the volumes of that release', async () => {
    const backend = makeBackend({ pvc_cleanup: true });
    const op = new TestOp();
    const s = serverRequest(ns, 'beta', {}, op);
    const before = await pvcs();
    expect(before).toEqual(expect.arrayContaining(['data-alpha-postgresql-0', 'data-beta-postgresql-0']));
    // A claim that merely looks similar stays.
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: { metadata: { name: 'data-beta-postgresql-0-copy', labels: { 'app.kubernetes.io/instance': 'beta-postgresql' } }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    });
    expect(await backend.deleteServer(op, s)).toEqual({ state: 'gone' });
    // Deleted claims terminate once no pod uses them (pvc-protection).
    await eventually(async () => expect(await pvcs()).toEqual(before.filter((p) => p !== 'data-beta-postgresql-0').concat('data-beta-postgresql-0-copy').sort()));
    expect(await secret('beta-postgresql-admin')).toBeUndefined();
  });

  it('a missing helm binary is a terminal HelmNotFound error', async () => {
    const backend = makeBackend({ helm_binary: '/nonexistent/helm' });
    const op = new TestOp();
    const err = await backend.createServer(op, serverRequest(ns, 'gamma', {}, op), P1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err).toMatchObject({ kind: 'terminal', reason: 'HelmNotFound' });
    expect((err as Error).message).toContain('/nonexistent/helm');
  });

  it('a chart render failure carries helm\'s message and is retried with backoff', async () => {
    const backend = makeBackend({ image: { repository: 'someone/postgresql' }, allow_insecure_images: false });
    const op = new TestOp();
    const err = await backend.createServer(op, serverRequest(ns, 'delta', {}, op), P1).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'retryable', reason: 'HelmRenderFailed' });
    expect((err as Error).message).toContain('Set global.security.allowInsecureImages=true');
    expect(await releaseRecords('delta-postgresql')).toEqual([]);
  });

  it('recovers a release left in pending-install by a killed helm', async () => {
    const backend = makeBackend();
    const op = new TestOp();
    const s = serverRequest(ns, 'epsilon', {}, op);
    // The operator wrote its admin Secret, then its helm hung (here: in a post-install hook no
    // controller runs) and the operator was killed. Its helm rendered the operator's volume size:
    // the StatefulSet it created (named like the release, as bitnami's fullname does) keeps its
    // claim templates, which a later upgrade cannot change.
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'epsilon-postgresql-admin' }, stringData: { 'postgres-password': P1 } } });
    const child = spawn(cp.bin.helm, ['upgrade', 'epsilon-postgresql', CHART, '--install', '-n', ns, '--set', 'testHooks.blockingJob=true', '--set', 'auth.existingSecret=epsilon-postgresql-admin', '--set', 'primary.persistence.size=10Gi', '--timeout', '10m'], {
      env: { ...process.env, KUBECONFIG: cp.kubeconfigPath },
      stdio: 'ignore',
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await releaseRecords('epsilon-postgresql')).every((r) => r.status !== 'pending-install')) await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGKILL');
    expect((await releaseRecords('epsilon-postgresql')).map((r) => r.status)).toEqual(['pending-install']);

    const seen = await backend.observeServer(op, s);
    expect(seen).toMatchObject({ exists: true, upToDate: false, ready: false });
    const endpoint = await reconcileUntilReady(backend, op, s, P1);
    expect(await login(endpoint, 'postgres', P1)).toBe('postgres');
    const records = await releaseRecords('epsilon-postgresql');
    expect(records.map((r) => r.status)).toEqual(['deployed']);
    await backend.deleteServer(op, s);
  });

  it('a release whose install failed is upgraded to a working one', async () => {
    const backend = makeBackend();
    const op = new TestOp();
    const s = serverRequest(ns, 'eta', {}, op);
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'eta-postgresql-admin' }, stringData: { 'postgres-password': P1 } } });
    // An install the apiserver rejected (invalid object name): helm records it as failed.
    await expect(cp.helm(['upgrade', '--install', 'eta-postgresql', CHART, '-n', ns, '--set', 'fullnameOverride=Not_A_Valid_Name', '--set', 'auth.existingSecret=eta-postgresql-admin'])).rejects.toThrow();
    expect((await releaseRecords('eta-postgresql')).map((r) => r.status)).toEqual(['failed']);
    expect(await backend.observeServer(op, s)).toMatchObject({ exists: true, upToDate: false, ready: false });
    const endpoint = await reconcileUntilReady(backend, op, s, P1);
    expect(await login(endpoint, 'postgres', P1)).toBe('postgres');
    expect((await releaseRecords('eta-postgresql')).map((r) => r.status).sort()).toEqual(['deployed', 'superseded']);
    await backend.deleteServer(op, s);
  });

  it('reports a major version change instead of breaking the data directory', async () => {
    const backend = makeBackend();
    const op = new TestOp();
    const s2 = serverRequest(ns, 'zeta', { version: '15' }, op);
    await reconcileUntilReady(backend, op, s2, P1);
    const err = await backend.updateServer(op, serverRequest(ns, 'zeta', { version: '16' }, op), await backend.observeServer(op, s2)).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'terminal', reason: 'MajorVersionChange' });
    expect((err as Error).message).toMatch(/PostgreSQL 15 runs now \(running image docker.io\/bitnamilegacy\/postgresql:15\); image tag 16 is PostgreSQL 16/);
    expect(await releaseRecords('zeta-postgresql')).toEqual([expect.objectContaining({ status: 'deployed' })]);
  });
});

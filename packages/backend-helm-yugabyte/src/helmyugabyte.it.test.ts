/**
 * helmyugabyte against the real apiserver + real helm + the fixture chart (yugabyte value names);
 * the kubelet simulator runs a real PostgreSQL for each tablet server (YSQL stand-in, starting like
 * YugabyteDB with auth enabled: yugabyte/yugabyte).
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Value } from '@sinclair/typebox/value';
import { AppsV1Api, CoreV1Api, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError, silentLogger, type Backend, type Endpoint } from '@hybridcloud-postgresql/core';
import { createTestNamespace, KubeletSimulator, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { reconcileUntilReady, serverRequest, TestOp } from '@hybridcloud-postgresql/helm-common/testing';
import definition, { YugabyteConfigSchema } from './index.js';

const CHART = fileURLToPath(new URL('../test-charts/yugabyte', import.meta.url));

let cp: ControlPlane;
let kc: KubeConfig;
let ns: string;
let sim: KubeletSimulator;
let core: CoreV1Api;
let apps: AppsV1Api;

function makeBackend(overrides: Record<string, unknown> = {}): Backend {
  const config = Value.Default(YugabyteConfigSchema, structuredClone({ chart: { reference: CHART }, helm_binary: cp.bin.helm, ...overrides })) as never;
  if (!Value.Check(YugabyteConfigSchema, config)) throw new Error(`bad test config: ${JSON.stringify([...Value.Errors(YugabyteConfigSchema, config)][0])}`);
  return definition.create({ config, operatorConfig: {}, log: silentLogger, kubeConfig: kc, operatorNamespace: 'default', generatePassword: () => 'unused', connectionResolver: sim.resolver } as never) as Backend;
}

async function login(endpoint: Endpoint, password: string): Promise<string> {
  const addr = await sim.resolver.resolve({}, endpoint);
  const c = new pg.Client({ host: addr.host, port: addr.port, user: 'yugabyte', password, database: 'postgres', connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function pvcs(): Promise<string[]> {
  return (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!).sort();
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
  ns = await createTestNamespace(cp, 'helmyugabyte');
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  // YSQL drops connections for 1.5 s after a tserver pod started (and was marked Ready: the chart has
  // no readiness probe), then refuses every login with 28P01 for 4 s, then takes the real password.
  sim = new KubeletSimulator(kc, { namespaces: [ns], ysqlStartup: { refuseMs: 1500, authFailMs: 4000 } }).start();
});

afterAll(async () => {
  await sim?.stop();
});

describe('helmyugabyte on a real control plane', { timeout: 300_000 }, () => {
  const P1 = 'first-Pass_word1';
  const P2 = 'second-Pass_word2';

  it('runs two clusters in one namespace with distinct services; the YSQL password replaces the default', { timeout: 300_000 }, async () => {
    const backend = makeBackend({ classes: { small: { master: { cpu: '500m', memory: '1Gi' }, tserver: { cpu: '1000m', memory: '2Gi' } } }, default_class: 'small' });
    const opA = new TestOp();
    const opB = new TestOp();
    const a = serverRequest(ns, 'one', { size: { class: 'small', storageGB: 5 } }, opA);
    const b = serverRequest(ns, 'two', { size: { cpu: 2, memoryMB: 3000 } }, opB);
    const [ea, eb] = [await reconcileUntilReady(backend, opA, a, P1), await reconcileUntilReady(backend, opB, b, P2)];
    expect(ea).toMatchObject({ host: `one-yugabyte-yb-tservers.${ns}.svc.cluster.local`, port: 5433, adminUsername: 'yugabyte' });
    expect(eb.host).toBe(`two-yugabyte-yb-tservers.${ns}.svc.cluster.local`);
    expect(await login(ea, P1)).toBe('yugabyte');
    expect(await login(eb, P2)).toBe('yugabyte');
    await expect(login(ea, 'yugabyte')).rejects.toThrow(/password authentication failed/);
    await expect(login(ea, P2)).rejects.toThrow(/password authentication failed/);

    const ts = await apps.readNamespacedStatefulSet({ name: 'one-yugabyte-yb-tserver', namespace: ns });
    // Class CPUs are written as CPUs: the chart's ceil turns '1000m' into --num_cpus=0 (every core).
    expect(ts.spec!.template.spec!.containers[0]!.resources).toEqual({ requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '1', memory: '2Gi' } });
    expect(ts.spec!.template.spec!.containers[0]!.command).toContain('--num_cpus=1');
    const oneMaster = await apps.readNamespacedStatefulSet({ name: 'one-yugabyte-yb-master', namespace: ns });
    // '0.5' as written (the apiserver shows it as 500m); the chart's ceil makes it one CPU.
    expect(oneMaster.spec!.template.spec!.containers[0]!.resources!.requests).toEqual({ cpu: '500m', memory: '1Gi' });
    expect(oneMaster.spec!.template.spec!.containers[0]!.command).toContain('--num_cpus=1');
    // No yugabyted-ui sidecar (no resources, would keep the default password): every container is bounded.
    for (const sts of [ts, oneMaster]) {
      const containers = sts.spec!.template.spec!.containers;
      expect(containers.map((c) => c.name)).not.toContain('yugabyted-ui');
      for (const c of containers) expect(c.resources?.limits, c.name).toBeDefined();
    }
    expect(ts.spec!.updateStrategy!.rollingUpdate!.partition).toBe(0);
    expect(ts.spec!.replicas).toBe(1);
    const ms = await apps.readNamespacedStatefulSet({ name: 'two-yugabyte-yb-master', namespace: ns });
    // memoryMB 3000 → 3Gi (whole Gi for memory_limit_hard_bytes)
    expect(ms.spec!.template.spec!.containers[0]!.resources!.limits).toEqual({ cpu: '2', memory: '3Gi' });
    expect(ms.spec!.template.spec!.containers[0]!.command).toContain('--ysql_enable_auth=true');
    // No load balancer Services, no hook Job (helm ran --no-hooks: no blocking wait).
    const svcs = (await core.listNamespacedService({ namespace: ns })).items.map((s) => s.metadata!.name!).sort();
    expect(svcs).toEqual(['one-yugabyte-yb-masters', 'one-yugabyte-yb-tservers', 'two-yugabyte-yb-masters', 'two-yugabyte-yb-tservers']);
    // The chart's claim templates are <fullname>-datadirN (yugabyte.volume_name).
    expect(await pvcs()).toEqual([
      'one-yugabyte-datadir0-one-yugabyte-yb-master-0',
      'one-yugabyte-datadir0-one-yugabyte-yb-tserver-0',
      'two-yugabyte-datadir0-two-yugabyte-yb-master-0',
      'two-yugabyte-datadir0-two-yugabyte-yb-tserver-0',
    ]);
  });

  it('adopts a release of the Python operator (old naming style) with its password', { timeout: 300_000 }, async () => {
    // What the Python operator ran: fixed names (yb-tservers), password in the values.
    await cp.helm(['upgrade', '--install', 'legacy-yugabyte', CHART, '-n', ns, '--no-hooks', '--set', 'authCredentials.ysql.password=legacyPw1', '--set', 'replicas.master=1', '--set', 'replicas.tserver=1', '--set', 'storage.master.count=1', '--set', 'storage.tserver.count=1', '--set', 'enableLoadBalancer=false', '--set', 'Component=legacy-yugabyte']);
    // (its setup-credentials job had set the password)
    await eventually(async () => expect(sim.instance(ns, 'yb-tserver')?.isRunning).toBe(true));
    const inst = sim.instance(ns, 'yb-tserver')!;
    const c = new pg.Client({ host: '127.0.0.1', port: inst.port, user: 'yugabyte', password: 'yugabyte', database: 'postgres' });
    await c.connect();
    await c.query("ALTER ROLE yugabyte PASSWORD 'legacyPw1'");
    await c.end();

    const backend = makeBackend();
    const op = new TestOp();
    const s = serverRequest(ns, 'legacy', {}, op);
    const e = await reconcileUntilReady(backend, op, s, P1, { resetPassword: true });
    expect(e.host).toBe(`yb-tservers.${ns}.svc.cluster.local`);
    expect(await login(e, P1)).toBe('yugabyte');
    // same StatefulSets as before (no rename, no new volumes)
    await apps.readNamespacedStatefulSet({ name: 'yb-tserver', namespace: ns });
    expect(await pvcs()).toContain('datadir0-yb-tserver-0');
  });

  it('pods restarted by an upgrade are not Ready until YSQL takes the login; 28P01 while it starts is retried, then AdminPasswordMismatch', { timeout: 300_000 }, async () => {
    const backend = makeBackend({ replicas_tserver: 1 });
    const op = new TestOp();
    const s = serverRequest(ns, 'one', { size: { cpu: 1, memoryMB: 4096, storageGB: 5 } }, op);
    expect(await backend.updateServer(op, s, await backend.observeServer(op, s))).toMatchObject({ state: 'pending' });
    // The simulator restarts the tserver and marks it Ready at once (no readiness probe).
    await eventually(async () => {
      const sts = await apps.readNamespacedStatefulSet({ name: 'one-yugabyte-yb-tserver', namespace: ns });
      expect(sts.status?.observedGeneration).toBe(sts.metadata!.generation);
      expect(sts.status?.readyReplicas).toBe(1);
    }, 30_000);
    const early = await backend.observeServer(op, s);
    expect(early).toMatchObject({ exists: true, upToDate: true, ready: false });
    expect(early.message).toMatch(/does not accept the admin login yet/);
    const e = await reconcileUntilReady(backend, op, s, P1);
    expect(await login(e, P1)).toBe('yugabyte');

    // A password the database really does not take: retried as start-up for the grace period…
    const name = 'one-yugabyte-ysql-admin';
    await core.patchNamespacedSecret({ name, namespace: ns, body: { data: { ysqlPassword: Buffer.from('not-it').toString('base64') } } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'));
    const retried = await backend.updateServer(op, s, await backend.observeServer(op, s)).catch((err: unknown) => err);
    expect(retried).toBeInstanceOf(BackendError);
    expect(retried).toMatchObject({ kind: 'retryable', reason: 'AdminLoginRefused' });
    // …and reported as AdminPasswordMismatch once it is over.
    const strict = makeBackend({ replicas_tserver: 1, ysql_startup_grace_seconds: 0 });
    expect(await strict.updateServer(op, s, await strict.observeServer(op, s)).catch((err: unknown) => err)).toMatchObject({ kind: 'terminal', reason: 'AdminPasswordMismatch' });
    await core.patchNamespacedSecret({ name, namespace: ns, body: { data: { ysqlPassword: Buffer.from(P1).toString('base64') } } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'));
    await reconcileUntilReady(backend, op, s, P1);
    expect(op.state['adminLoginRefusedSince']).toBeUndefined();
  });

  it('pvc_cleanup deletes only the volumes of that release', async () => {
    const backend = makeBackend({ pvc_cleanup: true });
    const op = new TestOp();
    const before = await pvcs();
    expect(await backend.deleteServer(op, serverRequest(ns, 'two', {}, op))).toEqual({ state: 'gone' });
    await eventually(async () => expect(await pvcs()).toEqual(before.filter((p) => !p.includes('two-yugabyte'))));
    expect(await pvcs()).toContain('datadir0-yb-tserver-0');
    expect(await pvcs()).toContain('one-yugabyte-datadir0-one-yugabyte-yb-tserver-0');
    // the old-style release is deleted too, its claims (matched by name + selector) go, the other cluster's stay
    expect(await backend.deleteServer(op, serverRequest(ns, 'legacy', {}, new TestOp()))).toEqual({ state: 'gone' });
    await eventually(async () => expect(await pvcs()).toEqual(['one-yugabyte-datadir0-one-yugabyte-yb-master-0', 'one-yugabyte-datadir0-one-yugabyte-yb-tserver-0']));
  });
});

/**
 * The manager on a real kube-apiserver with a test reconciler for ConfigMaps: leader election
 * between replicas in one process (exactly one reconciles; a crashed leader is replaced within
 * 20 s; a graceful stop hands over at once), the health endpoints, and reconcile outcomes
 * (requeue, retry with backoff, terminal errors) driven by real informer events.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { CoordinationV1Api, CoreV1Api, V1MicroTime, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestNamespace, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { terminal, throttled } from '../backend/errors.js';
import { CONFIGMAP_RESOURCE, SECRET_RESOURCE } from '../kube/resource.js';
import { silentLogger } from '../observability/logger.js';
import { ownerRequests } from './controller.js';
import { assertMayWrite } from './reconcileContext.js';
import { startManager, type ManagerHandle, type ManagerOptions } from './manager.js';
import type { Reconciler, ReconcileRequest, ReconcileResult } from './reconciler.js';

let cp: ControlPlane;
let kc: KubeConfig;
let core: CoreV1Api;
let ns: string;
const running: ManagerHandle[] = [];

async function eventually<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

class RecordingReconciler implements Reconciler {
  readonly kind = 'ConfigMap';
  readonly calls: { replica: string; key: string; at: number }[] = [];
  constructor(
    readonly replica: string,
    private readonly behaviour: (req: ReconcileRequest, n: number) => Promise<ReconcileResult> = async () => ({}),
  ) {}
  async reconcile(req: ReconcileRequest): Promise<ReconcileResult> {
    const key = `${req.namespace}/${req.name}`;
    this.calls.push({ replica: this.replica, key, at: Date.now() });
    return this.behaviour(req, this.calls.filter((c) => c.key === key).length);
  }
  count(name: string): number {
    return this.calls.filter((c) => c.key === `${ns}/${name}`).length;
  }
}

const options = (leaseName: string, o: Partial<ManagerOptions> = {}): ManagerOptions => ({
  namespace: ns,
  watchNamespaces: [ns],
  concurrency: 2,
  resyncSeconds: 300,
  maxRequeueSeconds: 300,
  rateLimitPerSecond: 50,
  healthPort: -1,
  healthHost: '127.0.0.1',
  leaderElection: { enabled: true, leaseName, leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 },
  handlerOnResume: true,
  ...o,
});

async function start(replica: string, opts: ManagerOptions, behaviour?: RecordingReconciler['behaviour'], workAbort?: AbortController) {
  const reconciler = new RecordingReconciler(replica, behaviour);
  const fatal: string[] = [];
  const m = await startManager({
    kubeConfig: kc,
    logger: silentLogger,
    options: opts,
    reconcilers: [reconciler],
    resources: { ConfigMap: CONFIGMAP_RESOURCE },
    onFatal: (r) => fatal.push(r),
    ...(workAbort ? { workAbort } : {}),
  });
  running.push(m);
  return { m, reconciler, fatal, replica };
}

const get = async (m: ManagerHandle, path: string) => {
  const res = await fetch(`http://127.0.0.1:${m.healthPort}${path}`);
  return { status: res.status, text: await res.text() };
};

async function holder(leaseName: string): Promise<string | undefined> {
  const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: ns, name: leaseName }).catch(() => undefined);
  return lease?.spec?.holderIdentity || undefined;
}

const createCm = (name: string) => core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, namespace: ns }, data: { v: '1' } } as V1ConfigMap });

beforeAll(async () => {
  cp = await useControlPlane();
  kc = cp.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  ns = await createTestNamespace(cp, 'manager');
});

afterAll(async () => {
  await Promise.all(running.map((m) => m.stop({ release: true })));
});

describe('leader election', () => {
  it('exactly one of two replicas reconciles; a crashed leader is replaced within 20 s; a graceful stop hands over at once', async () => {
    const lease = `le-${randomBytes(3).toString('hex')}`;
    const a = await start('a', options(lease));
    const b = await start('b', options(lease));
    const replicas = [a, b];
    const leader = await eventually('a leader', () => replicas.find((r) => r.m.isLeader()));
    const standby = replicas.find((r) => r !== leader)!;
    expect(await holder(lease)).toBe(leader.m.identity);

    await createCm('first');
    await eventually('first reconciled', () => leader.reconciler.count('first') > 0);
    // Give the standby every chance to misbehave: it must never reconcile.
    await new Promise((r) => setTimeout(r, 3000));
    expect(standby.reconciler.calls).toEqual([]);
    expect(standby.m.isLeader()).toBe(false);

    // Both ready: the leader, and the standby as a healthy candidate.
    for (const r of replicas) {
      expect(await get(r.m, '/healthz')).toMatchObject({ status: 200 });
      expect((await get(r.m, '/readyz')).status).toBe(200);
    }
    const metrics = (await get(leader.m, '/metrics')).text;
    expect(metrics).toMatch(/hybridcloud_postgresql_reconcile_total\{kind="ConfigMap",result="success"\} [1-9]/);
    expect(metrics).toMatch(/hybridcloud_postgresql_leader 1/);
    expect(metrics).toContain('process_resident_memory_bytes');
    expect((await get(standby.m, '/metrics')).text).toMatch(/hybridcloud_postgresql_leader 0/);

    // Crash: the leader stops without releasing the Lease.
    const crashedAt = Date.now();
    await leader.m.stop({ release: false });
    const takeover = await eventually('takeover', () => standby.m.isLeader() && Date.now(), 25_000);
    const takeoverMs = takeover - crashedAt;
    expect(takeoverMs).toBeLessThan(20_000);
    expect(takeoverMs).toBeGreaterThan(5_000); // it really waited for the lease to expire
    expect(await holder(lease)).toBe(standby.m.identity);
    // The new leader reconciles what exists (level-based start) and what comes.
    await eventually('first reconciled by the new leader', () => standby.reconciler.count('first') > 0);
    await createCm('second');
    await eventually('second reconciled', () => standby.reconciler.count('second') > 0);
    expect(leader.reconciler.count('second')).toBe(0);

    // Graceful stop: the Lease is released and a fresh standby takes over at its next retry.
    const c = await start('c', options(lease));
    await eventually('c synced', () => c.m.ready());
    const stoppedAt = Date.now();
    await standby.m.stop();
    const handover = await eventually('handover', () => c.m.isLeader() && Date.now(), 10_000);
    expect(handover - stoppedAt).toBeLessThan(4_000);
    await eventually('c reconciles', () => c.reconciler.count('second') > 0);
    expect(a.fatal).toEqual([]);
    expect(b.fatal).toEqual([]);
    console.log(`[leader] takeover after crash ${takeoverMs} ms, after graceful stop ${handover - stoppedAt} ms`);
  }, 90_000);

  it('a leader whose Lease is taken away stops reconciling and reports the loss', async () => {
    const lease = `le-${randomBytes(3).toString('hex')}`;
    const a = await start('a', options(lease, { leaderElection: { enabled: true, leaseName: lease, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 1 } }));
    await eventually('leader', () => a.m.isLeader());
    // Someone else writes the Lease (as a replica that saw it expire during a network partition would).
    const api = kc.makeApiClient(CoordinationV1Api);
    const l = await api.readNamespacedLease({ namespace: ns, name: lease });
    await api.replaceNamespacedLease({ namespace: ns, name: lease, body: { ...l, spec: { ...l.spec, holderIdentity: 'intruder' } } });
    await eventually('loss reported', () => a.fatal.length > 0, 10_000);
    expect(a.fatal[0]).toMatch(/lost leadership/);
    const r = await a.m.done;
    expect(r.fatal).toBe(true);
    expect(a.m.isLeader()).toBe(false);
  });
});

describe('leadership safety', () => {
  it('lost leadership cancels running work at once, before the drain, and leaves the Lease to the new holder', async () => {
    const lease = `le-${randomBytes(3).toString('hex')}`;
    const work = new AbortController();
    let cancelledAt = 0;
    let running = false;
    // A reconcile that would run for a minute (a hung cloud call) unless its signal aborts.
    const a = await start('a', options(lease, { leaderElection: { enabled: true, leaseName: lease, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 1 }, shutdownGraceMs: 20_000 }), async () => {
      running = true;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 60_000);
        work.signal.addEventListener('abort', () => { cancelledAt = Date.now(); clearTimeout(t); resolve(); }, { once: true });
      });
      return {};
    }, work);
    await eventually('leader', () => a.m.isLeader());
    await createCm(`hung-${lease}`);
    await eventually('reconcile running', () => running);
    const api = kc.makeApiClient(CoordinationV1Api);
    const l = await api.readNamespacedLease({ namespace: ns, name: lease });
    await api.replaceNamespacedLease({ namespace: ns, name: lease, body: { ...l, spec: { ...l.spec, holderIdentity: 'intruder', renewTime: new V1MicroTime(Date.now()) } } });
    const lostAt = await eventually('loss reported', () => a.fatal.length > 0 && Date.now(), 10_000);
    const r = await a.m.done;
    expect(r.fatal).toBe(true);
    expect(cancelledAt, 'the running reconcile was cancelled').toBeGreaterThan(0);
    // Cancelled when leadership was lost, not after the 20 s shutdown grace.
    expect(cancelledAt - lostAt).toBeLessThan(2_000);
    expect(await holder(lease)).toBe('intruder');
  });

  it('a leader paused past its renew deadline refuses Kubernetes writes before its renew loop runs again (write fence)', async () => {
    const lease = `le-${randomBytes(3).toString('hex')}`;
    const outcomes: string[] = [];
    const a = await start('a', options(lease, { leaderElection: { enabled: true, leaseName: lease, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 1 } }), async () => {
      const check = () => {
        try {
          assertMayWrite();
          return 'allowed';
        } catch (err) {
          return (err as Error).message;
        }
      };
      outcomes.push(check());
      // As if the process were stopped: nothing else runs (no renew), then the reconcile goes on first.
      const until = Date.now() + 3_500;
      while (Date.now() < until) { /* paused */ }
      outcomes.push(check());
      return {};
    });
    await eventually('a leads', () => a.m.isLeader());
    await createCm(`paused-${lease}`);
    await eventually('reconciled', () => outcomes.length >= 2);
    expect(outcomes[0]).toBe('allowed');
    expect(outcomes[1]).toMatch(/another replica may lead/);
  }, 30_000);

  it('a wall-clock jump neither makes a standby take over nor the leader give up', async () => {
    const lease = `le-${randomBytes(3).toString('hex')}`;
    const opts = options(lease, { leaderElection: { enabled: true, leaseName: lease, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 1 } });
    const a = await start('a', opts);
    await eventually('a leads', () => a.m.isLeader());
    const b = await start('b', opts);
    await eventually('b synced', () => b.m.ready());
    const realNow = Date.now.bind(Date);
    const jump = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 3_600_000);
    try {
      await new Promise((r) => setTimeout(r, 5_000)); // more than a lease duration of retries
      expect(a.m.isLeader()).toBe(true);
      expect(b.m.isLeader()).toBe(false);
      expect(a.fatal).toEqual([]);
      expect(b.fatal).toEqual([]);
    } finally {
      jump.mockRestore();
    }
  }, 30_000);
});

describe('controller', () => {
  const noLe = (o: Partial<ManagerOptions> = {}) => options('unused', { leaderElection: { enabled: false, leaseName: 'x', leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 }, ...o });

  it('requeues, retries with backoff, honours throttling and stops retrying terminal errors until the object changes', async () => {
    const prefix = `c${randomBytes(2).toString('hex')}`;
    const r = await start('solo', noLe({ maxRequeueSeconds: 2 }), async (req, n) => {
      const name = req.name.slice(prefix.length + 1);
      if (name === 'requeue') return { requeueAfterMs: 500 };
      if (name === 'flaky' && n <= 3) throw new Error('boom');
      if (name === 'throttled' && n === 1) throw throttled('slow down', 1500);
      if (name === 'terminal') throw terminal('InvalidSpec', 'fix me');
      return {};
    });
    await eventually('synced', () => r.m.ready());
    for (const n of ['requeue', 'flaky', 'throttled', 'terminal', 'plain']) await createCm(`${prefix}-${n}`);
    const c = (n: string) => r.reconciler.count(`${prefix}-${n}`);
    const times = (n: string) => r.reconciler.calls.filter((x) => x.key === `${ns}/${prefix}-${n}`).map((x) => x.at);

    await eventually('requeued 3 times', () => c('requeue') >= 3, 10_000);
    await eventually('flaky succeeded', () => c('flaky') >= 4, 15_000);
    const f = times('flaky');
    const gaps = f.slice(1).map((t, i) => t - f[i]!);
    // 1 s, 2 s (capped at max_requeue_seconds=2), 2 s, with up to 20 % jitter below
    expect(gaps[0]).toBeGreaterThanOrEqual(750);
    expect(gaps[1]).toBeGreaterThanOrEqual(1550);
    await eventually('throttled retried', () => c('throttled') >= 2, 10_000);
    const t = times('throttled');
    expect(t[1]! - t[0]!).toBeGreaterThanOrEqual(1450);
    await new Promise((res) => setTimeout(res, 3000));
    expect(c('terminal')).toBe(1);
    expect(c('plain')).toBe(1);
    expect(c('flaky')).toBe(4);
    // A change of the object brings the terminal one back; a status-like change of nothing does not.
    await core.patchNamespacedConfigMap({ namespace: ns, name: `${prefix}-terminal`, body: [{ op: 'add', path: '/metadata/labels', value: { fixed: 'yes' } }] });
    await eventually('terminal re-run after the change', () => c('terminal') === 2, 10_000);
    const metrics = (await get(r.m, '/metrics')).text;
    expect(metrics).toMatch(/reconcile_errors_total\{kind="ConfigMap",error_kind="terminal"\} 2/);
    expect(metrics).toMatch(/reconcile_errors_total\{kind="ConfigMap",error_kind="throttled"\} 1/);
    expect(metrics).toMatch(/reconcile_errors_total\{kind="ConfigMap",error_kind="retryable"\} 3/);
    await r.m.stop();
  });

  it('extra watches: a labelled Secret owned by an object re-queues its owner; unlabelled Secrets are not even cached', async () => {
    const owner = `own-${randomBytes(2).toString('hex')}`;
    const reconciler = new RecordingReconciler('w');
    const m = await startManager({
      kubeConfig: kc,
      logger: silentLogger,
      options: noLe(),
      reconcilers: [reconciler],
      resources: { ConfigMap: CONFIGMAP_RESOURCE },
      watches: [{ kind: 'ConfigMap', resource: SECRET_RESOURCE, labelSelector: 'watch-test=yes', map: ownerRequests('ConfigMap') }],
    });
    running.push(m);
    await eventually('ready', () => m.ready());
    const cmObj = await createCm(owner);
    await eventually('owner reconciled', () => reconciler.count(owner) === 1);
    const ownerRef = { apiVersion: 'v1', kind: 'ConfigMap', name: owner, uid: cmObj.metadata!.uid! };
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: `${owner}-plain`, ownerReferences: [ownerRef] }, stringData: { a: 'b' } } });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: `${owner}-watched`, labels: { 'watch-test': 'yes' }, ownerReferences: [ownerRef] }, stringData: { a: 'b' } } });
    await eventually('owner re-queued by its Secret', () => reconciler.count(owner) === 2, 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(reconciler.count(owner)).toBe(2);
    const secrets = [...m.informers.entries()].find(([k]) => k.startsWith('secrets'))![1];
    expect(secrets.list().map((o) => o.metadata?.name)).toEqual([`${owner}-watched`]);
    await m.stop();
  });

  it('fails to start, with nothing left running, when the health port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startManager({ kubeConfig: kc, logger: silentLogger, options: noLe({ healthPort: port }), reconcilers: [new RecordingReconciler('x')], resources: { ConfigMap: CONFIGMAP_RESOURCE } })).rejects.toThrow(
        `health port ${port} is already in use`,
      );
    } finally {
      blocker.close();
    }
  });

  it('is not ready before its informers synced, and not after stop', async () => {
    const r = await start('ready', noLe());
    await eventually('ready', () => r.m.ready());
    expect((await get(r.m, '/readyz')).status).toBe(200);
    const verbose = await get(r.m, '/readyz?verbose');
    expect(verbose.text).toContain('[+]informers ok');
    await r.m.stop();
    expect(r.m.ready()).toBe(false);
    await expect(get(r.m, '/healthz')).rejects.toThrow();
  });
});

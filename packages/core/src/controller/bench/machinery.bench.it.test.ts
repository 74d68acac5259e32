/**
 * Benchmark of the controller machinery (`pnpm --filter @hybridcloud-postgresql/core run bench`;
 * skipped unless HC_BENCH=1). Prints numbers, asserts nothing about speed:
 *   1. WorkQueue: keys/s through de-duplication and dispatch with a no-op reconcile;
 *   2. Informer on the real apiserver: initial sync of N objects, heap per cached object,
 *      event latency (create → handler) p50/p99;
 *   3. Controller: create → reconcile latency through informer + queue.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { expect, it } from 'vitest';
import { createTestNamespace, useControlPlane } from '@hybridcloud-postgresql/testenv';
import { KubeClient } from '../../kube/client.js';
import { CONFIGMAP_RESOURCE } from '../../kube/resource.js';
import { silentLogger } from '../../observability/logger.js';
import { Controller } from '../controller.js';
import { createResourceInformer } from '../informerFactory.js';
import { WorkQueue } from '../workQueue.js';

const enabled = process.env['HC_BENCH'] === '1';
const N = Number(process.env['HC_BENCH_OBJECTS'] ?? 1000);
const QUEUE_KEYS = 200_000;

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const mib = (b: number) => (b / 1024 / 1024).toFixed(1);

async function parallel<T>(items: T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

it.skipIf(!enabled)('WorkQueue throughput', async () => {
  let done = 0;
  const q = new WorkQueue({ concurrency: 4, process: async () => (done++, { kind: 'done' }) });
  q.start();
  const t0 = performance.now();
  for (let i = 0; i < QUEUE_KEYS; i++) {
    q.add(`ns/k${i % 50_000}`); // every key added 4 times: de-duplicated or coalesced
  }
  await q.whenIdle();
  const s = (performance.now() - t0) / 1000;
  console.log(`[bench] WorkQueue: ${QUEUE_KEYS} adds of 50000 keys → ${done} reconciles in ${s.toFixed(2)} s (${Math.round(QUEUE_KEYS / s)} adds/s)`);
  expect(done).toBeGreaterThanOrEqual(50_000);
}, 120_000);

it.skipIf(!enabled)(`Informer and controller on the real apiserver (${N} ConfigMaps)`, async () => {
  const cp = await useControlPlane();
  const kc = cp.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const ns = await createTestNamespace(cp, 'bench-informer');
  const payload = randomBytes(300).toString('base64'); // ~400 B of data, like a small CR spec
  const t0 = performance.now();
  await parallel([...Array(N).keys()], 32, (i) => core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `cm-${i}`, labels: { bench: 'yes' } }, data: { v: payload } } }));
  console.log(`[bench] created ${N} ConfigMaps in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const inf = createResourceInformer<V1ConfigMap>(kc, new KubeClient(kc), CONFIGMAP_RESOURCE, { name: 'bench', namespaces: [ns], log: silentLogger });
  const seen = new Map<string, number>();
  inf.addHandlers({ onAdd: (o) => seen.set(o.metadata!.name!, performance.now()) });
  const t1 = performance.now();
  inf.start();
  await inf.waitForSync(120_000);
  const syncMs = performance.now() - t1;
  global.gc?.();
  const heap1 = process.memoryUsage().heapUsed;
  console.log(`[bench] informer initial sync of ${N} objects: ${syncMs.toFixed(0)} ms; heap +${mib(heap1 - heap0)} MiB (${((heap1 - heap0) / N / 1024).toFixed(2)} KiB/object${global.gc ? '' : ', no --expose-gc: rough'})`);

  // event latency: create one object at a time, time until the add handler saw it
  const lat: number[] = [];
  for (let i = 0; i < 200; i++) {
    const name = `late-${i}`;
    const start = performance.now();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { v: '1' } } });
    while (!seen.has(name)) await new Promise((r) => setImmediate(r));
    lat.push(seen.get(name)! - start);
  }
  console.log(`[bench] informer event latency (create → handler, incl. the create call): p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms`);

  // create → reconcile through informer + queue (no rate limit, concurrency 4)
  const reconciled = new Map<string, number>();
  const c = new Controller<V1ConfigMap>({
    informer: inf,
    reconciler: { kind: 'ConfigMap', reconcile: async (req) => (reconciled.set(req.name, performance.now()), {}) },
    log: silentLogger,
    concurrency: 4,
    backoff: { baseMs: 1000, maxMs: 300_000, jitter: 0.2 },
    resyncMs: 3_600_000,
    handlerOnResume: true,
  });
  const t2 = performance.now();
  c.start();
  const deadline = Date.now() + 120_000;
  while (reconciled.size < N + 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(reconciled.size).toBe(N + 200);
  console.log(`[bench] controller: ${N + 200} cached objects reconciled (no-op) in ${(performance.now() - t2).toFixed(0)} ms`);
  const lat2: number[] = [];
  for (let i = 0; i < 100; i++) {
    const name = `rec-${i}`;
    const start = performance.now();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { v: '1' } } });
    while (!reconciled.has(name)) await new Promise((r) => setImmediate(r));
    lat2.push(reconciled.get(name)! - start);
  }
  console.log(`[bench] controller latency (create → reconcile start): p50 ${pct(lat2, 50).toFixed(1)} ms, p99 ${pct(lat2, 99).toFixed(1)} ms`);
  await c.stop();
  await inf.stop();
  expect(inf.restarts).toBe(0);
}, 600_000);

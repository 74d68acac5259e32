/**
 * Controller logic under a fake clock with an in-memory ObjectInformer (our own interface): which
 * events enqueue, handler_on_resume, resync, mapped watches, result and error handling.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { retryable, terminal, throttled } from '../backend/errors.js';
import { silentLogger } from '../observability/logger.js';
import { Controller, isSettled, meaningfulChange, ownerRequests } from './controller.js';
import { currentReconcileSignal } from './reconcileContext.js';
import { FakeTimers, flush } from './fakeTimers.js';
import type { InformerHandlers, ObjectInformer } from './informer.js';
import type { ReconcileRequest, ReconcileResult } from './reconciler.js';

type Obj = KubernetesObject & { status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] } };

class MemoryInformer implements ObjectInformer<Obj> {
  readonly name = 'mem';
  readonly restarts = 0;
  private handlers: InformerHandlers<Obj>[] = [];
  private objs = new Map<string, Obj>();
  addHandlers(h: InformerHandlers<Obj>) {
    this.handlers.push(h);
    return () => void (this.handlers = this.handlers.filter((x) => x !== h));
  }
  get(ns: string, name: string) {
    return this.objs.get(`${ns}/${name}`);
  }
  list(ns?: string) {
    return [...this.objs.values()].filter((o) => ns === undefined || o.metadata?.namespace === ns);
  }
  hasSynced() {
    return true;
  }
  async waitForSync() {
    return true;
  }
  start() {}
  async stop() {}
  put(o: Obj) {
    const k = `${o.metadata!.namespace}/${o.metadata!.name}`;
    const prev = this.objs.get(k);
    this.objs.set(k, o);
    for (const h of this.handlers) {
      if (prev) h.onUpdate?.(prev, o);
      else h.onAdd?.(o);
    }
  }
  remove(ns: string, name: string) {
    const o = this.objs.get(`${ns}/${name}`)!;
    this.objs.delete(`${ns}/${name}`);
    for (const h of this.handlers) h.onDelete?.(o);
  }
}

const obj = (name: string, o: { gen?: number; observed?: number; ready?: boolean; labels?: Record<string, string>; rv?: string; deleting?: boolean } = {}): Obj => ({
  metadata: { name, namespace: 'ns', generation: o.gen ?? 1, resourceVersion: o.rv ?? '1', ...(o.labels ? { labels: o.labels } : {}), ...(o.deleting ? { deletionTimestamp: new Date() } : {}) },
  status: { ...(o.observed !== undefined ? { observedGeneration: o.observed } : {}), conditions: o.ready === undefined ? [] : [{ type: 'Ready', status: o.ready ? 'True' : 'False' }] },
});

function setup(o: { handlerOnResume?: boolean; behaviour?: (req: ReconcileRequest, n: number) => Promise<ReconcileResult>; resyncMs?: number; watches?: boolean; ownWrite?: (obj: KubernetesObject, deleted: boolean) => boolean } = {}) {
  const t = new FakeTimers();
  const inf = new MemoryInformer();
  const other = new MemoryInformer();
  const calls: { name: string; at: number }[] = [];
  const counts = new Map<string, number>();
  const c = new Controller<Obj>({
    informer: inf,
    reconciler: {
      kind: 'Thing',
      reconcile: async (req) => {
        const n = (counts.get(req.name) ?? 0) + 1;
        counts.set(req.name, n);
        calls.push({ name: req.name, at: t.now() });
        return (o.behaviour ?? (async () => ({})))(req, n);
      },
    },
    log: silentLogger,
    concurrency: 2,
    backoff: { baseMs: 1000, maxMs: 60_000, jitter: 0 },
    resyncMs: o.resyncMs ?? 300_000,
    handlerOnResume: o.handlerOnResume ?? true,
    timers: t,
    ...(o.watches ? { watches: [{ informer: other as ObjectInformer<KubernetesObject>, map: (x: KubernetesObject) => [{ namespace: 'ns', name: `for-${x.metadata!.name}` }], ...(o.ownWrite ? { ownWrite: o.ownWrite } : {}) }] } : {}),
    ...(o.ownWrite ? { ownWrite: (x: Obj) => o.ownWrite!(x, false) } : {}),
  });
  const t0 = t.now();
  return { t, inf, other, c, calls, names: () => calls.map((x) => x.name), at: (name: string) => calls.filter((x) => x.name === name).map((x) => x.at - t0) };
}

describe('Controller', () => {
  it('echoes of our own writes (ownWrite) queue nothing, on the own kind and on mapped watches; other changes do', async () => {
    const ours = new Set(['7']);
    const s = setup({ watches: true, ownWrite: (x, deleted) => deleted ? x.metadata!.name === 'gone-by-us' : ours.has(x.metadata!.resourceVersion!) });
    s.inf.put(obj('a'));
    s.inf.put(obj('for-sec'));
    s.inf.put(obj('for-gone-by-us'));
    s.c.start();
    await flush();
    s.calls.length = 0;
    s.other.put(obj('sec', { rv: '7' })); // a Secret we wrote
    s.other.put(obj('gone-by-us', { rv: '3' })); // someone else's
    await flush();
    expect(s.names().sort()).toEqual(['for-gone-by-us']);
    s.calls.length = 0;
    s.inf.put(obj('a', { labels: { finalizer: 'x' }, rv: '7' })); // our finalizer patch
    s.other.remove('ns', 'gone-by-us');
    await flush();
    expect(s.names()).toEqual([]);
    s.inf.put(obj('a', { labels: { finalizer: 'x', team: 'y' }, rv: '8' })); // someone else's
    s.other.put(obj('sec', { rv: '9' }));
    await flush();
    expect(s.names().sort()).toEqual(['a', 'for-sec']);
  });

  it('reconciles every existing object at start (handler_on_resume: true)', async () => {
    const s = setup();
    s.inf.put(obj('settled', { observed: 1, ready: true }));
    s.inf.put(obj('new'));
    s.c.start();
    await flush();
    expect(s.names().sort()).toEqual(['new', 'settled']);
  });

  it('reconciles objects cached before it subscribed (level-based start)', async () => {
    const s = setup();
    const late = new Controller<Obj>({
      informer: s.inf,
      reconciler: { kind: 'Late', reconcile: async (req) => (s.calls.push({ name: `late:${req.name}`, at: s.t.now() }), {}) },
      log: silentLogger,
      concurrency: 1,
      backoff: { baseMs: 1000, maxMs: 60_000, jitter: 0 },
      resyncMs: 300_000,
      handlerOnResume: true,
      timers: s.t,
    });
    s.inf.put(obj('a'));
    late.start();
    await flush();
    expect(s.names()).toEqual(['late:a']);
  });

  it('handler_on_resume: false → settled objects wait for their first resync (spread), others run at once', async () => {
    const s = setup({ handlerOnResume: false });
    s.inf.put(obj('settled', { observed: 1, ready: true }));
    s.inf.put(obj('stale-generation', { gen: 2, observed: 1, ready: true }));
    s.inf.put(obj('not-ready', { observed: 1, ready: false }));
    s.inf.put(obj('deleting', { observed: 1, ready: true, deleting: true }));
    s.c.start();
    await flush();
    expect(s.names().sort()).toEqual(['deleting', 'not-ready', 'stale-generation']);
    await s.t.advance(60_000); // spread = 20 % of 300 s
    expect(s.names()).toContain('settled');
    expect(s.at('settled')[0]).toBeLessThanOrEqual(60_000);
  });

  it('handler_on_resume: false on a standby that becomes leader later: settled objects are spread from then on', async () => {
    const s = setup({ handlerOnResume: false });
    s.inf.put(obj('settled', { observed: 1, ready: true }));
    s.inf.put(obj('new'));
    await s.t.advance(3_600_000); // a long time as standby
    expect(s.names()).toEqual([]);
    s.c.start();
    await flush();
    expect(s.names()).toEqual(['new']);
    await s.t.advance(60_000);
    expect(s.names()).toEqual(['new', 'settled']);
    expect(s.at('settled')[0]).toBeGreaterThanOrEqual(3_600_000);
  });

  it('enqueues updates that matter (generation, labels, deletion) and ignores status-only ones', async () => {
    const s = setup();
    s.c.start();
    s.inf.put(obj('a'));
    await flush();
    s.inf.put({ ...obj('a', { rv: '2', observed: 1, ready: true }) }); // status only
    await flush();
    expect(s.names()).toEqual(['a']);
    s.inf.put(obj('a', { rv: '3', labels: { 'operator/action': 'reset-password' } }));
    await flush();
    s.inf.put(obj('a', { rv: '4', gen: 2, labels: { 'operator/action': 'reset-password' } }));
    await flush();
    expect(s.names()).toEqual(['a', 'a', 'a']);
  });

  it('skips keys whose object is gone (deleted meanwhile)', async () => {
    const s = setup({ behaviour: async () => ({ requeueAfterMs: 1000 }) });
    s.c.start();
    s.inf.put(obj('a'));
    await flush();
    s.inf.remove('ns', 'a');
    await s.t.advance(5000);
    expect(s.names()).toEqual(['a']);
  });

  it('requeueAfterMs, retryable backoff, throttled retryAfterMs, terminal: no retry', async () => {
    const s = setup({
      behaviour: async (req, n) => {
        if (req.name === 'poll') return n < 3 ? { requeueAfterMs: 10_000 } : {};
        if (req.name === 'flaky' && n < 4) throw retryable('network');
        if (req.name === 'slow' && n === 1) throw throttled('429', 30_000);
        if (req.name === 'bad') throw terminal('InvalidSpec', 'fix it');
        if (req.name === 'bug' && n === 1) throw new TypeError('undefined is not a function');
        return {};
      },
    });
    s.c.start();
    for (const n of ['poll', 'flaky', 'slow', 'bad', 'bug']) s.inf.put(obj(n));
    await s.t.advance(100_000);
    expect(s.at('poll')).toEqual([0, 10_000, 20_000]);
    expect(s.at('flaky')).toEqual([0, 1000, 3000, 7000]);
    expect(s.at('slow')).toEqual([0, 30_000]);
    expect(s.at('bad')).toEqual([0]);
    expect(s.at('bug')).toEqual([0, 1000]); // any other error is retryable
  });

  it('resync queues every cached object again, except those already scheduled', async () => {
    const s = setup({ resyncMs: 100_000, behaviour: async (req) => (req.name === 'self' ? { requeueAfterMs: 100_000 } : {}) });
    s.inf.put(obj('a'));
    s.inf.put(obj('self'));
    s.c.start();
    await s.t.advance(300_000);
    // a: reconciled at start and at each resync (~every 100 s ± 10 %, spread ≤ 20 s)
    expect(s.at('a').length).toBeGreaterThanOrEqual(3);
    expect(s.at('a').length).toBeLessThanOrEqual(4);
    // self requeues itself every 100 s; resync doesn't add extra runs
    expect(s.at('self')).toEqual([0, 100_000, 200_000, 300_000]);
  });

  it('maps events of another kind to keys of this one', async () => {
    const s = setup({ watches: true });
    s.inf.put(obj('for-srv'));
    s.c.start();
    await flush();
    expect(s.names()).toEqual(['for-srv']);
    s.other.put(obj('srv', { rv: '1' }));
    await flush();
    s.other.put(obj('srv', { rv: '2', observed: 1, ready: true })); // status change of the other kind counts
    await flush();
    expect(s.names()).toEqual(['for-srv', 'for-srv', 'for-srv']);
  });

  it('stop() waits for running reconciles and ends the resync', async () => {
    let release!: () => void;
    const s = setup({ behaviour: () => new Promise((r) => (release = () => r({}))) });
    s.inf.put(obj('a'));
    s.c.start();
    await flush();
    let stopped: boolean | undefined;
    void s.c.stop(5000).then((v) => (stopped = v));
    await flush();
    expect(stopped).toBeUndefined();
    release();
    await flush();
    expect(stopped).toBe(true);
    s.inf.put(obj('b'));
    await s.t.advance(1_000_000);
    expect(s.names()).toEqual(['a']);
  });
});

describe('slow reconciles', () => {
  it('are logged once they pass slowReconcileMs, and keep their worker', async () => {
    const t = new FakeTimers();
    const inf = new MemoryInformer();
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (_o: unknown, msg: string) => void warnings.push(msg) } as unknown as typeof silentLogger;
    let release!: () => void;
    const c = new Controller<Obj>({
      informer: inf,
      reconciler: { kind: 'Thing', reconcile: () => new Promise((r) => (release = () => r({}))) },
      log,
      concurrency: 1,
      backoff: { baseMs: 1000, maxMs: 60_000, jitter: 0 },
      resyncMs: 3_600_000,
      handlerOnResume: true,
      timers: t,
      slowReconcileMs: 30_000,
    });
    inf.put(obj('a'));
    c.start();
    await t.advance(29_000);
    expect(warnings).toEqual([]);
    await t.advance(2_000);
    expect(warnings).toEqual(['reconcile is taking long; its worker stays busy']);
    expect(c.queue.inFlight).toBe(1);
    release();
    await flush();
    expect(c.queue.inFlight).toBe(0);
  });
});

describe('reconcile deadline', () => {
  it('cancels a reconcile that hangs past its deadline: its signal aborts, the worker is freed, the key retried', async () => {
    const t = new FakeTimers();
    const inf = new MemoryInformer();
    let calls = 0;
    const seen: string[] = [];
    const c = new Controller<Obj>({
      informer: inf,
      // A hung backend call that honours its signal, as the SDKs do with abortSignal.
      reconciler: {
        kind: 'Thing',
        reconcile: () => {
          calls++;
          const signal = currentReconcileSignal();
          return new Promise((_, reject) => signal?.addEventListener('abort', () => { seen.push(String((signal.reason as Error).message)); reject(signal.reason); }, { once: true }));
        },
      },
      log: silentLogger,
      concurrency: 1,
      backoff: { baseMs: 1000, maxMs: 60_000, jitter: 0 },
      resyncMs: 3_600_000,
      handlerOnResume: true,
      timers: t,
      reconcileTimeoutMs: 120_000,
    });
    inf.put(obj('a'));
    c.start();
    await t.advance(119_000);
    expect(seen).toEqual([]);
    expect(c.queue.inFlight).toBe(1);
    await t.advance(1_500);
    expect(seen).toEqual(['reconcile of Thing ns/a exceeded its deadline of 120 s']);
    await flush();
    expect(c.queue.inFlight).toBe(0);
    expect(calls).toBe(1);
    await t.advance(1_000); // backoff
    expect(calls).toBe(2);
  });
});

describe('predicates', () => {
  it('isSettled', () => {
    expect(isSettled(obj('a', { observed: 1, ready: true }))).toBe(true);
    expect(isSettled(obj('a', { gen: 2, observed: 1, ready: true }))).toBe(false);
    expect(isSettled(obj('a', { observed: 1, ready: false }))).toBe(false);
    expect(isSettled(obj('a', { observed: 1, ready: true, deleting: true }))).toBe(false);
  });
  it('meaningfulChange', () => {
    expect(meaningfulChange(obj('a'), obj('a', { rv: '2', ready: true }))).toBe(false);
    expect(meaningfulChange(obj('a'), obj('a', { gen: 2 }))).toBe(true);
    expect(meaningfulChange(obj('a'), obj('a', { labels: { x: 'y' } }))).toBe(true);
    const secret = (rv: string): KubernetesObject => ({ metadata: { name: 's', resourceVersion: rv } });
    expect(meaningfulChange(secret('1'), secret('2'))).toBe(true); // kinds without generation
  });
  it('ownerRequests', () => {
    const s: KubernetesObject = { metadata: { name: 's', namespace: 'ns', ownerReferences: [{ apiVersion: 'v', kind: 'PostgreSQLDatabase', name: 'db', uid: 'u' }, { apiVersion: 'v', kind: 'Other', name: 'x', uid: 'v' }] } };
    expect(ownerRequests('PostgreSQLDatabase')(s)).toEqual([{ namespace: 'ns', name: 'db' }]);
  });
});

import { describe, expect, it } from 'vitest';
import { backoffDelay, KeyedBackoff } from './backoff.js';
import { FakeTimers, flush } from './fakeTimers.js';
import { TokenBucket } from './rateLimiter.js';
import { WorkQueue, type WorkOutcome } from './workQueue.js';

/** A process function whose runs the test finishes by hand. */
function controllable() {
  const runs: { key: string; at: number; finish: (o?: WorkOutcome) => void; fail: (e: unknown) => void }[] = [];
  let active = 0;
  let maxActive = 0;
  const perKeyActive = new Map<string, number>();
  let overlap = false;
  return {
    runs,
    get maxActive() {
      return maxActive;
    },
    get overlap() {
      return overlap;
    },
    keys: () => runs.map((r) => r.key),
    process: (timers: FakeTimers) => (key: string) =>
      new Promise<WorkOutcome>((resolve, reject) => {
        active++;
        maxActive = Math.max(maxActive, active);
        const k = (perKeyActive.get(key) ?? 0) + 1;
        perKeyActive.set(key, k);
        if (k > 1) overlap = true;
        const end = () => {
          active--;
          perKeyActive.set(key, (perKeyActive.get(key) ?? 1) - 1);
        };
        runs.push({
          key,
          at: timers.now(),
          finish: (o = { kind: 'done' }) => (end(), resolve(o)),
          fail: (e) => (end(), reject(e)),
        });
      }),
  };
}

/** A process function that finishes every run immediately with the outcomes given per key. */
function immediate(timers: FakeTimers, outcome: (key: string, n: number) => WorkOutcome) {
  const log: { key: string; at: number }[] = [];
  const counts = new Map<string, number>();
  return {
    log,
    process: async (key: string) => {
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      log.push({ key, at: timers.now() });
      return outcome(key, n);
    },
  };
}

const noJitter = { baseMs: 1000, maxMs: 300_000, jitter: 0 };

describe('backoff', () => {
  it('doubles from the base up to the cap', () => {
    const d = [1, 2, 3, 4, 5, 9, 10, 60].map((n) => backoffDelay(n, { baseMs: 1000, maxMs: 300_000, jitter: 0 }));
    expect(d).toEqual([1000, 2000, 4000, 8000, 16000, 256000, 300000, 300000]);
  });

  it('jitter stays within [d·(1-j), d]', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const v = backoffDelay(4, { baseMs: 1000, maxMs: 300_000, jitter: 0.2 });
      expect(v).toBeGreaterThanOrEqual(6400);
      expect(v).toBeLessThanOrEqual(8000);
      seen.add(v);
    }
    expect(seen.size).toBeGreaterThan(10); // it actually varies
    expect(backoffDelay(1, { ...noJitter, jitter: 0.5, random: () => 1 })).toBe(500);
  });

  it('forget resets a key', () => {
    const b = new KeyedBackoff(noJitter);
    expect([b.next('a'), b.next('a'), b.next('b'), b.next('a')]).toEqual([1000, 2000, 1000, 4000]);
    b.forget('a');
    expect(b.next('a')).toBe(1000);
  });
});

describe('TokenBucket', () => {
  it("allows a burst, then the steady rate", async () => {
    const t = new FakeTimers();
    const b = new TokenBucket(10, 5, t);
    let taken = 0;
    while (b.tryTake()) taken++;
    expect(taken).toBe(5);
    expect(b.waitMs()).toBe(100);
    await t.advance(100);
    expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
  });
});

describe('WorkQueue', () => {
  it('de-duplicates keys that wait', async () => {
    const t = new FakeTimers();
    const p = immediate(t, () => ({ kind: 'done' }));
    const q = new WorkQueue({ concurrency: 2, process: p.process, timers: t });
    for (let i = 0; i < 5; i++) {
      q.add('a');
      q.add('b');
    }
    expect(q.depth).toBe(2);
    q.start();
    await q.whenIdle();
    expect(p.log.map((l) => l.key)).toEqual(['a', 'b']);
  });

  it('never runs one key twice at once; adds during a run coalesce into one re-run', async () => {
    const t = new FakeTimers();
    const c = controllable();
    const q = new WorkQueue({ concurrency: 4, process: c.process(t), timers: t });
    q.start();
    q.add('a');
    await flush();
    expect(c.keys()).toEqual(['a']);
    q.add('a');
    q.add('a');
    q.add('a');
    await flush();
    expect(c.keys()).toEqual(['a']); // still the first run
    c.runs[0]!.finish();
    await flush();
    expect(c.keys()).toEqual(['a', 'a']);
    c.runs[1]!.finish();
    await q.whenIdle();
    expect(c.keys()).toEqual(['a', 'a']);
    expect(c.overlap).toBe(false);
  });

  it('bounds concurrency', async () => {
    const t = new FakeTimers();
    const c = controllable();
    const q = new WorkQueue({ concurrency: 3, process: c.process(t), timers: t });
    q.start();
    for (let i = 0; i < 10; i++) q.add(`k${i}`);
    await flush();
    expect(c.runs.length).toBe(3);
    while (c.runs.some((r) => r)) {
      const open = c.runs.length;
      for (const r of c.runs.splice(0)) r.finish();
      await flush();
      if (open === 0) break;
      if (c.runs.length === 0) break;
    }
    await q.whenIdle();
    expect(c.maxActive).toBe(3);
  });

  it('retries failures with exponential backoff and forgets on success', async () => {
    const t = new FakeTimers();
    // fails 4 times, then succeeds
    const p = immediate(t, (_k, n) => (n <= 4 ? { kind: 'retry' } : { kind: 'done' }));
    const q = new WorkQueue({ concurrency: 1, process: p.process, timers: t, backoff: noJitter });
    q.start();
    const t0 = t.now();
    q.add('a');
    await t.advance(60_000);
    expect(p.log.map((l) => l.at - t0)).toEqual([0, 1000, 3000, 7000, 15000]);
    expect(q.failures('a')).toBe(0);
    // after success, a new failure starts at the base delay again
  });

  it('a thrown error counts as a retry', async () => {
    const t = new FakeTimers();
    let n = 0;
    const errors: unknown[] = [];
    const q = new WorkQueue({
      concurrency: 1,
      timers: t,
      backoff: noJitter,
      onUnexpectedError: (_k, e) => errors.push(e),
      process: async () => {
        if (n++ === 0) throw new Error('boom');
        return { kind: 'done' };
      },
    });
    q.start();
    q.add('a');
    await t.advance(999);
    expect(n).toBe(1);
    await t.advance(1);
    expect(n).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it('honours retry afterMs (throttling) and caps backoff at maxMs', async () => {
    const t = new FakeTimers();
    const p = immediate(t, (_k, n) => (n === 1 ? { kind: 'retry', afterMs: 42_000 } : n < 12 ? { kind: 'retry' } : { kind: 'done' }));
    const q = new WorkQueue({ concurrency: 1, process: p.process, timers: t, backoff: { baseMs: 1000, maxMs: 10_000, jitter: 0 } });
    q.start();
    q.add('a');
    await t.advance(200_000);
    const gaps = p.log.slice(1).map((l, i) => l.at - p.log[i]!.at);
    expect(gaps[0]).toBe(42_000);
    expect(gaps.slice(1)).toEqual([2000, 4000, 8000, 10000, 10000, 10000, 10000, 10000, 10000, 10000]);
  });

  it("a throttled key waits for its Retry-After even when events add it meanwhile (its own writes during the run included)", async () => {
    const t = new FakeTimers();
    const c = controllable();
    const q = new WorkQueue({ concurrency: 1, process: c.process(t), timers: t, backoff: noJitter });
    q.start();
    q.add('a');
    await flush();
    q.add('a'); // the run's own finalizer patch comes back as a watch event while it runs
    c.runs[0]!.finish({ kind: 'retry', afterMs: 5_000 });
    await t.advance(1_000);
    q.add('a'); // and another event a second later
    await t.advance(3_900);
    expect(c.runs).toHaveLength(1);
    await t.advance(200);
    expect(c.runs).toHaveLength(2);
    expect(c.runs[1]!.at - c.runs[0]!.at).toBe(5_000);
    // Once it ran, events are immediate again.
    c.runs[1]!.finish();
    await flush();
    q.add('a');
    await flush();
    expect(c.runs).toHaveLength(3);
  });

  it('drop forgets the key: no retry until it is added again', async () => {
    const t = new FakeTimers();
    const p = immediate(t, () => ({ kind: 'drop' }));
    const q = new WorkQueue({ concurrency: 1, process: p.process, timers: t });
    q.start();
    q.add('a');
    await t.advance(3_600_000);
    expect(p.log).toHaveLength(1);
    q.add('a');
    await t.advance(1);
    expect(p.log).toHaveLength(2);
  });

  it('addAfter keeps the earliest due time; an immediate add wins over a pending delay', async () => {
    const t = new FakeTimers();
    const p = immediate(t, () => ({ kind: 'done' }));
    const q = new WorkQueue({ concurrency: 1, process: p.process, timers: t });
    q.start();
    const t0 = t.now();
    q.addAfter('a', 10_000);
    q.addAfter('a', 5_000);
    q.addAfter('a', 20_000);
    expect(q.waiting).toBe(1);
    await t.advance(30_000);
    expect(p.log.map((l) => l.at - t0)).toEqual([5000]);
    q.addAfter('b', 10_000);
    q.add('b');
    await t.advance(30_000);
    expect(p.log.filter((l) => l.key === 'b').map((l) => l.at - t0)).toEqual([30_000]);
  });

  it('requeueAfter schedules the next run', async () => {
    const t = new FakeTimers();
    const p = immediate(t, () => ({ kind: 'requeueAfter', ms: 300_000 }));
    const q = new WorkQueue({ concurrency: 1, process: p.process, timers: t });
    q.start();
    const t0 = t.now();
    q.add('a');
    await t.advance(1_000_000);
    expect(p.log.map((l) => l.at - t0)).toEqual([0, 300_000, 600_000, 900_000]);
  });

  it('an add during a run that then fails re-runs at once (new information beats backoff)', async () => {
    const t = new FakeTimers();
    const c = controllable();
    const q = new WorkQueue({ concurrency: 1, process: c.process(t), timers: t, backoff: noJitter });
    q.start();
    q.add('a');
    await flush();
    q.add('a');
    c.runs[0]!.finish({ kind: 'retry' });
    await flush();
    expect(c.runs).toHaveLength(2);
  });

  it('starts at most rate×time + burst runs', async () => {
    const t = new FakeTimers();
    const p = immediate(t, () => ({ kind: 'done' }));
    const q = new WorkQueue({ concurrency: 50, process: p.process, timers: t, rateLimiter: new TokenBucket(20, 10, t) });
    q.start();
    const t0 = t.now();
    for (let i = 0; i < 100; i++) q.add(`k${i}`);
    await t.advance(2000);
    expect(p.log.length).toBe(10 + 40);
    await t.advance(2500);
    expect(p.log.length).toBe(100);
    // the last run started at ~ (100-10)/20 s
    expect(p.log.at(-1)!.at - t0).toBe(4500);
  });

  it('one bucket is shared by two queues', async () => {
    const t = new FakeTimers();
    const bucket = new TokenBucket(10, 1, t);
    const p1 = immediate(t, () => ({ kind: 'done' }));
    const p2 = immediate(t, () => ({ kind: 'done' }));
    const q1 = new WorkQueue({ concurrency: 5, process: p1.process, timers: t, rateLimiter: bucket });
    const q2 = new WorkQueue({ concurrency: 5, process: p2.process, timers: t, rateLimiter: bucket });
    q1.start();
    q2.start();
    for (let i = 0; i < 20; i++) {
      q1.add(`a${i}`);
      q2.add(`b${i}`);
    }
    await t.advance(1000);
    expect(p1.log.length + p2.log.length).toBe(11);
  });

  it('shutDown waits for runs in flight, drops waiting keys, and honours its deadline', async () => {
    const t = new FakeTimers();
    const c = controllable();
    const q = new WorkQueue({ concurrency: 1, process: c.process(t), timers: t });
    q.start();
    q.add('a');
    q.add('b');
    q.addAfter('c', 1000);
    await flush();
    let result: boolean | undefined;
    void q.shutDown(5000).then((r) => (result = r));
    await flush();
    expect(result).toBeUndefined();
    c.runs[0]!.finish();
    await flush();
    expect(result).toBe(true);
    await t.advance(10_000);
    expect(c.keys()).toEqual(['a']); // b and c never ran
    q.add('d');
    await flush();
    expect(c.keys()).toEqual(['a']);

    const q2 = new WorkQueue({ concurrency: 1, process: c.process(t), timers: t });
    q2.start();
    q2.add('x');
    await flush();
    let r2: boolean | undefined;
    void q2.shutDown(5000).then((r) => (r2 = r));
    await t.advance(4999);
    expect(r2).toBeUndefined();
    await t.advance(1);
    expect(r2).toBe(false);
  });

  it('keeps adds made before start()', async () => {
    const t = new FakeTimers();
    const p = immediate(t, () => ({ kind: 'done' }));
    const q = new WorkQueue({ concurrency: 1, process: p.process, timers: t });
    q.add('a');
    await flush();
    expect(p.log).toHaveLength(0);
    q.start();
    await q.whenIdle();
    expect(p.log).toHaveLength(1);
  });
});

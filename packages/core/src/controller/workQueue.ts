/**
 * A keyed work queue that also runs the workers (JavaScript has one thread, so the queue can own
 * dispatch instead of handing out items as client-go's does). Guarantees:
 *  - a key waits in the queue at most once (adds are de-duplicated);
 *  - a key is never processed by two workers at once; an add while it is processed marks it
 *    dirty, and it runs again right after the current run ends;
 *  - a failed key is retried after a per-key exponential backoff with jitter; success forgets it;
 *  - a delayed add (`addAfter`) keeps only the earliest due time per key;
 *  - a throttled key (`retry` with `afterMs`: the cloud's Retry-After) does not run before that
 *    time, whatever adds it meanwhile: our own writes during the failed run (finalizer, status)
 *    and other events would otherwise send the next call at once to a cloud that asked us to wait;
 *  - at most `concurrency` keys run at once, and every run takes a token from the (shared) bucket;
 *  - shutDown() stops dispatching, drops what is waiting and waits (with a deadline) for runs
 *    in flight.
 */
import { DEFAULT_BACKOFF, KeyedBackoff, type BackoffOptions } from './backoff.js';
import type { TokenBucket } from './rateLimiter.js';
import { realTimers, type TimerHandle, type Timers } from './timers.js';

export type WorkOutcome =
  /** Success: the key's backoff is forgotten. */
  | { kind: 'done' }
  /** Success, but look again later (polling, periodic resync). */
  | { kind: 'requeueAfter'; ms: number }
  /** Failure: retry after `afterMs` (throttling) or else the key's next backoff delay. */
  | { kind: 'retry'; afterMs?: number }
  /** Failure that retrying cannot fix: forget the key until something adds it again. */
  | { kind: 'drop' };

export interface WorkQueueOptions {
  concurrency: number;
  process: (key: string) => Promise<WorkOutcome>;
  timers?: Timers;
  backoff?: BackoffOptions;
  rateLimiter?: TokenBucket;
  /** process() threw instead of returning an outcome (a bug): the key is retried with backoff. */
  onUnexpectedError?: (key: string, err: unknown) => void;
}

/**
 * FIFO of unique keys. Not a Set iterated from the front: V8 leaves deleted entries in place, so
 * "take the first and delete it" on a Set is O(n) per call (minutes for 200k keys).
 */
class UniqueFifo {
  private items: string[] = [];
  private head = 0;
  private readonly members = new Set<string>();
  get size(): number {
    return this.members.size;
  }
  has(key: string): boolean {
    return this.members.has(key);
  }
  add(key: string): void {
    if (this.members.has(key)) return;
    this.members.add(key);
    this.items.push(key);
  }
  shift(): string | undefined {
    while (this.head < this.items.length) {
      const key = this.items[this.head++]!;
      if (this.members.delete(key)) {
        if (this.head > 1024 && this.head * 2 > this.items.length) {
          this.items = this.items.slice(this.head);
          this.head = 0;
        }
        return key;
      }
    }
    return undefined;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
    this.members.clear();
  }
}

export class WorkQueue {
  private readonly ready = new UniqueFifo();
  private readonly processing = new Set<string>();
  /** Keys added while processing → absolute time they should run again. */
  private readonly dirty = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; handle: TimerHandle }>();
  /** Throttled keys → the time before which they must not run (Retry-After). */
  private readonly holdUntil = new Map<string, number>();
  private readonly backoff: KeyedBackoff;
  private readonly timers: Timers;
  private wake: TimerHandle | undefined;
  private started = false;
  private shuttingDown = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: WorkQueueOptions) {
    if (!(options.concurrency >= 1)) throw new Error('concurrency must be >= 1');
    this.timers = options.timers ?? realTimers;
    this.backoff = new KeyedBackoff(options.backoff ?? DEFAULT_BACKOFF);
  }

  /** Keys ready to run now (not counting those in flight or waiting for a timer). */
  get depth(): number {
    return this.ready.size;
  }
  get inFlight(): number {
    return this.processing.size;
  }
  /** Keys waiting for a delayed add (backoff, requeueAfter). */
  get waiting(): number {
    return this.delayed.size;
  }
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }
  /** Whether the key is ready, running or waiting for a timer. */
  has(key: string): boolean {
    return this.ready.has(key) || this.processing.has(key) || this.delayed.has(key);
  }
  failures(key: string): number {
    return this.backoff.failuresOf(key);
  }

  /** Begins running keys (adds before start() are kept). */
  start(): void {
    this.started = true;
    this.dispatch();
  }

  add(key: string): void {
    this.addAfter(key, 0);
  }

  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    const hold = this.holdUntil.get(key);
    if (hold !== undefined) {
      const left = hold - this.timers.now();
      if (left > 0) ms = Math.max(ms, left);
      else this.holdUntil.delete(key);
    }
    const at = this.timers.now() + Math.max(0, ms);
    if (this.processing.has(key)) {
      const prev = this.dirty.get(key);
      if (prev === undefined || at < prev) this.dirty.set(key, at);
      return;
    }
    if (this.ready.has(key)) return;
    const pending = this.delayed.get(key);
    if (ms <= 0) {
      pending?.handle.cancel();
      this.delayed.delete(key);
      this.ready.add(key);
      this.dispatch();
      return;
    }
    if (pending && pending.at <= at) return;
    pending?.handle.cancel();
    const handle = this.timers.setTimeout(() => {
      if (this.delayed.get(key)?.handle !== handle) return;
      this.delayed.delete(key);
      this.addAfter(key, 0);
    }, ms);
    this.delayed.set(key, { at, handle });
  }

  /** Resets the key's backoff (the queue does this itself on success). */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  /** Resolves when nothing is ready or running (delayed keys don't count). For tests. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * Stops dispatching and drops waiting keys; resolves true when every run in flight finished
   * before the deadline, false otherwise (the runs are abandoned, not cancelled).
   */
  async shutDown(deadlineMs = 10_000): Promise<boolean> {
    this.shuttingDown = true;
    this.wake?.cancel();
    this.wake = undefined;
    for (const d of this.delayed.values()) d.handle.cancel();
    this.delayed.clear();
    this.ready.clear();
    this.dirty.clear();
    this.holdUntil.clear();
    if (this.processing.size === 0) {
      this.notifyIdle();
      return true;
    }
    let timer: TimerHandle | undefined;
    const finished = await Promise.race([
      this.whenIdle().then(() => true),
      new Promise<boolean>((r) => (timer = this.timers.setTimeout(() => r(false), deadlineMs))),
    ]);
    timer?.cancel();
    return finished;
  }

  private isIdle(): boolean {
    return this.ready.size === 0 && this.processing.size === 0;
  }

  private notifyIdle(): void {
    if (this.processing.size > 0 || (this.ready.size > 0 && !this.shuttingDown)) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private dispatch(): void {
    if (!this.started || this.shuttingDown) return;
    while (this.processing.size < this.options.concurrency && this.ready.size > 0) {
      const limiter = this.options.rateLimiter;
      if (limiter && !limiter.tryTake()) {
        if (!this.wake) {
          this.wake = this.timers.setTimeout(() => {
            this.wake = undefined;
            this.dispatch();
          }, limiter.waitMs());
        }
        return;
      }
      const key = this.ready.shift()!;
      this.holdUntil.delete(key);
      this.processing.add(key);
      void this.run(key);
    }
    this.notifyIdle();
  }

  private async run(key: string): Promise<void> {
    let outcome: WorkOutcome;
    try {
      outcome = await this.options.process(key);
    } catch (err) {
      this.options.onUnexpectedError?.(key, err);
      outcome = { kind: 'retry' };
    }
    this.processing.delete(key);
    if (!this.shuttingDown) {
      switch (outcome.kind) {
        case 'done':
          this.backoff.forget(key);
          break;
        case 'drop':
          this.backoff.forget(key);
          break;
        case 'requeueAfter':
          this.backoff.forget(key);
          this.addAfter(key, outcome.ms);
          break;
        case 'retry': {
          // Count throttling as a failure too, so a later plain error keeps backing off.
          const delay = this.backoff.next(key);
          if (outcome.afterMs !== undefined) this.holdUntil.set(key, this.timers.now() + outcome.afterMs);
          this.addAfter(key, outcome.afterMs ?? delay);
          break;
        }
      }
      const again = this.dirty.get(key);
      if (again !== undefined) {
        this.dirty.delete(key);
        this.addAfter(key, again - this.timers.now());
      }
    }
    this.dispatch();
    this.notifyIdle();
  }
}

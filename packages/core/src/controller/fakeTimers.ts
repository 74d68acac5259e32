import type { TimerHandle, Timers } from './timers.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A manual clock for unit tests: time moves only through advance(), which fires due timers in
 * order and lets promise callbacks settle between them, so async code driven by timers behaves
 * as it would in real time, just instantly.
 */
export class FakeTimers implements Timers {
  private current: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start = 1_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const p: Pending = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.pending.push(p);
    return { cancel: () => void (p.cancelled = true) };
  }

  /** Number of timers still due in the future. */
  get pendingCount(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }

  /** Time of the next live timer, if any. */
  nextAt(): number | undefined {
    const live = this.pending.filter((p) => !p.cancelled);
    return live.length ? Math.min(...live.map((p) => p.at)) : undefined;
  }

  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await flush();
    for (;;) {
      this.pending = this.pending.filter((p) => !p.cancelled);
      const next = this.pending.filter((p) => p.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.cancelled = true;
      next.fn();
      await flush();
    }
    this.current = target;
    await flush();
  }
}

/** Lets every queued promise callback (and chains of them) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

import type { Timers } from './timers.js';

/**
 * A token bucket: `ratePerSecond` tokens flow in continuously, at most `burst` are stored. One
 * token per reconcile started, shared by all controllers of a manager, so a resync of thousands
 * of objects or a flood of events never hammers the API server or a cloud API.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly timers: Pick<Timers, 'now'>,
  ) {
    if (!(ratePerSecond > 0)) throw new Error('ratePerSecond must be > 0');
    this.burst = Math.max(1, burst);
    this.tokens = this.burst;
    this.last = timers.now();
  }

  private refill(): void {
    const now = this.timers.now();
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
      this.last = now;
    }
  }

  /** Takes a token if one is available. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until a token will be available (0 = now). */
  waitMs(): number {
    this.refill();
    if (this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }
}

/** Default burst: five seconds' worth of tokens, at least 10 (controller-runtime: 10 qps, burst 100). */
export const defaultBurst = (ratePerSecond: number): number => Math.max(10, Math.ceil(ratePerSecond * 5));

/**
 * A token bucket that spaces out AWS API requests. RDS throttles an account at roughly 12 requests
 * per second per region (shared by every client of that account), so the operator spends a
 * budget well below that. One bucket exists per region and endpoint in this process and is shared
 * by every backend that talks to it (awsrds and awsaurora), so two backends never add up to more.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    /** Tokens added per second. */
    readonly ratePerSecond: number,
    /** Bucket size: requests that may go out back to back after a quiet period. */
    readonly burst: number,
    private readonly now: () => number = () => Date.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new Error('TokenBucket needs rate > 0 and burst >= 1');
    this.tokens = burst;
    this.last = now();
  }

  /** Resolves when one request may be sent. Waiters are served in arrival order. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.takeNow());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async takeNow(): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000));
    }
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
  }
}

const buckets = new Map<string, TokenBucket>();

/**
 * The process-wide bucket for one AWS region and endpoint. When backends ask for different rates,
 * the lowest wins: the budget is a ceiling for the account, not a per-backend allowance.
 */
export function sharedBudget(key: string, ratePerSecond: number): TokenBucket {
  const existing = buckets.get(key);
  if (existing && existing.ratePerSecond <= ratePerSecond) return existing;
  const bucket = new TokenBucket(ratePerSecond, Math.max(1, Math.floor(ratePerSecond)));
  buckets.set(key, bucket);
  return bucket;
}

/**
 * Per-key exponential backoff with jitter. Base 1 s (not controller-runtime's 5 ms: our
 * reconciles talk to cloud APIs and SQL servers, where a millisecond retry storm only burns
 * quota) doubling up to max_requeue_seconds. Jitter spreads keys that failed together (a cloud
 * outage) so they don't all retry in the same instant.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Fraction in [0,1]: the delay is drawn from [d·(1-jitter), d]. */
  jitter: number;
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 300_000, jitter: 0.2 };

/** Delay before retry number `failures` (1 = first retry). */
export function backoffDelay(failures: number, o: BackoffOptions): number {
  const exp = Math.min(Math.max(failures, 1) - 1, 50);
  const raw = Math.min(o.baseMs * 2 ** exp, o.maxMs);
  const r = (o.random ?? Math.random)();
  return Math.round(raw * (1 - o.jitter * r));
}

/** Remembers failures per key; forget() on success resets the key to the base delay. */
export class KeyedBackoff {
  private readonly failures = new Map<string, number>();

  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  /** Records one more failure and returns the delay to wait before the next attempt. */
  next(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    return backoffDelay(n, this.options);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}

/**
 * Time as the controller machinery sees it: a monotonic-enough millisecond clock and one-shot
 * timers. Injected everywhere so the queue, backoff and rate limiter run under a fake clock in
 * unit tests (fakeTimers.ts) instead of real sleeps.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Timers {
  /** Monotonic milliseconds: elapsed-time decisions (leases, backoff) must not follow wall-clock jumps. */
  now(): number;
  /** Wall-clock milliseconds, for timestamps other processes read (a Lease's renewTime). */
  wallNow?(): number;
  /** Calls fn after ms; real timers are unref'd so a pending retry never keeps the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export const realTimers: Timers = {
  // performance.now() never jumps (NTP steps, a VM resumed); Date.now() does.
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/** Resolves after ms on the given timers, or early (without throwing) when signal aborts. */
export function sleep(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      handle.cancel();
      resolve();
    };
    const handle = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

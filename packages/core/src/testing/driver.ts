/**
 * Drives a Reconciler the way the controller would (call, honour requeue, retry errors) until a
 * condition holds. For integration tests of reconcile logic without the controller runtime.
 */
import type { Reconciler, ReconcileRequest } from '../controller/reconciler.js';

export interface SettleOptions {
  timeoutMs?: number;
  /** Upper bound of the wait between calls (requeueAfterMs is honoured up to this). */
  maxDelayMs?: number;
}

export async function reconcileUntil(
  reconciler: Reconciler,
  req: ReconcileRequest,
  done: () => Promise<boolean>,
  opts: SettleOptions = {},
): Promise<{ calls: number; lastError?: unknown }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let calls = 0;
  let lastError: unknown;
  for (;;) {
    let delay = 50;
    try {
      calls++;
      const r = await reconciler.reconcile(req);
      lastError = undefined;
      delay = Math.min(r.requeueAfterMs ?? 50, opts.maxDelayMs ?? 200);
    } catch (err) {
      lastError = err;
      delay = opts.maxDelayMs ?? 200;
    }
    if (await done()) return { calls, ...(lastError ? { lastError } : {}) };
    if (Date.now() > deadline) {
      throw new Error(`${reconciler.kind} ${req.namespace}/${req.name} did not settle after ${calls} calls${lastError ? `; last error: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

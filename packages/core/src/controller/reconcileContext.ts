/**
 * The running reconcile's cancellation signal, carried implicitly (Go's context.Context, without
 * threading a parameter through every reconciler and backend hook): the controller runs each
 * reconcile inside its scope, and every Op a reconciler makes combines it with the process-wide
 * signal (shutdown, lost leadership). A reconcile past its deadline is cancelled, so a hung cloud
 * or SQL call cannot hold a worker for ever and stall its kind.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<AbortSignal>();

export function runInReconcileScope<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return scope.run(signal, fn);
}

/** The signal of the reconcile the caller runs in (undefined outside one). */
export function currentReconcileSignal(): AbortSignal | undefined {
  return scope.getStore();
}

/** `base` combined with the running reconcile's deadline, when there is one. */
export function withReconcileSignal(base: AbortSignal): AbortSignal {
  const own = currentReconcileSignal();
  return own ? AbortSignal.any([base, own]) : base;
}

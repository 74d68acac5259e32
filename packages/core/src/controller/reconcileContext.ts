/**
 * The running reconcile's cancellation signal, carried implicitly (Go's context.Context, without
 * threading a parameter through every reconciler and backend hook): the controller runs each
 * reconcile inside its scope, and every Op a reconciler makes combines it with the process-wide
 * signal (shutdown, lost leadership). A reconcile past its deadline is cancelled, so a hung cloud
 * or SQL call cannot hold a worker for ever and stall its kind.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<{ signal: AbortSignal; fence?: (() => void) | undefined }>();

/**
 * `fence`, when given, is checked synchronously before every Kubernetes write of the reconcile
 * (assertMayWrite): a replica woken from a pause runs its pending I/O callbacks before its leader
 * elector's timer can notice that the Lease has passed on, so the signal alone comes too late.
 */
export function runInReconcileScope<T>(signal: AbortSignal, fn: () => Promise<T>, fence?: () => void): Promise<T> {
  return scope.run({ signal, fence }, fn);
}

/** The signal of the reconcile the caller runs in (undefined outside one). */
export function currentReconcileSignal(): AbortSignal | undefined {
  return scope.getStore()?.signal;
}

/** Throws when the running reconcile was cancelled or its process may no longer write (fence). */
export function assertMayWrite(): void {
  const s = scope.getStore();
  s?.signal.throwIfAborted();
  s?.fence?.();
}

/** `base` combined with the running reconcile's deadline, when there is one. */
export function withReconcileSignal(base: AbortSignal): AbortSignal {
  const own = currentReconcileSignal();
  return own ? AbortSignal.any([base, own]) : base;
}

/**
 * The one small interface between the controller machinery (informers, work queue, leader
 * election) and the domain logic, as controller-runtime's reconcile.Reconciler: level-based,
 * called with a key, reads the whole current state every time.
 */
export interface ReconcileRequest {
  namespace: string;
  name: string;
}

export interface ReconcileResult {
  /** Requeue after this delay (polling a pending cloud operation, periodic resync). */
  requeueAfterMs?: number;
}

/**
 * Throwing means "retry with per-key exponential backoff". A BackendError of kind 'throttled' with
 * retryAfterMs is honoured; kind 'terminal' is not retried (the reconciler has already written
 * the status) until the object changes.
 */
export interface Reconciler {
  readonly kind: string;
  reconcile(req: ReconcileRequest): Promise<ReconcileResult>;
}

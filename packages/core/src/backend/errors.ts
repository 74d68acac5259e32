/**
 * Errors a backend throws are sorted by core into three kinds, as controller-runtime separates
 * requeue-with-backoff from terminal errors. Backends map their SDK's errors into these; anything
 * else is treated as retryable.
 */
export type ErrorKind = 'retryable' | 'throttled' | 'terminal';

export class BackendError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** CamelCase reason shown in the Ready condition, e.g. 'DeletionProtected'. */
    readonly reason: string = kind === 'terminal' ? 'BackendRejected' : kind === 'throttled' ? 'Throttled' : 'BackendError',
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BackendError';
    this.retryAfterMs = options?.retryAfterMs;
  }
  readonly retryAfterMs: number | undefined;
}

/** Network trouble, 5xx, conflicts that go away by themselves: retried with exponential backoff. */
export const retryable = (message: string, cause?: unknown, reason = 'BackendError') =>
  new BackendError('retryable', message, reason, { cause });

/** The cloud asked us to slow down: retried after `retryAfterMs` (or backoff). */
export const throttled = (message: string, retryAfterMs?: number, cause?: unknown) =>
  new BackendError('throttled', message, 'Throttled', { cause, retryAfterMs });

/** Input or state the user (or admin) must fix; not retried until the object or config changes. */
export const terminal = (reason: string, message: string, cause?: unknown) =>
  new BackendError('terminal', message, reason, { cause });

/**
 * Recognised by shape, not only by class: a plugin installed with its own copy of core throws
 * BackendErrors of another class identity, and its terminal errors must not become retries.
 */
function isBackendError(err: unknown): err is BackendError {
  if (err instanceof BackendError) return true;
  const e = err as Partial<BackendError> | null;
  return typeof e === 'object' && e !== null && e.name === 'BackendError' && (e.kind === 'retryable' || e.kind === 'throttled' || e.kind === 'terminal') && typeof e.reason === 'string';
}

export function classifyError(err: unknown): { kind: ErrorKind; reason: string; message: string; retryAfterMs?: number } {
  if (isBackendError(err)) {
    return { kind: err.kind, reason: err.reason, message: err.message, ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'retryable', reason: 'BackendError', message };
}

/**
 * Long-running ARM operations without blocking a worker: start with begin…(), keep the poller's
 * serialized state on the CR (Op.saveState), and on the next reconcile restore it
 * (`resumeFrom`) and poll once.
 */
export interface PollerLike {
  poll(options?: { abortSignal?: AbortSignal }): Promise<void>;
  isDone(): boolean;
  getOperationState(): { status: string; error?: Error };
  toString(): string;
}

export interface SavedOperation {
  /** What was started, e.g. 'create', 'update', 'restart', 'delete'. */
  kind: string;
  token: string;
  /** Epoch ms when started. */
  at: number;
}

export const encodeOperation = (kind: string, poller: PollerLike): string => JSON.stringify({ kind, token: poller.toString(), at: Date.now() } satisfies SavedOperation);

export function decodeOperation(raw: string | undefined): SavedOperation | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as SavedOperation;
    return typeof v.kind === 'string' && typeof v.token === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

export type PollOutcome = { status: 'running' } | { status: 'succeeded' } | { status: 'failed'; error: unknown };

/** One status request. A failed/canceled operation comes back as an outcome, not an exception. */
export async function pollOnce(poller: PollerLike, signal?: AbortSignal): Promise<PollOutcome> {
  try {
    if (!poller.isDone()) await poller.poll(signal ? { abortSignal: signal } : {});
  } catch (err) {
    const st = poller.getOperationState();
    if (st.status === 'failed' || st.status === 'canceled') return { status: 'failed', error: st.error ?? err };
    throw err;
  }
  const st = poller.getOperationState();
  if (st.status === 'succeeded') return { status: 'succeeded' };
  if (st.status === 'failed' || st.status === 'canceled') return { status: 'failed', error: st.error ?? new Error(`operation ${st.status}`) };
  return { status: 'running' };
}

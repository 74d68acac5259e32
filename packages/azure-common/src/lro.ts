/**
 * Long-running ARM operations without blocking a worker: start with begin…(), keep the poller's
 * serialized state on the CR (Op.saveState), and on the next reconcile restore it
 * (`resumeFrom`) and poll once.
 */
export interface PollerLike {
  poll(options?: { abortSignal?: AbortSignal }): Promise<void>;
  isDone(): boolean;
  getOperationState(): object;
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

interface AnyOperationState {
  /** core-lro 2/3 */
  status?: string;
  error?: Error;
  /** legacy core-lro PollOperationState (arm-postgresql 6.x) */
  isCompleted?: boolean;
  isCancelled?: boolean;
}

function statusOf(poller: PollerLike): string {
  const st = poller.getOperationState() as AnyOperationState;
  if (st.status) return st.status;
  if (st.error || st.isCancelled) return 'failed';
  return st.isCompleted || poller.isDone() ? 'succeeded' : 'running';
}

/** One status request. A failed/canceled operation comes back as an outcome, not an exception. */
export async function pollOnce(poller: PollerLike, signal?: AbortSignal): Promise<PollOutcome> {
  try {
    if (!poller.isDone()) await poller.poll(signal ? { abortSignal: signal } : {});
  } catch (err) {
    const status = statusOf(poller);
    if (status === 'failed' || status === 'canceled' || /long-running operation has failed/i.test((err as Error).message ?? '')) return { status: 'failed', error: (poller.getOperationState() as AnyOperationState).error ?? err };
    throw err;
  }
  const status = statusOf(poller);
  if (status === 'succeeded') return { status: 'succeeded' };
  if (status === 'failed' || status === 'canceled') return { status: 'failed', error: (poller.getOperationState() as AnyOperationState).error ?? new Error(`operation ${status}`) };
  return { status: 'running' };
}

/**
 * Operations on sub-resources (firewall rules, parameters) started by this process and not yet
 * finished: the resource they change may still show its old state, so they are not started again
 * while running. Kept in memory only; after a restart an operation is at worst sent twice (idempotent).
 */
export class InflightOperations {
  private readonly ops = new Map<string, PollerLike>();

  add(key: string, poller: PollerLike): void {
    this.ops.set(key, poller);
  }

  /** Polls each running operation under `prefix` once; returns the keys still running. */
  async settle(prefix: string, signal?: AbortSignal): Promise<Set<string>> {
    const running = new Set<string>();
    for (const [key, poller] of [...this.ops]) {
      if (!key.startsWith(prefix)) continue;
      let outcome: PollOutcome;
      try {
        outcome = await pollOnce(poller, signal);
      } catch {
        outcome = { status: 'failed', error: undefined };
      }
      if (outcome.status === 'running') running.add(key);
      else this.ops.delete(key);
    }
    return running;
  }
}

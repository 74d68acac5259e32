/**
 * Long-running ARM operations without blocking a worker: start with begin…(), keep the poller's
 * serialized state on the CR (Op.saveState), and on the next reconcile restore it
 * (`resumeFrom`) and poll once.
 */
import type { Op } from '@hybridcloud-postgresql/core';
import { retryable } from '@hybridcloud-postgresql/core';
import { isBusy, isNotFound, isOperationFailure, isTransientChildFailure, operationFailed, toBackendError } from './errors.js';

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

  /** Whether an operation under `prefix` was started by this process and not yet seen finished. */
  has(prefix: string): boolean {
    return [...this.ops.keys()].some((k) => k.startsWith(prefix));
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

export interface ResumeOptions {
  resumeFrom: string;
  abortSignal: AbortSignal;
  updateIntervalInMs: number;
}

export interface ContinueSavedOperation {
  /** Backend state key holding the saved operation. */
  key: string;
  /** Human name of the resource, e.g. 'flexible server team-a-db'. */
  what: string;
  pollIntervalMs: number;
  /** Rebuilds the SDK poller of a saved kind ('create', 'update', …); undefined for an unknown kind. */
  resume(kind: string, opts: ResumeOptions): Promise<PollerLike> | undefined;
  /** State keys to clear when an update failed (e.g. the applied-password marker). */
  clearOnFailedUpdate?: readonly string[];
  /** State keys to clear only once an operation of that kind succeeded (e.g. restart → restart-required marker). */
  clearOnSuccess?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Polls the server operation saved in the CR's state once (operations outlive the operator:
 * the poller's resume token is kept, never a blocking wait). Returns a message while it runs and
 * clears it when done; a failed operation becomes a BackendError with Azure's message.
 * Two outcomes are not failures of the change: an operation status URL that expired (404: Azure
 * forgets finished operations) and an operation that failed because the server was busy. Both clear
 * the saved key and return undefined, so the caller observes the resource again and sends what
 * still differs.
 */
export async function continueSavedOperation(op: Op, state: Readonly<Record<string, string>>, c: ContinueSavedOperation): Promise<string | undefined> {
  const saved = decodeOperation(state[c.key]);
  if (!saved) return undefined;
  let poller: PollerLike;
  try {
    const resumed = c.resume(saved.kind, { resumeFrom: saved.token, abortSignal: op.signal, updateIntervalInMs: c.pollIntervalMs });
    if (!resumed) {
      await op.saveState({ [c.key]: null });
      return undefined;
    }
    poller = await resumed;
  } catch (err) {
    await op.saveState({ [c.key]: null });
    if (isBusy(err) || isNotFound(err)) return undefined;
    // Restoring polls once: an operation that already failed surfaces here.
    if (isOperationFailure(err) || /"status":"(failed|canceled)"/.test(saved.token)) throw operationFailed(`The ${saved.kind} of ${c.what}`, err);
    // An unreadable token (SDK upgrade): forget it and look at the resource instead.
    return undefined;
  }
  let outcome: PollOutcome;
  try {
    outcome = await pollOnce(poller, op.signal);
  } catch (err) {
    if (isNotFound(err) && saved.kind === 'delete') outcome = { status: 'succeeded' };
    else if (isNotFound(err)) {
      // The status URL expired: what the operation did is seen on the resource itself.
      await op.saveState({ [c.key]: null });
      op.log.info({ operation: saved.kind }, `the status of the saved ${saved.kind} operation of ${c.what} is gone in Azure (expired); looking at the resource instead`);
      return undefined;
    } else throw toBackendError(err, `polling the ${saved.kind} operation of ${c.what}`);
  }
  if (outcome.status === 'running') {
    const minutes = Math.floor((Date.now() - saved.at) / 60_000);
    return `Azure is still working on the ${saved.kind} of ${c.what}${minutes > 0 ? ` (${minutes} min so far)` : ''}`;
  }
  const failedUpdate = outcome.status === 'failed' && saved.kind === 'update';
  const succeeded = outcome.status === 'succeeded' ? (c.clearOnSuccess?.[saved.kind] ?? []) : [];
  await op.saveState({ [c.key]: null, ...Object.fromEntries([...(failedUpdate ? (c.clearOnFailedUpdate ?? []) : []), ...succeeded].map((k) => [k, null])) });
  if (outcome.status === 'failed' && isBusy(outcome.error)) {
    op.log.info({ operation: saved.kind }, `the ${saved.kind} of ${c.what} failed because the server was busy; it is sent again`);
    return undefined;
  }
  if (outcome.status === 'failed') throw operationFailed(`The ${saved.kind} of ${c.what}`, outcome.error);
  return undefined;
}

/** Drains an ARM list (pager) into an array, mapping SDK errors. */
export async function collectAll<T>(list: () => AsyncIterable<T>, what: string): Promise<T[]> {
  const out: T[] = [];
  try {
    for await (const x of list()) out.push(x);
  } catch (err) {
    throw toBackendError(err, what);
  }
  return out;
}

/**
 * A short operation (databases): polled at our own interval for at most `boundMs`, whatever
 * Retry-After says (Azure may ask for more than the bound, and core-lro's pollUntilDone would sleep
 * that long). Still running → retryable, and the caller's next attempt looks at the resource first.
 * Failed because the server was busy (or with ARM's bare ResourceDeploymentFailure) → retryable.
 */
export async function shortOperation(what: string, signal: AbortSignal, begin: () => Promise<PollerLike>, opts: { pollIntervalMs: number; boundMs?: number }): Promise<void> {
  let poller: PollerLike;
  try {
    poller = await begin();
  } catch (err) {
    if (isTransientChildFailure(err)) throw retryable(`${what}: the server is busy with another change in Azure; retrying (${(err as Error).message})`, err, 'AzureBusy');
    throw toBackendError(err, what);
  }
  const bound = opts.boundMs ?? 60_000;
  const deadline = Date.now() + bound;
  for (;;) {
    let outcome: PollOutcome;
    try {
      outcome = await pollOnce(poller, signal);
    } catch (err) {
      throw toBackendError(err, what);
    }
    if (outcome.status === 'succeeded') return;
    if (outcome.status === 'failed') {
      if (isTransientChildFailure(outcome.error)) throw retryable(`${what}: the server was busy with another change in Azure; retrying (${(outcome.error as Error | undefined)?.message ?? ''})`, outcome.error, 'AzureBusy');
      throw operationFailed(what, outcome.error);
    }
    if (Date.now() > deadline) throw retryable(`${what}: Azure did not finish within ${Math.round(bound / 1000)}s; looked at again on the next attempt`, undefined, 'AzureBusy');
    await new Promise<void>((res) => setTimeout(res, Math.min(opts.pollIntervalMs, 5_000)));
  }
}

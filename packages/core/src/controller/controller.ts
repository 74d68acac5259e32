/**
 * One controller per kind: informer events → work queue → Reconciler, as controller-runtime's.
 *
 * - Update events enqueue only when something the reconciler acts on changed (generation,
 *   labels, annotations, finalizers, deletion): status-only updates — mostly our own status
 *   writes — would otherwise re-run every reconcile once more and defeat the retry backoff.
 * - Reconciler result and errors (classifyError): requeueAfterMs → requeue; retryable → per-key
 *   backoff; throttled → its retryAfterMs; terminal → no retry until an event or resync adds the
 *   key again (the reconciler has already written Ready=False).
 * - A key whose object is no longer in the (synced) cache is skipped: it was deleted, and with
 *   our finalizer gone there is nothing left to do.
 * - Periodic resync: every resyncMs each cached object is queued again, spread over a window,
 *   for drift detection (the informer itself never resyncs).
 * - handler_on_resume: every object in the cache is reconciled when the controller starts (our
 *   design is level-based). With handlerOnResume=false, objects that look settled (Ready=True
 *   for the current generation, not deleting) are only scheduled for their first resync,
 *   spread over the resync period, which keeps a restart of a big installation cheap. Anything
 *   else (new, changed, failed, deleting, with an action label) runs at once.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { runInReconcileScope } from './reconcileContext.js';
import { classifyError } from '../backend/errors.js';
import { describeError, kubeStatus } from '../kube/errors.js';
import { objectKey, parseKey } from '../kube/resource.js';
import type { Logger } from '../observability/logger.js';
import type { BackoffOptions } from './backoff.js';
import type { ObjectInformer } from './informer.js';
import type { ControllerMetrics } from './metrics.js';
import type { TokenBucket } from './rateLimiter.js';
import type { Reconciler, ReconcileRequest } from './reconciler.js';
import { realTimers, type TimerHandle, type Timers } from './timers.js';
import { WorkQueue, type WorkOutcome } from './workQueue.js';

/** Events of another informer mapped to keys of this controller's kind. */
export interface WatchSource<O extends KubernetesObject = KubernetesObject> {
  informer: ObjectInformer<O>;
  /** Called for add, update and delete (old and new object on update: both are mapped). */
  map(obj: O): ReconcileRequest[];
  /** Whether an update is interesting; default: any change of resourceVersion. */
  updateFilter?(oldObj: O, newObj: O): boolean;
  /**
   * The echo of this operator's own write (add, update or delete it made itself): not enqueued,
   * the reconcile that wrote it already acted on that state. Default: none.
   */
  ownWrite?(obj: O, deleted: boolean): boolean | Promise<boolean>;
}

/** Runs `then` unless `own` says (now or once known) the event was our own write. */
function unlessOwn(own: boolean | Promise<boolean> | undefined, then: () => void): void {
  if (own instanceof Promise) void own.then((ours) => ours || then(), () => then());
  else if (!own) then();
}

export interface ControllerOptions<T extends KubernetesObject> {
  informer: ObjectInformer<T>;
  reconciler: Reconciler;
  log: Logger;
  concurrency: number;
  backoff: BackoffOptions;
  resyncMs: number;
  handlerOnResume: boolean;
  timers?: Timers;
  rateLimiter?: TokenBucket;
  metrics?: ControllerMetrics;
  watches?: WatchSource[];
  /** Objects that need nothing at startup when handlerOnResume is false; default: isSettled. */
  isSettled?: (obj: T) => boolean;
  /** Whether an update of the own kind is enqueued; default: meaningfulChange. */
  updateFilter?: (oldObj: T, newObj: T) => boolean;
  /**
   * Whether an update of the own kind is the echo of our own write (a finalizer or label patch
   * made by the reconcile itself): not enqueued again. Default: none.
   */
  ownWrite?: (obj: T) => boolean | Promise<boolean>;
  /** Fraction of resyncMs over which a resync (and the settled startup) is spread; default 0.2. */
  resyncSpread?: number;
  /**
   * A reconcile running longer than this is logged as a warning (it still holds its worker:
   * abandoning it would let a second run of the same key start). Default 60 s.
   */
  slowReconcileMs?: number;
  /**
   * Deadline of one reconcile (default 10 minutes): past it the reconcile's signal is aborted, so
   * backend and SQL calls that honour it end and the worker is freed; the key is retried with backoff.
   */
  reconcileTimeoutMs?: number;
  /**
   * The process-wide work signal (shutdown, lost leadership), made part of every reconcile's scope:
   * a reconcile that goes on after it fired sends no more Kubernetes writes (kubeHttp fences them).
   */
  workSignal?: AbortSignal;
  /** Checked synchronously before each Kubernetes write of a reconcile (leader election: the Lease is still ours). */
  writeFence?: () => void;
}

type AnyObj = KubernetesObject & { status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] } };

/** Ready=True for the current generation and not being deleted. */
export function isSettled(obj: KubernetesObject): boolean {
  const o = obj as AnyObj;
  if (o.metadata?.deletionTimestamp) return false;
  if (o.metadata?.generation === undefined || o.status?.observedGeneration !== o.metadata.generation) return false;
  return (o.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Generation, labels, annotations, finalizers or deletion changed (not just status). */
export function meaningfulChange(oldObj: KubernetesObject, newObj: KubernetesObject): boolean {
  const a = oldObj.metadata ?? {};
  const b = newObj.metadata ?? {};
  if (b.generation === undefined) return a.resourceVersion !== b.resourceVersion; // kinds without generation
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    !same(a.labels, b.labels) ||
    !same(a.annotations, b.annotations) ||
    !same(a.finalizers, b.finalizers)
  );
}

/** Keys of the owners of kind `ownerKind` named in an object's ownerReferences (e.g. owned Secrets). */
export function ownerRequests(ownerKind: string): (obj: KubernetesObject) => ReconcileRequest[] {
  return (obj) =>
    (obj.metadata?.ownerReferences ?? []).filter((r) => r.kind === ownerKind).map((r) => ({ namespace: obj.metadata?.namespace ?? '', name: r.name }));
}

export class Controller<T extends KubernetesObject = KubernetesObject> {
  readonly kind: string;
  readonly queue: WorkQueue;
  private readonly timers: Timers;
  private readonly offs: (() => void)[] = [];
  private resyncTimer: TimerHandle | undefined;
  private started = false;

  constructor(private readonly o: ControllerOptions<T>) {
    this.kind = o.reconciler.kind;
    this.timers = o.timers ?? realTimers;
    this.queue = new WorkQueue({
      concurrency: o.concurrency,
      timers: this.timers,
      backoff: o.backoff,
      process: (key) => this.process(key),
      ...(o.rateLimiter ? { rateLimiter: o.rateLimiter } : {}),
      onUnexpectedError: (key, err) => o.log.error({ kind: this.kind, key, error: describeError(err) }, 'reconcile crashed (bug)'),
    });
    o.metrics?.trackQueue(this.kind, () => ({ depth: this.queue.depth, waiting: this.queue.waiting, inFlight: this.queue.inFlight }));

    // Handlers are attached at once, so a standby replica's queue already holds every key when
    // it becomes leader (and the informer's initial list is never missed).
    const settled = o.isSettled ?? isSettled;
    const changed = o.updateFilter ?? meaningfulChange;
    this.offs.push(
      o.informer.addHandlers({
        onAdd: (obj) => {
          const key = keyOf(obj);
          if (!o.handlerOnResume && settled(obj)) {
            // Before start (a standby) start() schedules it, spread from the moment we lead.
            if (this.started) this.queue.addAfter(key, this.spread());
          } else this.queue.add(key);
        },
        onUpdate: (oldObj, newObj) => {
          if (changed(oldObj, newObj)) unlessOwn(o.ownWrite?.(newObj), () => this.queue.add(keyOf(newObj)));
        },
        onDelete: (obj) => this.queue.forget(keyOf(obj)),
      }),
    );
    for (const w of o.watches ?? []) {
      const enqueue = (...objs: KubernetesObject[]) => {
        const keys = new Set(objs.flatMap((obj) => w.map(obj)).map((r) => objectKey(r.namespace, r.name)));
        for (const key of keys) this.queue.add(key);
      };
      this.offs.push(
        w.informer.addHandlers({
          onAdd: (obj) => unlessOwn(w.ownWrite?.(obj, false), () => enqueue(obj)),
          onUpdate: (a, b) => {
            if (w.updateFilter && !w.updateFilter(a, b)) return;
            if (!w.updateFilter && a.metadata?.resourceVersion === b.metadata?.resourceVersion) return;
            unlessOwn(w.ownWrite?.(b, false), () => enqueue(a, b));
          },
          onDelete: (obj) => unlessOwn(w.ownWrite?.(obj, true), () => enqueue(obj)),
        }),
      );
    }
  }

  /** Starts reconciling (the informers are started by the manager, usually earlier). */
  start(): void {
    if (this.started) return;
    this.started = true;
    // Level-based start: every object in the cache is looked at, whenever its add event came
    // (or if it came before this controller subscribed).
    const settled = this.o.isSettled ?? isSettled;
    for (const obj of this.o.informer.list()) {
      const key = keyOf(obj);
      if (!this.o.handlerOnResume && settled(obj)) {
        if (!this.queue.has(key)) this.queue.addAfter(key, this.spread());
      } else this.queue.add(key);
    }
    this.queue.start();
    this.scheduleResync();
  }

  /** Stops reconciling; true when the runs in flight finished before the deadline. */
  async stop(deadlineMs = 10_000): Promise<boolean> {
    this.resyncTimer?.cancel();
    for (const off of this.offs.splice(0)) off();
    return this.queue.shutDown(deadlineMs);
  }

  enqueue(req: ReconcileRequest, afterMs = 0): void {
    this.queue.addAfter(objectKey(req.namespace, req.name), afterMs);
  }

  /**
   * Queues every cached object again (drift detection), spread over a window. Keys already
   * scheduled (a reconciler's own requeueAfter, a pending retry) are left alone, so a
   * reconciler that requeues itself every resync period is not reconciled twice as often.
   */
  resync(): void {
    for (const obj of this.o.informer.list()) {
      const key = keyOf(obj);
      if (!this.queue.has(key)) this.queue.addAfter(key, this.spread());
    }
  }

  private spread(): number {
    return Math.floor(Math.random() * this.o.resyncMs * (this.o.resyncSpread ?? 0.2));
  }

  private scheduleResync(): void {
    // ±10 % so replicas and kinds don't fall into lockstep
    const period = this.o.resyncMs * (0.9 + Math.random() * 0.2);
    this.resyncTimer = this.timers.setTimeout(() => {
      if (this.queue.isShuttingDown) return;
      this.resync();
      this.scheduleResync();
    }, period);
  }

  private async process(key: string): Promise<WorkOutcome> {
    const req = parseKey(key);
    if (this.o.informer.hasSynced() && !this.o.informer.get(req.namespace, req.name)) return { kind: 'done' };
    const m = this.o.metrics;
    // Debug lines the fault suite pairs across replicas: two processes reconciling one object at once.
    this.o.log.debug({ kind: this.kind, namespace: req.namespace, name: req.name }, 'reconcile started');
    const endTimer = m?.reconcileDuration.startTimer({ kind: this.kind });
    const slowMs = this.o.slowReconcileMs ?? 60_000;
    const slow = this.timers.setTimeout(
      () => this.o.log.warn({ kind: this.kind, namespace: req.namespace, name: req.name, runningMs: slowMs }, 'reconcile is taking long; its worker stays busy'),
      slowMs,
    );
    const deadline = new AbortController();
    const timeoutMs = this.o.reconcileTimeoutMs ?? 600_000;
    const expire = this.timers.setTimeout(() => {
      this.o.log.warn({ kind: this.kind, namespace: req.namespace, name: req.name, timeoutMs }, 'reconcile exceeded its deadline; cancelling it');
      deadline.abort(new Error(`reconcile of ${this.kind} ${req.namespace}/${req.name} exceeded its deadline of ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    try {
      const scope = this.o.workSignal ? AbortSignal.any([deadline.signal, this.o.workSignal]) : deadline.signal;
      const res = await runInReconcileScope(scope, () => this.o.reconciler.reconcile(req), this.o.writeFence);
      endTimer?.();
      if (res.requeueAfterMs !== undefined && res.requeueAfterMs >= 0) {
        m?.reconcileTotal.inc({ kind: this.kind, result: 'requeue' });
        return { kind: 'requeueAfter', ms: res.requeueAfterMs };
      }
      m?.reconcileTotal.inc({ kind: this.kind, result: 'success' });
      return { kind: 'done' };
    } catch (err) {
      endTimer?.();
      const c = classifyError(err);
      const status = kubeStatus(err);
      m?.reconcileTotal.inc({ kind: this.kind, result: c.kind === 'retryable' ? 'error' : c.kind });
      m?.reconcileErrors.inc({ kind: this.kind, error_kind: c.kind });
      const fields = { kind: this.kind, namespace: req.namespace, name: req.name, errorKind: c.kind, reason: c.reason, error: c.kind === 'retryable' && status ? describeError(err) : c.message, ...(status ? { code: status.code } : {}) };
      switch (c.kind) {
        case 'terminal':
          this.o.log.warn(fields, 'reconcile failed permanently; waiting for a change of the object');
          return { kind: 'drop' };
        case 'throttled':
          this.o.log.info({ ...fields, retryAfterMs: c.retryAfterMs }, 'reconcile throttled');
          return c.retryAfterMs !== undefined ? { kind: 'retry', afterMs: c.retryAfterMs } : { kind: 'retry' };
        default:
          // A conflict means our view was stale: normal in a busy cluster, retried shortly.
          this.o.log[status?.code === 409 ? 'debug' : 'info']({ ...fields, failures: this.queue.failures(key) + 1 }, 'reconcile failed; retrying with backoff');
          return { kind: 'retry' };
      }
    } finally {
      slow.cancel();
      expire.cancel();
      this.o.log.debug({ kind: this.kind, namespace: req.namespace, name: req.name }, 'reconcile finished');
    }
  }
}

function keyOf(obj: KubernetesObject): string {
  return objectKey(obj.metadata?.namespace, obj.metadata?.name ?? '');
}

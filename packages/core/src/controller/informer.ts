/**
 * A self-healing list+watch cache. client-node's own ListWatch stops for good on any error other
 * than 410 (a network reset, a 403 after an RBAC change, an apiserver restart) — the historic
 * "informer silently stops" problem — so this one runs its own loop:
 *
 *   LIST (paged) → diff against the cache (add/update/delete callbacks) → WATCH from the list's
 *   resourceVersion with bookmarks → on a normal close or client-node's 30 s inactivity timeout,
 *   watch again from the last resourceVersion; on 410 Gone, relist; on ANY other error, back off
 *   (1 s doubling to 30 s, jitter) and relist; a watchdog restarts a stream that shows no sign of
 *   life for `watchdogMs` (belt and braces on top of the inactivity timeout), and a LIST that
 *   hangs longer than `listTimeoutMs` counts as an error.
 *
 * hasSynced() turns true only after the first successful LIST. Handlers run synchronously in
 * event order and must be cheap (enqueue a key); a throwing handler is logged, never fatal.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.js';
import { KubeHttp } from '../reconcile/kubeHttp.js';
import { describeError, kubeStatus, KubeApiError } from '../kube/errors.js';
import type { Logger } from '../observability/logger.js';
import { backoffDelay } from './backoff.js';
import { realTimers, sleep, type TimerHandle, type Timers } from './timers.js';

export interface InformerHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

/** The read side of an informer, plus its handlers; what controllers depend on. */
export interface ObjectInformer<T extends KubernetesObject> {
  readonly name: string;
  addHandlers(h: InformerHandlers<T>): () => void;
  get(namespace: string, name: string): T | undefined;
  list(namespace?: string): T[];
  hasSynced(): boolean;
  /** Resolves true once synced, false if timeoutMs passes (or the informer stops) first. */
  waitForSync(timeoutMs?: number): Promise<boolean>;
  start(): void;
  stop(): Promise<void>;
  /** How often the loop restarted after an error (metrics, tests). */
  readonly restarts: number;
}

export interface InformerSource<T> {
  /** The watch path of the collection, e.g. /apis/g/v/namespaces/ns/plural or /api/v1/secrets. */
  path: string;
  /** A full (paged) LIST. */
  list(): Promise<{ items: T[]; resourceVersion: string }>;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Server-side watch timeout (the apiserver ends the stream after it; we watch again from the
   * last resourceVersion). Default: random 5–10 min, as client-go, so watches of many replicas
   * don't end together. Quiet streams end sooner anyway: client-node's 30 s inactivity timeout.
   */
  watchTimeoutSeconds?: number;
}

export interface InformerOptions {
  name: string;
  log: Logger;
  timers?: Timers;
  restartBackoff?: { baseMs: number; maxMs: number };
  watchdogMs?: number;
  listTimeoutMs?: number;
  /** Called on each restart after an error (metrics). */
  onRestart?: (err: unknown) => void;
  /** The watch client; default core's KubeHttp (tests inject a stalled one for the watchdog). */
  watch?: WatchClient;
  /**
   * Applied to every object before it is cached and handed to handlers; default: drop
   * metadata.managedFields, which nothing here reads and which can double an object's size.
   */
  transform?: <O extends KubernetesObject>(obj: O) => O;
}

export function stripManagedFields<O extends KubernetesObject>(obj: O): O {
  if (!obj?.metadata?.managedFields) return obj;
  const { managedFields: _drop, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** Starts a watch stream (client-node's Watch has the same shape). */
export interface WatchClient {
  watch(path: string, params: Record<string, string | number | boolean>, onEvent: (type: string, obj: never) => void, done: (err: unknown) => void): Promise<{ abort(): void }>;
}

type WatchEnd = { kind: 'closed' } | { kind: 'gone' } | { kind: 'error'; error: unknown } | { kind: 'stopped' } | { kind: 'watchdog' };

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class Informer<T extends KubernetesObject> implements ObjectInformer<T> {
  readonly name: string;
  private cache = new Map<string, T>();
  private handlers: InformerHandlers<T>[] = [];
  private resourceVersion = '';
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private running: Promise<void> | undefined;
  private stopCtl = new AbortController();
  private endCurrent: ((e: WatchEnd) => void) | undefined;
  private lastActivity = 0;
  private watchdog: TimerHandle | undefined;
  private readonly timers: Timers;
  private readonly watch: WatchClient;
  private readonly transform: <O extends KubernetesObject>(obj: O) => O;
  private restartCount = 0;
  /** Watch events received (bookmarks included): tells a working stream from one that closes at once. */
  private eventCount = 0;

  constructor(
    kubeConfig: KubeConnection,
    private readonly source: InformerSource<T>,
    private readonly options: InformerOptions,
  ) {
    this.name = options.name;
    this.timers = options.timers ?? realTimers;
    this.watch = options.watch ?? new KubeHttp(kubeConfig);
    this.transform = options.transform ?? stripManagedFields;
  }

  get restarts(): number {
    return this.restartCount;
  }

  addHandlers(h: InformerHandlers<T>): () => void {
    this.handlers.push(h);
    return () => void (this.handlers = this.handlers.filter((x) => x !== h));
  }

  get(namespace: string, name: string): T | undefined {
    return this.cache.get(`${namespace}/${name}`);
  }

  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => (o.metadata?.namespace ?? '') === namespace);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(timeoutMs = 60_000): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = this.timers.setTimeout(() => resolve(this.synced), timeoutMs);
      const done = () => (t.cancel(), resolve(this.synced));
      this.syncWaiters.push(done);
      this.stopCtl.signal.addEventListener('abort', done, { once: true });
    });
  }

  start(): void {
    if (this.running) return;
    this.stopCtl = new AbortController();
    this.scheduleWatchdog();
    this.running = this.loop().catch((err: unknown) => this.options.log.error({ err, informer: this.name }, 'informer loop crashed (bug)'));
  }

  async stop(): Promise<void> {
    this.stopCtl.abort();
    this.watchdog?.cancel();
    this.endCurrent?.({ kind: 'stopped' });
    await this.running;
    this.running = undefined;
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of waiters) w();
  }

  private get stopped(): boolean {
    return this.stopCtl.signal.aborted;
  }

  private scheduleWatchdog(): void {
    const period = this.options.watchdogMs ?? 300_000;
    this.watchdog = this.timers.setTimeout(() => {
      if (this.stopped) return;
      if (this.endCurrent && this.timers.now() - this.lastActivity > period) {
        this.options.log.warn({ informer: this.name, silentMs: this.timers.now() - this.lastActivity }, 'watch silent too long; restarting it');
        this.endCurrent({ kind: 'watchdog' });
      }
      this.scheduleWatchdog();
    }, Math.max(1, Math.floor(period / 4)));
  }

  private async loop(): Promise<void> {
    const backoff = { ...(this.options.restartBackoff ?? { baseMs: 1000, maxMs: 30_000 }), jitter: 0.2 };
    let failures = 0;
    let quickCloses = 0;
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        if (this.stopped) break;
        const opened = this.timers.now();
        const eventsBefore = this.eventCount;
        const end = await this.watchOnce();
        if (end.kind === 'stopped' || this.stopped) break;
        if (end.kind === 'error') throw end.error;
        if (end.kind === 'gone') {
          this.options.log.debug({ informer: this.name }, 'resourceVersion too old (410); relisting');
          this.resourceVersion = '';
          continue;
        }
        if (end.kind === 'watchdog') {
          this.restartCount++;
          this.options.onRestart?.(new Error('watchdog'));
          this.resourceVersion = '';
          continue;
        }
        // A normal close. A stream that closes at once again and again without delivering
        // anything is a sick apiserver or proxy: slow down instead of spinning.
        const healthy = this.timers.now() - opened > 5000 || this.eventCount > eventsBefore;
        if (healthy) {
          failures = 0;
          quickCloses = 0;
        } else if (++quickCloses > 3) {
          await sleep(this.timers, backoffDelay(quickCloses - 3, backoff), this.stopCtl.signal);
        }
      } catch (err) {
        if (this.stopped) break;
        failures++;
        this.restartCount++;
        this.resourceVersion = ''; // relist after any error: cheap insurance against a missed event
        const delayMs = backoffDelay(failures, backoff);
        const status = kubeStatus(err);
        this.options.log.warn(
          { informer: this.name, ...(status ? { code: status.code, reason: status.reason } : {}), error: describeError(err), retryInMs: delayMs },
          'informer failed; restarting',
        );
        try {
          this.options.onRestart?.(err);
        } catch {
          /* metrics never break the loop */
        }
        await sleep(this.timers, delayMs, this.stopCtl.signal);
      }
    }
  }

  private async relist(): Promise<void> {
    const timeoutMs = this.options.listTimeoutMs ?? 60_000;
    let timer: TimerHandle | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.timers.setTimeout(() => reject(new Error(`LIST took longer than ${timeoutMs} ms`)), timeoutMs);
    });
    let listed: { items: T[]; resourceVersion: string };
    try {
      listed = await Promise.race([this.source.list(), timeout]);
    } finally {
      timer?.cancel();
    }
    if (this.stopped) return;
    const next = new Map<string, T>();
    for (const item of listed.items) {
      const o = this.transform(item);
      next.set(keyOf(o), o);
    }
    const old = this.cache;
    this.cache = next;
    for (const [k, o] of old) if (!next.has(k)) this.emit('delete', o);
    for (const [k, o] of next) {
      const prev = old.get(k);
      if (!prev) this.emit('add', o);
      else if (prev.metadata?.resourceVersion !== o.metadata?.resourceVersion) this.emit('update', o, prev);
    }
    this.resourceVersion = listed.resourceVersion;
    this.lastActivity = this.timers.now();
    if (!this.synced) {
      this.synced = true;
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of waiters) w();
    }
  }

  private watchOnce(): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let ended = false;
      let ctl: { abort(): void } | undefined;
      const end = (e: WatchEnd) => {
        if (ended) return;
        ended = true;
        this.endCurrent = undefined;
        ctl?.abort();
        resolve(e);
      };
      this.endCurrent = end;
      this.lastActivity = this.timers.now();
      const timeoutSeconds = this.source.watchTimeoutSeconds ?? Math.floor(300 * (1 + Math.random()));
      const params: Record<string, string | boolean | number> = { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds };
      if (this.source.labelSelector) params['labelSelector'] = this.source.labelSelector;
      if (this.source.fieldSelector) params['fieldSelector'] = this.source.fieldSelector;
      this.watch
        .watch(
          this.source.path,
          params,
          (type: string, received: never) => {
            let obj: T = received;
            if (ended) return;
            this.lastActivity = this.timers.now();
            this.eventCount++;
            if (type === 'ERROR') {
              const s = kubeStatus(obj);
              end(s?.code === 410 ? { kind: 'gone' } : { kind: 'error', error: new KubeApiError(s?.code ?? 500, s?.reason ?? 'Unknown', `watch ${this.source.path}: ${s?.message ?? JSON.stringify(obj)}`) });
              return;
            }
            const rv = obj?.metadata?.resourceVersion;
            if (type === 'ADDED' || type === 'MODIFIED') {
              obj = this.transform(obj);
              const k = keyOf(obj);
              const prev = this.cache.get(k);
              this.cache.set(k, obj);
              if (prev) this.emit('update', obj, prev);
              else this.emit('add', obj);
            } else if (type === 'DELETED') {
              obj = this.transform(obj);
              const k = keyOf(obj);
              const prev = this.cache.get(k);
              this.cache.delete(k);
              this.emit('delete', prev ?? obj);
            }
            // BOOKMARK: only the resourceVersion moves
            if (rv) this.resourceVersion = rv;
          },
          (err: unknown) => {
            if (!err) return end({ kind: 'closed' });
            if ((err as Error).name === 'TimeoutError') return end({ kind: 'closed' });
            if (kubeStatus(err)?.code === 410) return end({ kind: 'gone' });
            end({ kind: 'error', error: err });
          },
        )
        .then(
          (c) => {
            ctl = c;
            if (ended) c.abort();
            else this.lastActivity = this.timers.now();
          },
          (err: unknown) => end({ kind: 'error', error: err }),
        );
    });
  }

  private emit(type: 'add' | 'update' | 'delete', obj: T, prev?: T): void {
    for (const h of this.handlers) {
      try {
        if (type === 'add') h.onAdd?.(obj);
        else if (type === 'update') h.onUpdate?.(prev!, obj);
        else h.onDelete?.(obj);
      } catch (err) {
        this.options.log.error({ err, informer: this.name }, 'informer handler threw');
      }
    }
  }
}

/**
 * Several informers seen as one (one per watched namespace). Namespaces are disjoint, so reads
 * just ask each in turn.
 */
export class InformerGroup<T extends KubernetesObject> implements ObjectInformer<T> {
  constructor(
    readonly name: string,
    private readonly members: ObjectInformer<T>[],
  ) {}
  get restarts(): number {
    return this.members.reduce((n, m) => n + m.restarts, 0);
  }
  addHandlers(h: InformerHandlers<T>): () => void {
    const offs = this.members.map((m) => m.addHandlers(h));
    return () => offs.forEach((off) => off());
  }
  get(namespace: string, name: string): T | undefined {
    for (const m of this.members) {
      const o = m.get(namespace, name);
      if (o) return o;
    }
    return undefined;
  }
  list(namespace?: string): T[] {
    return this.members.flatMap((m) => m.list(namespace));
  }
  hasSynced(): boolean {
    return this.members.every((m) => m.hasSynced());
  }
  async waitForSync(timeoutMs?: number): Promise<boolean> {
    return (await Promise.all(this.members.map((m) => m.waitForSync(timeoutMs)))).every(Boolean);
  }
  start(): void {
    for (const m of this.members) m.start();
  }
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }
}

/**
 * The controller manager: informers and controllers for the kinds whose reconcilers it is
 * given, a shared rate limiter, metrics, the health server and leader election.
 *
 * Informers run on every replica (a standby keeps a warm cache and a full queue, so a takeover
 * starts reconciling at once); controllers run only while this replica leads. Losing
 * leadership is fatal (onFatal, default: exit 1), as in controller-runtime: a replica that may
 * have missed a takeover must not go on acting.
 *
 * startOperator(container) is the CLI's entry: it builds everything from the DI container,
 * handles SIGTERM/SIGINT (graceful stop, lease released, exit within 10 s guaranteed by a hard
 * timer) and resolves when the operator has stopped.
 */
import type { KubernetesObject, V1SelfSubjectAccessReview } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.js';
import { KubeHttp } from '../reconcile/kubeHttp.js';
import type { Registry } from 'prom-client';
import type { DependencyContainer } from 'tsyringe';
import type { PostgreSQLDatabase } from '../api/schema.js';
import type { OperatorConfig } from '../config/schema.js';
import { KubeClient } from '../kube/client.js';
import { KubeEventRecorder } from '../kube/eventRecorder.js';
import type { EventRecorder } from '../kube/events.js';
import { DATABASE_RESOURCE, SECRET_RESOURCE, SERVER_RESOURCE, type ResourceType } from '../kube/resource.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../credentials/secret.js';
import { startHealthServer, type HealthServer, type ReadinessCheck } from '../observability/healthServer.js';
import type { Logger } from '../observability/logger.js';
import { ACTION_LABEL } from '../reconcile/common.js';
import { CachedKubeAccess } from '../reconcile/cachedKubeAccess.js';
import { reconcilersFromContainer } from '../reconcile/factory.js';
import { createKubeAccess } from '../reconcile/kubeAccess.js';
import type { SqlAdmin } from '../sql/admin.js';
import { Tokens } from '../tokens.js';
import { Controller, isSettled, ownerRequests, type WatchSource } from './controller.js';
import type { ObjectInformer } from './informer.js';
import { createResourceInformer } from './informerFactory.js';
import { LeaderElector } from './leaderElection.js';
import { managerOptionsFromConfig, type ManagerOptions } from './managerOptions.js';
import { ControllerMetrics } from './metrics.js';
import { defaultBurst, TokenBucket } from './rateLimiter.js';
import type { Reconciler, ReconcileRequest } from './reconciler.js';
import { realTimers, type Timers } from './timers.js';

export type { ManagerOptions } from './managerOptions.js';
export { managerOptionsFromConfig } from './managerOptions.js';

/** Extra event sources: objects of `resource` mapped to keys of the controller for `kind`. */
export interface ExtraWatch {
  /** Reconciler.kind of the controller to notify. */
  kind: string;
  resource: ResourceType;
  labelSelector?: string;
  map(obj: KubernetesObject): ReconcileRequest[];
  /** The echo of our own write of such an object: not mapped (WatchSource.ownWrite). */
  ownWrite?(obj: KubernetesObject, deleted: boolean): boolean | Promise<boolean>;
}

export interface ManagerDeps {
  kubeConfig: KubeConnection;
  logger: Logger;
  options: ManagerOptions;
  reconcilers: Reconciler[];
  /** Resource of each reconciler kind; PostgreSQLServer/PostgreSQLDatabase are known. */
  resources?: Record<string, ResourceType>;
  watches?: ExtraWatch[];
  /**
   * Whether an object of a reconciler's own kind is the echo of the operator's own write
   * (CachedKubeAccess.isOwnWrite): such updates do not queue the object again.
   */
  ownWrite?: (kind: string, obj: KubernetesObject) => boolean | Promise<boolean>;
  metricsRegistry?: Registry;
  /** Leadership lost or another unrecoverable condition; default: log and exit(1). */
  onFatal?: (reason: string) => void;
  /**
   * Aborted the moment work must stop: at once on lost leadership (before anything else, so no
   * running reconcile or backend call keeps mutating while another replica takes over), and on a
   * stop after the drain. The reconcilers' Op.signal comes from it.
   */
  workAbort?: AbortController;
  timers?: Timers;
}

export interface StopResult {
  reason: string;
  /** Stopped because of leadership loss or another fatal condition (exit non-zero). */
  fatal: boolean;
}

export interface ManagerHandle {
  readonly metrics: ControllerMetrics;
  /** The health server's port (undefined when disabled). */
  readonly healthPort: number | undefined;
  readonly identity: string | undefined;
  readonly informers: ReadonlyMap<string, ObjectInformer<KubernetesObject>>;
  readonly controllers: ReadonlyMap<string, Controller>;
  isLeader(): boolean;
  ready(): boolean;
  /** Graceful stop: queues drained (deadline), lease released unless release=false, server closed. */
  stop(o?: { release?: boolean }): Promise<void>;
  /** Resolves when the manager stopped (by stop() or a fatal condition). */
  readonly done: Promise<StopResult>;
}

const KNOWN: Record<string, ResourceType> = { [SERVER_RESOURCE.kind]: SERVER_RESOURCE, [DATABASE_RESOURCE.kind]: DATABASE_RESOURCE };

/** A database is re-queued whenever its server changes (status included: it waits for Ready). */
function databasesOfServer(databases: ObjectInformer<KubernetesObject>): (server: KubernetesObject) => ReconcileRequest[] {
  return (server) => {
    const ns = server.metadata?.namespace ?? '';
    return (databases.list(ns) as PostgreSQLDatabase[]).filter((d) => d.spec?.serverRef?.name === server.metadata?.name).map((d) => ({ namespace: ns, name: d.metadata.name }));
  };
}

export async function startManager(deps: ManagerDeps): Promise<ManagerHandle> {
  const { options: o, logger: log } = deps;
  const timers = deps.timers ?? realTimers;
  const metrics = new ControllerMetrics(deps.metricsRegistry);
  const client = new KubeClient(deps.kubeConfig);
  const bucket = new TokenBucket(o.rateLimitPerSecond, o.rateLimitBurst ?? defaultBurst(o.rateLimitPerSecond), timers);
  const resources = { ...KNOWN, ...(deps.resources ?? {}) };
  const informerOpts = (name: string) => ({ name, log, timers, namespaces: o.watchNamespaces, onRestart: () => metrics.informerRestarts.inc({ informer: name }) });

  const informers = new Map<string, ObjectInformer<KubernetesObject>>();
  for (const r of deps.reconcilers) {
    const resource = resources[r.kind];
    if (!resource) throw new Error(`no resource known for reconciler kind ${r.kind}`);
    informers.set(r.kind, createResourceInformer(deps.kubeConfig, client, resource, informerOpts(resource.plural)));
  }
  const watchesFor = new Map<string, WatchSource[]>();
  const addWatch = (kind: string, w: WatchSource) => watchesFor.set(kind, [...(watchesFor.get(kind) ?? []), w]);
  const serverInf = informers.get(SERVER_RESOURCE.kind);
  const dbInf = informers.get(DATABASE_RESOURCE.kind);
  if (serverInf && dbInf) addWatch(DATABASE_RESOURCE.kind, { informer: serverInf, map: databasesOfServer(dbInf) });
  // Watches of the same resource and selector share one informer (one watch, one cache).
  const shared = new Map<string, ObjectInformer<KubernetesObject>>();
  for (const [i, w] of (deps.watches ?? []).entries()) {
    const id = `${w.resource.group}/${w.resource.plural}?${w.labelSelector ?? ''}`;
    let inf = shared.get(id);
    if (!inf) {
      const name = `${w.resource.plural}-watch-${i}`;
      inf = createResourceInformer(deps.kubeConfig, client, w.resource, { ...informerOpts(name), ...(w.labelSelector ? { labelSelector: w.labelSelector } : {}) });
      informers.set(name, inf);
      shared.set(id, inf);
    }
    addWatch(w.kind, { informer: inf, map: w.map, ...(w.ownWrite ? { ownWrite: w.ownWrite } : {}) });
  }

  const controllers = new Map<string, Controller>();
  for (const r of deps.reconcilers) {
    controllers.set(
      r.kind,
      new Controller({
        informer: informers.get(r.kind)!,
        reconciler: r,
        log: log.child({ controller: r.kind }),
        concurrency: o.concurrency,
        backoff: { baseMs: 1000, maxMs: o.maxRequeueSeconds * 1000, jitter: 0.2 },
        resyncMs: o.resyncSeconds * 1000,
        handlerOnResume: o.handlerOnResume,
        timers,
        rateLimiter: bucket,
        metrics,
        watches: watchesFor.get(r.kind) ?? [],
        // An action label (reset-password) asks for work even on a settled object.
        isSettled: (obj) => isSettled(obj) && !obj.metadata?.labels?.[ACTION_LABEL],
        ...(deps.ownWrite ? { ownWrite: (obj: KubernetesObject) => deps.ownWrite!(r.kind, obj) } : {}),
        ...(deps.workAbort ? { workSignal: deps.workAbort.signal } : {}),
        // With leader election, no Kubernetes write once the Lease may have passed on (elector below).
        writeFence: () => elector?.assertLeading(),
      }),
    );
  }

  let resolveDone!: (v: StopResult) => void;
  const done = new Promise<StopResult>((r) => (resolveDone = r));
  let stopping: Promise<void> | undefined;
  const synced = () => [...informers.values()].every((i) => i.hasSynced());

  const startControllers = async () => {
    // Reconciling from a half-filled cache would skip keys as "deleted"; wait for the lists.
    while (!synced() && !stopping) await new Promise((r) => timers.setTimeout(() => r(undefined), 100));
    if (stopping) return;
    for (const c of controllers.values()) c.start();
    log.info({ kinds: [...controllers.keys()] }, 'controllers started');
  };

  const fatal = (reason: string) => {
    if (stopping) return;
    // Another replica may lead already: running work is cancelled now, not after a drain, and
    // nothing new starts (the drain below gets no grace period).
    deps.workAbort?.abort(new Error(reason));
    log.error({ reason }, 'stopping the operator');
    void stop({ release: false }, reason, true, 0).then(() => (deps.onFatal ?? defaultOnFatal(log))(reason));
  };

  const le = o.leaderElection;
  const elector = le.enabled
    ? new LeaderElector({
        kubeConfig: deps.kubeConfig,
        namespace: o.namespace,
        leaseName: le.leaseName,
        ...(le.identity ? { identity: le.identity } : {}),
        leaseDurationMs: le.leaseDurationSeconds * 1000,
        renewDeadlineMs: le.renewDeadlineSeconds * 1000,
        retryPeriodMs: le.retryPeriodSeconds * 1000,
        log,
        timers,
        onStartedLeading: () => {
          metrics.leader.set(1);
          void startControllers();
        },
        onStoppedLeading: (reason) => {
          metrics.leader.set(0);
          fatal(`lost leadership: ${reason}`);
        },
      })
    : undefined;

  const readiness: ReadinessCheck[] = [
    { name: 'informers', check: () => synced() || `not synced: ${[...informers.entries()].filter(([, i]) => !i.hasSynced()).map(([k]) => k).join(', ')}` },
    { name: 'leader-election', check: () => !elector || elector.isLeader() || elector.isHealthy() || 'cannot reach the Lease' },
    { name: 'shutdown', check: () => !stopping || 'shutting down' },
  ];
  let health: HealthServer | undefined;
  if (o.healthPort !== 0) {
    health = await startHealthServer({ port: Math.max(0, o.healthPort), ...(o.healthHost ? { host: o.healthHost } : {}), registry: metrics.registry, readiness });
  }

  // Started only now: a health port already in use fails startManager with nothing left running.
  for (const inf of informers.values()) inf.start();
  if (elector) elector.start();
  else {
    metrics.leader.set(1);
    void startControllers();
  }
  log.info({ leaderElection: le.enabled, identity: elector?.identity, namespaces: o.watchNamespaces.length ? o.watchNamespaces : 'all', healthPort: health?.port }, 'manager started');

  async function stop(so: { release?: boolean } = {}, reason = 'stopped', isFatal = false, graceMs?: number): Promise<void> {
    if (stopping) return stopping;
    stopping = (async () => {
      const grace = graceMs ?? o.shutdownGraceMs ?? 7000;
      const drained = await Promise.all([...controllers.values()].map((c) => c.stop(grace)));
      if (drained.some((d) => !d)) log.warn({ graceMs: grace }, 'reconciles still running at shutdown were abandoned');
      // The Lease is released only after every reconcile returned or was abandoned and cancelled.
      // Also when the controllers had not started yet (a SIGTERM right after winning the Lease):
      // startControllers sees `stopping` and never starts them, so nothing can run after the release.
      deps.workAbort?.abort(new Error(reason));
      await elector?.stop({ release: so.release !== false });
      metrics.leader.set(0);
      await Promise.all([...informers.values()].map((i) => i.stop()));
      await health?.close();
      log.info({ reason }, 'manager stopped');
      resolveDone({ reason, fatal: isFatal });
    })();
    return stopping;
  }

  return {
    metrics,
    healthPort: health?.port,
    identity: elector?.identity,
    informers,
    controllers,
    isLeader: () => (elector ? elector.isLeader() : true),
    ready: () => readiness.every((r) => r.check() === true),
    stop: (so) => stop(so),
    done,
  };
}

function defaultOnFatal(log: Logger) {
  return (reason: string) => {
    log.fatal({ reason }, 'exiting');
    process.exit(1);
  };
}

/**
 * The CLI's entry point: everything from the DI container, signals handled, resolves once the
 * operator has stopped (the CLI then closes the backends and exits).
 */
export async function startOperator(container: DependencyContainer): Promise<StopResult> {
  const log = container.resolve<Logger>(Tokens.Logger);
  const { handle, abort, sql } = await launchOperator(container);

  // Exit code if the hard timer has to end the process: 1 while the stop itself hangs.
  let exitCode = 1;
  let hardTimer: NodeJS.Timeout | undefined;
  const armHardExit = () => {
    // Whatever still holds the event loop (a hung socket, a pool), the process is gone in 10 s.
    hardTimer ??= setTimeout(() => {
      log.error('shutdown took too long; exiting hard');
      process.exit(exitCode);
    }, 10_000).unref();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'shutting down');
    armHardExit();
    abort.abort();
    void handle.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  const result = await handle.done;
  armHardExit();
  abort.abort();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  await sql.close().catch((err: unknown) => log.warn({ error: (err as Error).message }, 'closing SQL pools failed'));
  // The CLI turns a fatal stop (lost leadership) into exit code 1, so the pod restarts as a
  // fresh candidate; the hard timer covers anything that would keep the process alive.
  exitCode = result.fatal ? 1 : 0;
  return result;
}

/** A running operator without process-level handling (signals, exit), for startOperator and the testkit. */
export interface LaunchedOperator {
  handle: ManagerHandle;
  /** The work abort: aborting it stops every running reconcile and backend call at once. */
  abort: AbortController;
  sql: SqlAdmin;
}

/**
 * Everything startOperator runs, built from the DI container: reconcilers reading the informer
 * caches, the manager, the Secret watches. `options` replaces manager options from the config.
 */
export async function launchOperator(container: DependencyContainer, options: Partial<ManagerOptions> = {}): Promise<LaunchedOperator> {
  const config = container.resolve<OperatorConfig>(Tokens.Config);
  const log = container.resolve<Logger>(Tokens.Logger);
  const kubeConfig = container.resolve<KubeConnection>(Tokens.KubeConfig);
  const events = container.isRegistered(Tokens.EventRecorder, true)
    ? container.resolve<EventRecorder>(Tokens.EventRecorder)
    : new KubeEventRecorder(kubeConfig, { log });
  const abort = new AbortController();
  // Reads from the informer caches once the manager made them (attach below).
  const kube = new CachedKubeAccess(createKubeAccess(kubeConfig));
  const { server, database, sql } = reconcilersFromContainer(container, { events, signal: abort.signal, kube });
  const managerOptions = { ...managerOptionsFromConfig(config), ...options };

  // Our credentials Secrets (labelled by us) re-queue their owner when they change or go, so a
  // deleted or edited Secret is repaired at once, not at the next resync. Other Secrets are never
  // cached. Watching needs list/watch on Secrets, which the chart grants only when asked
  // (rbac.watchSecrets): without it the resync repairs them.
  const watchSecrets = await mayListAndWatch(kubeConfig, SECRET_RESOURCE, managerOptions.watchNamespaces);
  const secretWatches: ExtraWatch[] = watchSecrets
    ? [SERVER_RESOURCE.kind, DATABASE_RESOURCE.kind].map((kind) => ({
      kind, resource: SECRET_RESOURCE, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`, map: ownerRequests(kind),
      // The Secrets a reconcile writes or deletes itself do not queue it again.
      ownWrite: (obj: KubernetesObject, deleted: boolean) => kube.isOwnWrite('secret', obj, deleted),
    }))
    : [];
  log.info({ watchSecrets }, watchSecrets ? 'credentials Secrets are watched: a deleted Secret is rewritten at once' : 'no list/watch permission on Secrets: a deleted credentials Secret is rewritten at the next resync');
  const handle = await startManager({
    kubeConfig,
    logger: log,
    options: managerOptions,
    reconcilers: [server, database],
    workAbort: abort,
    watches: secretWatches,
    // Our own finalizer and label patches do not queue the object again (status writes never do).
    ownWrite: (kind, obj) => kube.isOwnWrite(kind === SERVER_RESOURCE.kind ? 'server' : 'database', obj),
    // Not process.exit here: startOperator returns { fatal: true } and the CLI exits 1 after
    // closing the backends.
    onFatal: () => undefined,
  });
  kube.attach({
    servers: handle.informers.get(SERVER_RESOURCE.kind),
    databases: handle.informers.get(DATABASE_RESOURCE.kind),
    ...(secretWatches.length ? { secrets: [...handle.informers.entries()].find(([name]) => name.startsWith('secrets-watch-'))?.[1] } : {}),
  });
  return { handle, abort, sql };
}

/** SelfSubjectAccessReview: may this identity list and watch `resource` in every watched namespace? */
async function mayListAndWatch(kubeConfig: KubeConnection, resource: ResourceType, namespaces: string[]): Promise<boolean> {
  const http = new KubeHttp(kubeConfig, 10_000);
  const scopes = namespaces.length ? namespaces : [''];
  try {
    for (const namespace of scopes) {
      for (const verb of ['list', 'watch']) {
        const review = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { group: resource.group, resource: resource.plural, verb, ...(namespace ? { namespace } : {}) } } };
        const r = await http.request<V1SelfSubjectAccessReview>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', review);
        if (!r.status?.allowed) return false;
      }
    }
    return true;
  } catch {
    return false;
  } finally {
    http.close();
  }
}

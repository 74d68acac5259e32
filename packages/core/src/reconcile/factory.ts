import type { KubeConnection } from '../kube/connection.js';
import type { BackendRegistry } from '../backend/registry.js';
import { identityConnectionResolver, type ConnectionResolver } from '../backend/connectionResolver.js';
import type { EventRecorder } from '../kube/events.js';
import type { Logger } from '../observability/logger.js';
import { SqlAdmin } from '../sql/admin.js';
import { DEFAULT_TIMEOUTS, PoolManager } from '../sql/pools.js';
import { systemClock, Tokens, type Clock } from '../tokens.js';
import type { DependencyContainer } from 'tsyringe';
import type { OperatorConfig } from '../config/schema.js';
import { WarningMemory } from './common.js';
import { DatabaseReconciler } from './databaseReconciler.js';
import { createKubeAccess, type KubeAccess } from './kubeAccess.js';
import { ServerReconciler } from './serverReconciler.js';

export interface CreateReconcilersOptions {
  kubeConfig: KubeConnection;
  registry: BackendRegistry;
  events: EventRecorder;
  log: Logger;
  generatePassword: () => string;
  resyncMs: number;
  signal?: AbortSignal;
  sql?: SqlAdmin;
  resolver?: ConnectionResolver;
  clock?: Clock;
  kube?: KubeAccess;
}

/** The two reconcilers sharing one SQL pool manager and warning memory. */
export function createReconcilers(o: CreateReconcilersOptions): { server: ServerReconciler; database: DatabaseReconciler; sql: SqlAdmin } {
  const sql = o.sql ?? new SqlAdmin();
  const deps = {
    kube: o.kube ?? createKubeAccess(o.kubeConfig),
    registry: o.registry,
    events: o.events,
    sql,
    resolver: o.resolver ?? identityConnectionResolver,
    generatePassword: o.generatePassword,
    log: o.log,
    clock: o.clock ?? systemClock,
    resyncMs: o.resyncMs,
    signal: o.signal ?? new AbortController().signal,
    warnings: new WarningMemory(),
  };
  return { server: new ServerReconciler(deps), database: new DatabaseReconciler(deps), sql };
}

/**
 * The reconcilers from the operator's DI container (what the controller manager calls):
 * config (resync), logger, kube config, backend registry, connection resolver, password
 * generator, clock and the EventRecorder (Tokens.EventRecorder, or `events` given here).
 */
export function reconcilersFromContainer(
  c: DependencyContainer,
  extra: { events?: EventRecorder; signal?: AbortSignal; kube?: KubeAccess } = {},
): { server: ServerReconciler; database: DatabaseReconciler; sql: SqlAdmin } {
  const config = c.resolve<OperatorConfig>(Tokens.Config);
  const events = extra.events ?? (c.isRegistered(Tokens.EventRecorder, true) ? c.resolve<EventRecorder>(Tokens.EventRecorder) : undefined);
  if (!events) throw new Error('reconcilersFromContainer: no EventRecorder registered (Tokens.EventRecorder)');
  return createReconcilers({
    kubeConfig: c.resolve<KubeConnection>(Tokens.KubeConfig),
    registry: c.resolve<BackendRegistry>(Tokens.BackendRegistry),
    events,
    log: c.resolve<Logger>(Tokens.Logger),
    generatePassword: c.resolve<() => string>(Tokens.PasswordGenerator),
    resyncMs: config.operator.resync_seconds * 1000,
    // The per-server parallel bound: a reconcile waits for one of these pooled sessions.
    sql: new SqlAdmin(new PoolManager({ maxPools: 64, maxConnectionsPerPool: config.operator.sql_connections_per_server ?? 4, timeouts: DEFAULT_TIMEOUTS })),
    resolver: c.resolve<ConnectionResolver>(Tokens.ConnectionResolver),
    clock: c.resolve<Clock>(Tokens.Clock),
    ...(extra.signal ? { signal: extra.signal } : {}),
    ...(extra.kube ? { kube: extra.kube } : {}),
  });
}

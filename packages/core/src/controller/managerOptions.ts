/** What the controller manager needs from the configuration, in its own units. */
import type { OperatorConfig } from '../config/schema.js';

export interface ManagerOptions {
  /** Namespace of the operator (where its Lease lives). */
  namespace: string;
  /** Empty: all namespaces. */
  watchNamespaces: string[];
  /** Reconciles in parallel per kind. */
  concurrency: number;
  resyncSeconds: number;
  /** Upper bound of the retry backoff (base 1 s). */
  maxRequeueSeconds: number;
  /** Global token bucket shared by all controllers. */
  rateLimitPerSecond: number;
  /** Default: five seconds' worth, at least 10. */
  rateLimitBurst?: number;
  /** 0 = no health server; tests may pass -1 for "any free port". */
  healthPort: number;
  healthHost?: string;
  leaderElection: {
    enabled: boolean;
    leaseName: string;
    leaseDurationSeconds: number;
    renewDeadlineSeconds: number;
    retryPeriodSeconds: number;
    identity?: string;
  };
  handlerOnResume: boolean;
  /** Runs in flight get this long to finish on shutdown; default 7 s (the process must be gone in 10). */
  shutdownGraceMs?: number;
}

export function managerOptionsFromConfig(config: OperatorConfig): ManagerOptions {
  const o = config.operator;
  return {
    namespace: o.namespace,
    watchNamespaces: [...o.watch_namespaces],
    concurrency: o.concurrency,
    resyncSeconds: o.resync_seconds,
    maxRequeueSeconds: o.max_requeue_seconds,
    rateLimitPerSecond: o.rate_limit_per_second,
    healthPort: o.health_port,
    leaderElection: {
      enabled: o.leader_election.enabled,
      leaseName: o.leader_election.lease_name,
      leaseDurationSeconds: o.leader_election.lease_duration_seconds,
      renewDeadlineSeconds: o.leader_election.renew_deadline_seconds,
      retryPeriodSeconds: o.leader_election.retry_period_seconds,
    },
    handlerOnResume: config.handler_on_resume,
  };
}

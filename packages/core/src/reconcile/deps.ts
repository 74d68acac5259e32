import type { BackendRegistry } from '../backend/registry.js';
import type { ConnectionResolver } from '../backend/connectionResolver.js';
import type { EventRecorder } from '../kube/events.js';
import type { Logger } from '../observability/logger.js';
import type { SqlAdmin } from '../sql/admin.js';
import type { Clock } from '../tokens.js';
import type { KubeAccess } from './kubeAccess.js';
import type { WarningMemory } from './common.js';

/** Everything the reconcilers use, as a plain object (built by the DI container or by tests). */
export interface ReconcileDeps {
  kube: KubeAccess;
  registry: BackendRegistry;
  events: EventRecorder;
  sql: SqlAdmin;
  resolver: ConnectionResolver;
  generatePassword: () => string;
  log: Logger;
  clock: Clock;
  /** Periodic re-reconcile of ready objects (drift detection). */
  resyncMs: number;
  /** Aborted on shutdown or lost leadership. */
  signal: AbortSignal;
  warnings: WarningMemory;
}

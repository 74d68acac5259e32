import type { Endpoint, Problem, ServerRequest } from '@hybridcloud-postgresql/core';
import type { ChartReference } from './releases.js';

/** What a live release looks like to a profile (for adoption of installs made by the Python operator). */
export interface LiveRelease {
  values: Record<string, unknown>;
}

export interface RenderedValues {
  values: Record<string, unknown>;
  /** Reason → message, reported once as Warning Event + status by core (Op.warn). */
  warnings: Array<{ reason: string; message: string }>;
}

/**
 * Everything chart-specific of an in-cluster backend. HelmServerBackend does the rest (release
 * lifecycle, admin Secret, readiness, password changes, volume cleanup) the same way for each chart.
 */
export interface ChartProfile {
  /** Backend id, for messages. */
  readonly id: string;
  readonly chart: ChartReference;
  /** helm --no-hooks (a hook Job would make helm wait for it, which blocks a worker). */
  readonly noHooks: boolean;
  readonly pvcCleanup: boolean;
  readonly helmTimeoutSeconds: number;
  releaseName(s: ServerRequest): string;
  /** Secret the chart reads the admin password from (existingSecret / passwordSecretName). */
  adminSecretName(s: ServerRequest): string;
  /** Key in that Secret holding the password the database currently accepts. */
  readonly adminSecretKey: string;
  /** The password a freshly initialised server has before the operator changes it (YugabyteDB: 'yugabyte'); undefined = the Secret's value is applied at init. */
  readonly initialPassword?: string;
  /** Login clients and core use (admin_username). */
  adminUsername(s: ServerRequest, live?: LiveRelease): string;
  /** The superuser the chart itself creates with the Secret's password; the admin user is made a superuser through it when they differ. */
  superuser(s: ServerRequest, live?: LiveRelease): string;
  validate(s: ServerRequest): Problem[];
  values(s: ServerRequest, live?: LiveRelease): RenderedValues;
  endpoint(s: ServerRequest, live?: LiveRelease): Endpoint;
  /** StatefulSets whose readiness makes the server ready. */
  statefulSets(s: ServerRequest, live?: LiveRelease): string[];
  /** Password of an install this operator did not make yet (the Python operator's chart-rendered Secret), for adoption. */
  legacyPassword?(s: ServerRequest, read: (name: string) => Promise<Record<string, string> | undefined>, live?: LiveRelease): Promise<string | undefined>;
  /** How ALTER ROLE sends the new password (default scram). */
  readonly passwordFormat?: 'scram' | 'md5';
  /** Refuse an update the chart cannot do (e.g. a major version change on an existing data directory). */
  checkUpdate?(s: ServerRequest, live: LiveRelease): Problem | undefined;
}

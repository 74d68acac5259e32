import type { Endpoint, Problem, ServerRequest } from '@hybridcloud-postgresql/core';
import type { ChartReference } from './releases.js';

/** What a live release looks like to a profile (for adoption of installs made by the Python operator). */
export interface LiveRelease {
  values: Record<string, unknown>;
  /** helm's `chart` column of the release ('postgresql-11.9.13'). */
  chart?: string;
  /** The chart's appVersion the release was installed from (the default image's version). */
  appVersion?: string;
  /** Container images of the release's StatefulSets as they run now. */
  images?: string[];
}

/** A database major version (PostgreSQL '14', YugabyteDB release series '2.13') and where it was read. */
export interface MajorVersion {
  major: string;
  /** 'image docker.io/bitnami/postgresql:14.5.0-debian-11-r14', 'release values image.tag', 'chart appVersion 14.5.0'. */
  source: string;
  /** The exact image tag that runs it, when known: the pin that keeps the major. */
  tag?: string;
}

/** How a release the Python operator installed compares with what it would render for today's spec. */
export interface LegacyComparison {
  /** The release holds what the Python operator rendered for this spec and config: nothing to change. */
  unchanged: boolean;
  /** Where our reading of the same spec/config differs from the live release (kept while unchanged). */
  differences: string[];
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
  /**
   * The chart's pods are Ready before the database accepts logins (YugabyteDB 2026.1.0 has its
   * readiness probes off): the server counts as ready only once a real admin login succeeds.
   */
  readonly loginReadiness?: boolean;
  /**
   * A refused login (28P01) while the server starts is transient for this long after it was first
   * seen (YSQL answers so until its role catalog is served); only then is it AdminPasswordMismatch.
   * undefined = terminal at once.
   */
  readonly startupAuthGraceMs?: number;
  /** How ALTER ROLE sends the new password (default scram). */
  readonly passwordFormat?: 'scram' | 'md5';
  /** Refuse an update the chart cannot do (other than a major version change, which the backend checks itself). */
  checkUpdate?(s: ServerRequest, live: LiveRelease): Problem | undefined;
  /** Name of the database product in messages ('PostgreSQL', 'YugabyteDB'). */
  readonly product: string;
  /** The major of a version or image tag ('14.5.0-debian-11-r14' → '14'); undefined when not a version. */
  majorOf(version: string): string | undefined;
  /** The image tag rendered values ask for; undefined = the chart's default (its appVersion). */
  valuesImageTag(values: Record<string, unknown>): string | undefined;
  /** The same values with the image tag set (the pin that keeps a live major). */
  withImageTag(values: Record<string, unknown>, tag: string): Record<string, unknown>;
  /** Keep releases the Python operator installed as they are while the spec is unchanged (config `python_releases: keep`). */
  readonly keepPythonReleases: boolean;
  /** undefined when the live release was not installed by the Python operator. */
  comparePythonRelease?(s: ServerRequest, live: LiveRelease): LegacyComparison | undefined;
}

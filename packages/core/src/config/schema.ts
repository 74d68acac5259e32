/**
 * The operator configuration file, as one TypeBox schema with defaults. Keys keep the original
 * operator's snake_case spelling so existing config files load unchanged; everything under
 * `operator:` and `plugins:` is new in this implementation.
 *
 * Backend sections (`backends.<id>`) are only typed as objects here: each backend package ships
 * the schema of its own section (BackendDefinition.configSchema), applied by the loader.
 */
import { Type, type Static } from '@sinclair/typebox';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** A Kubernetes namespace name (RFC 1123 label). */
const NAMESPACE = { minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' };

export const LeaderElectionSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Run with a Lease so that only one replica reconciles.' }),
    lease_name: Type.String({ minLength: 1, maxLength: 253, default: 'hybrid-cloud-postgresql-operator', description: 'Name of the Lease in the operator namespace.' }),
    lease_duration_seconds: Type.Integer({ minimum: 1, maximum: 3600, default: 15, description: 'How long a lease is valid without renewal.' }),
    renew_deadline_seconds: Type.Integer({ minimum: 1, maximum: 3600, default: 10, description: 'The leader gives up leadership if it cannot renew within this time.' }),
    retry_period_seconds: Type.Integer({ minimum: 1, maximum: 600, default: 2, description: 'Interval between attempts to acquire or renew.' }),
  },
  { additionalProperties: false, default: {} },
);

export const OperatorSettingsSchema = Type.Object(
  {
    namespace: Type.Optional(Type.String({ ...NAMESPACE, description: 'Namespace the operator runs in (Lease, temporary Secrets). Default: env POD_NAMESPACE, KUBERNETES_NAMESPACE, else "default".' })),
    watch_namespaces: Type.Array(Type.String(NAMESPACE), { uniqueItems: true, default: [], description: 'Namespaces to watch; empty = all namespaces.' }),
    concurrency: Type.Integer({ minimum: 1, maximum: 256, default: 4, description: 'Resources reconciled in parallel per kind.' }),
    sql_connections_per_server: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'Admin sessions on one PostgreSQL server at once (pooled ones, reused across reconciles, and those inside a database): the per-server parallel bound of provisioning; reconciles beyond it wait for a session.' }),
    resync_seconds: Type.Integer({ minimum: 10, maximum: 86400, default: 300, description: 'Every ready resource is reconciled again after this time (drift detection).' }),
    max_requeue_seconds: Type.Integer({ minimum: 1, maximum: 86400, default: 300, description: 'Upper bound of the exponential retry backoff.' }),
    rate_limit_per_second: Type.Number({ exclusiveMinimum: 0, maximum: 10000, default: 20, description: 'Global limit of reconciles started per second.' }),
    health_port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'Port serving /healthz, /readyz and /metrics (0 = disabled).' }),
    leader_election: LeaderElectionSchema,
    log_level: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { default: 'info', description: 'Log level.' }),
  },
  { additionalProperties: false, default: {} },
);

export const SecuritySchema = Type.Object(
  {
    password_length: Type.Integer({ minimum: 8, maximum: 128, default: 16, description: 'Length of generated passwords.' }),
    special_characters: Type.Boolean({ default: true, description: 'Use the special characters +-_.:<>? in generated passwords.' }),
  },
  { additionalProperties: false, default: {} },
);

export const PluginsSchema = Type.Object(
  {
    paths: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'Extra directories holding backend packages (a package directory or a node_modules-like directory of packages).' }),
  },
  { additionalProperties: false, default: {} },
);

/** A backend section before its backend's own schema is applied: any object. */
export const BackendSectionSchema = Type.Record(Type.String(), Type.Unknown());

export const OperatorConfigSchema = Type.Object(
  {
    handler_on_resume: Type.Boolean({ default: false, description: 'Kept for compatibility: this operator reconciles every resource at start and periodically anyway.' }),
    backend: Type.String({ minLength: 1, maxLength: 63, description: 'Default backend, required.' }),
    allowed_backends: Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { default: [], uniqueItems: true, description: 'Backends users may select with spec.backend; empty = the default backend is always used.' }),
    backends: Type.Record(Type.String(), BackendSectionSchema, { default: {}, description: 'Per-backend sections; azure and aws are key-by-key fallbacks for their backends.' }),
    security: SecuritySchema,
    operator: OperatorSettingsSchema,
    plugins: PluginsSchema,
  },
  { additionalProperties: false },
);

type RawOperatorConfig = Static<typeof OperatorConfigSchema>;

/** The validated configuration with every default applied. */
export type OperatorConfig = Omit<RawOperatorConfig, 'operator' | 'backends'> & {
  operator: Omit<RawOperatorConfig['operator'], 'namespace'> & { namespace: string };
  /**
   * Backend sections. For a loaded backend this is its effective section: virtual-parent keys
   * merged in, nulls removed, the backend's defaults applied and validated.
   */
  backends: Record<string, Record<string, unknown>>;
};
export type SecurityConfig = OperatorConfig['security'];
export type OperatorSettings = OperatorConfig['operator'];
export type LeaderElectionConfig = OperatorSettings['leader_election'];

/** Virtual backend sections: fallbacks for their children, never loaded themselves. */
export const VIRTUAL_PARENTS = ['azure', 'aws'] as const;

/** Ids of the backends the original operator shipped (sections for them are never "unknown"). */
export const WELL_KNOWN_BACKEND_IDS = ['azurepostgres', 'azurepostgresflexible', 'awsrds', 'awsaurora', 'helmbitnami', 'helmyugabyte', 'external'] as const;

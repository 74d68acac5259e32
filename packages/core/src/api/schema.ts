/**
 * The single source of truth for the two custom resources: TypeScript types are derived from
 * these TypeBox schemas, and the CRD YAML in charts/hybrid-cloud-postgresql-operator-crds is
 * generated from them (`pnpm --filter @hybridcloud-postgresql/core run gen:crds`); a test fails
 * when the committed YAML is stale.
 *
 * Kubernetes-specific keywords (x-kubernetes-validations = CEL rules) are carried as extra
 * schema properties; TypeBox ignores them, the generator copies them.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const GROUP = 'hybridcloud.maibornwolff.de';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

const cel = (rule: string, message: string) => ({ rule, message });
const withCel = <T extends TSchema>(schema: T, ...rules: Array<{ rule: string; message: string }>): T =>
  ({ ...schema, 'x-kubernetes-validations': rules }) as T;

// The CEL IP library (Kubernetes >= 1.31) rejects leading zeros and IPv4-mapped IPv6 forms.
const IPV4 = 'isIP(self) && ip(self).family() == 4';
/** IPv4 as a number, for comparing a range's ends (only evaluated once both are valid IPv4). */
const ipNumber = (f: string) => [0, 1, 2, 3].map((i) => `int(self.${f}.split('.')[${i}]) * ${256 ** (3 - i)}`).join(' + ');
const IPV4_ORDER = `!(isIP(self.startIp) && isIP(self.endIp) && ip(self.startIp).family() == 4 && ip(self.endIp).family() == 4) || ${ipNumber('startIp')} <= ${ipNumber('endIp')}`;
/** A Secret / object name (RFC 1123 subdomain). */
const OBJECT_NAME = { minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' };
/** Short strings keep CEL cost estimates low and stop absurd input at admission. */
const NAME = { minLength: 1, maxLength: 63 };

export const FirewallRule = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 80, description: 'Name of the firewall rule in the backend.' }),
    startIp: withCel(Type.String({ description: 'First IPv4 address of the allowed range.', maxLength: 15 }), cel(IPV4, 'startIp must be an IPv4 address')),
    endIp: withCel(Type.String({ description: 'Last IPv4 address of the allowed range.', maxLength: 15 }), cel(IPV4, 'endIp must be an IPv4 address')),
  },
  {
    description: 'An IPv4 range allowed to connect to the server from outside the cluster.',
    'x-kubernetes-validations': [cel(IPV4_ORDER, 'startIp must not be greater than endIp')],
  },
);

export const ServerSpec = Type.Object(
  {
    backend: Type.Optional(Type.String({ maxLength: 63, description: 'Backend to use (for example awsrds, azurepostgresflexible, helmbitnami). Leave empty unless your platform admin tells you otherwise; it must be one of the allowed backends.' })),
    version: Type.Optional(Type.String({ maxLength: 32, description: "PostgreSQL major version such as '16'. Empty or 'latest' selects the newest version the backend offers; an unavailable version falls back to the backend's default with a warning." })),
    size: Type.Optional(
      Type.Object(
        {
          class: Type.Optional(Type.String({ maxLength: 63, description: 'Resource class defined by the operator admin. When set, cpu and memoryMB are ignored.' })),
          cpu: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024, description: 'Number of CPU cores. The backend picks the smallest size that meets cpu and memoryMB.' })),
          memoryMB: Type.Optional(Type.Integer({ minimum: 1, description: 'Memory in MB.' })),
          storageGB: Type.Optional(Type.Integer({ minimum: 1, description: 'Size of the storage in GB (must be positive). Backends have their own minimum (Azure flexible 32, single server 100, AWS 20).' })),
          storageAutoGrow: Type.Optional(Type.Boolean({ description: 'Grow the storage automatically where the backend supports it.' })),
        },
        { description: 'Size of the server: a class, or cpu and memoryMB, plus storage.' },
      ),
    ),
    backup: Type.Optional(
      Type.Object(
        {
          retentionDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 35, description: 'Days to keep backups. Limits depend on the backend (Azure 7-35, AWS 0-35 where 0 disables backups).' })),
          geoRedundant: Type.Optional(Type.Boolean({ description: 'Store backups in more than one region where the backend supports it.' })),
        },
        { description: 'Automatic backups, where the backend supports them.' },
      ),
    ),
    extensions: Type.Optional(Type.Array(Type.String(NAME), { maxItems: 64, 'x-kubernetes-list-type': 'set', description: 'PostgreSQL extensions to make available on the server (Azure backends allow-list and preload them).' })),
    network: Type.Optional(
      Type.Object(
        { firewallRules: Type.Optional(Type.Array(FirewallRule, { maxItems: 128, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], description: 'Firewall rules, where the backend supports them.' })) },
        { description: 'Network related settings.' },
      ),
    ),
    serverParameters: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 4096 }), { maxProperties: 512, description: 'PostgreSQL server parameters (name to value, both strings), where the backend supports them.' })),
    maintenance: Type.Optional(
      Type.Object(
        {
          window: Type.Optional(
            Type.Object(
              {
                weekday: withCel(Type.String({ maxLength: 16, description: 'Weekday as a three-letter English name: Mon, Tue, Wed, Thu, Fri, Sat, Sun.' }), cel("self in ['Mon','Tue','Wed','Thu','Fri','Sat','Sun']", 'weekday must be one of Mon, Tue, Wed, Thu, Fri, Sat, Sun')),
                starttime: withCel(Type.String({ description: 'Start time as HH:MM (24 h, UTC).', maxLength: 16 }), cel("self.matches('^([01][0-9]|2[0-3]):[0-5][0-9]$')", 'starttime must be HH:MM (00:00-23:59)')),
              },
              { description: 'Weekly maintenance window.' },
            ),
          ),
        },
        { description: 'Maintenance settings, where the backend supports them.' },
      ),
    ),
    highavailability: Type.Optional(
      Type.Object(
        { enabled: Type.Optional(Type.Boolean({ description: 'Run a standby instance where the backend supports it.' })) },
        { description: 'High availability settings.' },
      ),
    ),
    credentialsSecret: withCel(Type.String({ ...OBJECT_NAME, description: 'Name of the Secret (same namespace) the operator writes the admin credentials to. Cannot be changed.' }), cel('self == oldSelf', 'credentialsSecret is immutable')),
  },
  { description: 'Desired state of a PostgreSQL server.' },
);

export const DatabaseSpec = Type.Object(
  {
    serverRef: withCel(
      Type.Object(
        { name: Type.String({ ...OBJECT_NAME, description: 'Name of the PostgreSQLServer in the same namespace.' }) },
        { description: 'The server this database lives on. Cannot be changed.' },
      ),
      cel('self == oldSelf', 'serverRef is immutable'),
    ),
    database: Type.Optional(
      Type.Object(
        {
          charset: Type.Optional(Type.String({ maxLength: 63, description: 'Character set (encoding), default depends on the backend (UTF8 usually).' })),
          collation: Type.Optional(Type.String({ maxLength: 128, description: 'Collation, default depends on the backend.' })),
          extensions: Type.Optional(Type.Array(Type.String(NAME), { maxItems: 64, 'x-kubernetes-list-type': 'set', description: 'Extensions to create in this database (CREATE EXTENSION); on Azure only those enabled on the server.' })),
        },
        { description: 'Settings of the database.' },
      ),
    ),
    credentialsSecret: withCel(Type.String({ ...OBJECT_NAME, description: 'Name of the Secret (same namespace) the operator writes this database\'s credentials to. Cannot be changed.' }), cel('self == oldSelf', 'credentialsSecret is immutable')),
  },
  { description: 'Desired state of a database with its own user on a PostgreSQLServer.' },
);

export const Condition = Type.Object(
  {
    type: Type.String({ maxLength: 316, description: 'Type of the condition, e.g. Ready.' }),
    status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')], { description: 'True, False or Unknown.' }),
    reason: Type.String({ maxLength: 1024, description: 'Machine-readable reason in CamelCase.' }),
    message: Type.String({ maxLength: 32768, description: 'What happened and what to do about it.' }),
    lastTransitionTime: Type.String({ format: 'date-time', description: 'When the status last changed (RFC 3339).' }),
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: 'The generation this condition was computed for.' })),
  },
  { description: 'A condition of the resource.' },
);

export const Status = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ description: 'The metadata.generation the operator last acted on.' })),
    conditions: Type.Optional(
      Type.Array(Condition, {
        maxItems: 32,
        description: 'Current conditions; Ready tells whether the resource can be used.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    backend: Type.Optional(Type.String({ description: 'The backend that manages this resource. Sticky once set.' })),
    unsupportedFields: Type.Optional(Type.Array(Type.String(), { description: 'Spec fields the backend cannot honour and therefore ignores.' })),
    deployment: Type.Optional(
      Type.Object(
        {
          status: Type.Optional(Type.String({ description: 'working, finished or failed (kept for compatibility with the Python operator).' })),
          reason: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'Short human readable reason.' })),
          'latest-update': Type.Optional(Type.String({ description: 'Time of the last status update.' })),
        },
        { description: 'Legacy status of the Python operator, kept for tools that read it.' },
      ),
    ),
    // kopf (the Python operator's framework) kept its handler progress here. Declared so existing
    // objects keep it until the operator adopts them instead of losing it to pruning.
    kopf: Type.Optional(Type.Object({}, { description: 'Leftover state of the Python operator (kopf); removed when adopted.', 'x-kubernetes-preserve-unknown-fields': true })),
  },
  { description: 'Observed state, written by the operator.' },
);

export type ServerSpec = Static<typeof ServerSpec>;
export type DatabaseSpec = Static<typeof DatabaseSpec>;
export type FirewallRule = Static<typeof FirewallRule>;
export type Condition = Static<typeof Condition>;
export type ResourceStatus = Static<typeof Status>;

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
}

export interface PostgreSQLServer {
  apiVersion: typeof API_VERSION;
  kind: 'PostgreSQLServer';
  metadata: ObjectMeta;
  spec: ServerSpec;
  status?: ResourceStatus;
}

export interface PostgreSQLDatabase {
  apiVersion: typeof API_VERSION;
  kind: 'PostgreSQLDatabase';
  metadata: ObjectMeta;
  spec: DatabaseSpec;
  status?: ResourceStatus;
}

export const SERVER_KIND = { kind: 'PostgreSQLServer', plural: 'postgresqlservers', singular: 'postgresqlserver', shortNames: ['pg', 'postgre', 'postgres'] } as const;
export const DATABASE_KIND = { kind: 'PostgreSQLDatabase', plural: 'postgresqldatabases', singular: 'postgresqldatabase', shortNames: ['pgdb', 'database', 'db'] } as const;

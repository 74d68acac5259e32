/**
 * The contract between core and a backend package (shape after crossplane-runtime's
 * ExternalClient: observe / create / update / delete). Core owns everything Kubernetes:
 * finalizers, status, events, Secrets, retries and SQL. A backend only knows its environment.
 */
import type { TSchema } from '@sinclair/typebox';
import type { KubeConfig } from '@kubernetes/client-node';
import type { DatabaseSpec, ServerSpec } from '../api/schema.js';
import type { Logger } from '../observability/logger.js';
import type { ConnectionResolver } from './connectionResolver.js';

/** Bumped on breaking changes of this file; a plugin declaring another version is refused. */
export const BACKEND_API_VERSION = 1;

/** Spec fields a backend can honour. Fields it cannot are reported once (Warning Event + status). */
export interface Capabilities {
  /** spec.size.cpu / spec.size.memoryMB */
  sizeByCpuMemory: boolean;
  storageAutoGrow: boolean;
  backupRetention: boolean;
  geoRedundantBackup: boolean;
  /** spec.extensions (server-level allow-list / preload) */
  serverExtensions: boolean;
  firewallRules: boolean;
  serverParameters: boolean;
  maintenanceWindow: boolean;
  highAvailability: boolean;
}

/**
 * How a role's password reaches the server's catalog: a SCRAM-SHA-256 verifier (PostgreSQL ≥ 10),
 * or an md5 verifier ('md5' || md5(password || role)) for servers whose logins speak only md5.
 */
export type PasswordFormat = 'scram-sha-256' | 'md5';

/** The format core uses for a backend's roles: the first it declares, SCRAM when it declares none. */
export function rolePasswordFormat(b: { readonly passwordFormats?: readonly PasswordFormat[] | undefined }): PasswordFormat {
  return b.passwordFormats?.[0] ?? 'scram-sha-256';
}

/** Where clients reach the server, as written into the credentials Secret. */
export interface Endpoint {
  host: string;
  port: number;
  /** libpq sslmode clients should use: 'require', 'verify-full', 'disable', ... */
  sslmode: string;
  /** Admin login as clients must type it (Azure single server: 'admin@server'). */
  adminUsername: string;
  /** Database to connect to for administration, normally 'postgres'. */
  adminDatabase?: string;
}

export type Progress =
  | { state: 'pending'; pollAfterMs: number; message: string }
  | { state: 'ready'; endpoint: Endpoint }
  | { state: 'gone' };

export interface ServerObservation {
  /** false → core calls createServer. */
  exists: boolean;
  /** true when the live server differs from the request (core then calls updateServer). */
  upToDate: boolean;
  /** Ready to accept connections (then `endpoint` is set). */
  ready: boolean;
  endpoint?: Endpoint;
  /** Human-readable state from the backend ('creating', 'Updating', 'StatefulSet 0/1 ready'). */
  message?: string;
  /** Free-form facts for the update step (the live SKU, version, tags ...). */
  live?: unknown;
}

/** The resolved desired state of one PostgreSQLServer. Backends never read raw CRs. */
export interface ServerRequest {
  namespace: string;
  /** metadata.name of the CR */
  name: string;
  /** metadata.uid of the CR, for tags that identify the owner across renames. */
  uid: string;
  spec: ServerSpec;
  /**
   * Backend-owned durable state kept on the CR (annotations under `<id>.backends.hybridcloud.maibornwolff.de/`),
   * e.g. a resume token or a cloud identifier. Survives operator restarts.
   */
  state: Readonly<Record<string, string>>;
  /**
   * Whether an existing, unmarked role of the derived name may be taken over (objects of the
   * Python operator, the adopt annotation; see core's adoption.ts). Pass it on in the Claim given
   * to SqlAdmin.ensureRole / dropRole; without it a taken name is NameTaken.
   */
  adopt?: boolean;
  /**
   * For an object the Python operator managed: the spec it last handled (kopf's
   * `last-handled-configuration`). While `spec` still equals it the object is adopted unchanged,
   * and a backend that reads the same spec differently keeps the live value (docs/migration.md).
   */
  pythonOperatorSpec?: ServerSpec;
}

/** JSON with sorted keys, for comparing specs that went through different serialisers. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined && (v as Record<string, unknown>)[k] !== null).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** True for an object the Python operator managed whose spec nobody changed since (see pythonOperatorSpec). */
export function unchangedSincePythonOperator(s: Pick<ServerRequest, 'spec' | 'pythonOperatorSpec'>): boolean {
  return s.pythonOperatorSpec !== undefined && canonical(s.spec) === canonical(s.pythonOperatorSpec);
}

export interface DatabaseRequest {
  namespace: string;
  name: string;
  uid: string;
  spec: DatabaseSpec;
  /** PostgreSQL database name: metadata.name with '-' → '_' (as the original). */
  databaseName: string;
  /** PostgreSQL role name (same as the database name, as the original). */
  userName: string;
}

/** Per-call context core gives a backend operation. */
export interface Op {
  readonly log: Logger;
  /** Aborted on shutdown or lost leadership; pass it to SDK calls. */
  readonly signal: AbortSignal;
  /** Persist backend state on the CR *before* acting on it (crash-safe intent). null deletes a key. */
  saveState(patch: Record<string, string | null>): Promise<void>;
  /** Warning Event + status message, deduplicated by reason per generation. */
  warn(reason: string, message: string): void;
}

/** An admin connection core's SQL module can open. */
export interface AdminConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  ssl: boolean;
  /** libpq sslmode when known ('require', 'verify-full', ...); wins over `ssl`. */
  sslmode?: string;
}

/**
 * Database hooks: core's default implementation speaks SQL over the admin connection; a backend
 * overrides only what differs (Azure creates databases through ARM, single server needs user@server).
 */
export interface DatabaseHooks {
  /** SQL flavour: YugabyteDB's YSQL lacks some statements (e.g. database-level COLLATE options). */
  dialect?: 'postgresql' | 'yugabyte';
  /** Create the database outside SQL (ARM). Core still applies owner/grants/extensions via SQL. */
  createDatabase?(op: Op, server: ServerRequest, db: DatabaseRequest): Promise<void>;
  /** Delete outside SQL; return false to let core drop it via SQL. */
  deleteDatabase?(op: Op, server: ServerRequest, db: DatabaseRequest): Promise<boolean>;
  /** The login name clients use for a role (Azure single server: `${role}@${serverName}`). */
  loginName?(server: ServerRequest, role: string, endpoint: Endpoint): string;
  /** true → core skips DROP DATABASE on delete (fake deletion); the role is kept too. */
  keepDatabaseOnDelete?(server: ServerRequest, db: DatabaseRequest): boolean;
  /**
   * PostgreSQL names for a database CR. Default: metadata.name with '-' → '_' for both (as the
   * original). Backends whose physical server is shared between namespaces (external) must make
   * them unique per namespace, or one team's CR could take over another team's database.
   */
  names?(server: ServerRequest, db: { namespace: string; name: string }): { databaseName: string; userName: string };
  /**
   * The connection core provisions databases through. Default: the admin login from the server's
   * credentials Secret. The external backend returns the platform admin instead, because the
   * per-server login deliberately lacks CREATEDB/CREATEROLE (see backend-external).
   */
  adminConnection?(op: Op, server: ServerRequest): Promise<AdminConnection>;
  /**
   * Runs after core ensured database, role, grants and extensions (on every reconcile; must be
   * idempotent), e.g. to let the server's admin login act as the database owner.
   */
  databaseProvisioned?(op: Op, server: ServerRequest, db: DatabaseRequest, admin: AdminConnection): Promise<void>;
}

export interface Problem {
  /** JSON path of the offending field, e.g. 'spec.size.storageGB' */
  field: string;
  message: string;
}

export interface Backend {
  readonly id: string;
  readonly capabilities: Capabilities;
  /**
   * Password formats the server accepts for logins, preferred first (optional, API version 1
   * compatible). Unset: SCRAM. Azure single server: ['md5'] (its gateway authenticates with md5 only).
   */
  readonly passwordFormats?: readonly PasswordFormat[];
  /** Pure validation; problems → Ready=False reason InvalidSpec, no retry until the spec changes. */
  validateServer(s: ServerRequest): Problem[];
  /** Cheap read: does it exist, is it up to date, is it ready, where is it? */
  observeServer(op: Op, s: ServerRequest): Promise<ServerObservation>;
  /** Start creating. Must be idempotent: core may call it again after a crash. */
  createServer(op: Op, s: ServerRequest, adminPassword: string): Promise<Progress>;
  /** Bring the live server to the request; adminPassword is set only when it must change. */
  updateServer(op: Op, s: ServerRequest, seen: ServerObservation, adminPassword?: string): Promise<Progress>;
  /** Delete (or fake-delete); 'gone' when nothing is left. Idempotent. */
  deleteServer(op: Op, s: ServerRequest): Promise<Progress>;
  database?: DatabaseHooks;
  /** Release clients, timers. */
  close?(): Promise<void>;
}

/** What core hands a backend factory. A plain object: backends never see the DI container. */
export interface BackendContext<Config = unknown> {
  /** The backend's validated config section, with virtual-parent fallbacks (azure/aws) merged in. */
  config: Config;
  /**
   * The operator config, deeply frozen, with `backends` narrowed to this backend's own section, so a
   * third-party plugin never sees another backend's credentials (security settings etc. are all there).
   */
  operatorConfig: Readonly<Record<string, unknown>>;
  log: Logger;
  /** Kubernetes access for in-cluster backends (helm). */
  kubeConfig: KubeConfig;
  /** Namespace the operator runs in. */
  operatorNamespace: string;
  /** Generates a password that honours security.password_length / special_characters. */
  generatePassword(): string;
  /**
   * The same resolver core uses for SQL: backends that talk to the database themselves (helm
   * backends changing the admin password) must reach it the way core does. Identity in production.
   */
  connectionResolver?: ConnectionResolver;
}

export interface BackendDefinition<Config = unknown> {
  readonly brand: typeof BACKEND_BRAND;
  readonly id: string;
  readonly apiVersion: number;
  /** Human name for logs and docs. */
  readonly displayName: string;
  /**
   * TypeBox/JSON schema of the backend's config section (backends.<id>), with defaults.
   * Unknown keys are rejected by name.
   */
  readonly configSchema: TSchema;
  /** Virtual parent section whose keys are fallbacks, key by key ('azure' | 'aws'). */
  readonly configParent?: string;
  create(ctx: BackendContext<Config>): Backend | Promise<Backend>;
}

export const BACKEND_BRAND = Symbol.for('hybridcloud-postgresql.backend/v1');

/**
 * A local HTTPS server that speaks Azure Resource Manager's protocol, for the Azure backends'
 * tests (no emulator exists). Test code, kept small and close to the REST API specification
 * (azure-rest-api-specs: Microsoft.DBforPostgreSQL flexibleServers 2025-08-01, single servers
 * 2017-12-01, Microsoft.Authorization locks 2020-05-01, Microsoft.Network privateEndpoints /
 * privateDnsZones):
 * - resources addressed by ARM ids; parents must exist (ResourceGroupNotFound, ParentResourceNotFound);
 * - long-running operations answer 201/202 with `Azure-AsyncOperation` and `Location`; the
 *   operation status goes InProgress → Succeeded | Failed ({error:{code,message}}) after a while;
 * - the server's own state (`state` / `userVisibleState`) moves Provisioning/Updating/Restarting/
 *   Dropping → Ready; a server busy with an operation refuses others (409 ServerBusy);
 * - error bodies `{error:{code,message}}`, 404 ResourceNotFound, 429 with Retry-After and 5xx on demand;
 * - management locks block delete (409 ScopeLocked), ReadOnly also blocks writes; only Owner and
 *   User Access Administrator may write locks (setRole('Contributor') → 403 AuthorizationFailed);
 * - passwords are never returned;
 * - one change per server: firewall-rule, parameter and database operations keep a flexible server
 *   Updating; a second change gets 409 ServerBusy or (busyMode 'failedOperation') a failed operation;
 * - finished operations expire (status URLs answer 404), 202 answers carry Retry-After when asked;
 * - the declared patterns (firewall rule and database names, charset, collation), parameter
 *   allowedValues, capability status of versions, supportedZones, maintenanceWindow read/update only,
 *   MissingSubscriptionRegistration. docs/fidelity.md lists what is modelled and what is not.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { selfSignedCertificate } from './tls.js';
import { configurationSeed, flexibleDefaults, singleDefaults } from './postgres.js';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export class ArmError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

interface Resource {
  id: string;
  type: string;
  body: Json;
  /** Id of a running operation that keeps the resource busy. */
  busy?: string;
  /** Running operations of the server's child resources (firewall rules, parameters, databases). */
  childOps?: Set<string>;
}

interface Operation {
  id: string;
  location: string;
  provider: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  doneAt: number;
  /** Epoch ms after which the status URLs answer 404 (set when the operation ends). */
  expiresAt?: number;
  startTime: string;
  endTime?: string;
  resourceId: string;
  /** What the operation did, for the final result of Location polling. */
  method: string;
  error?: OperationError;
  failWith?: OperationError;
  onSuccess(): void;
  onFailure(): void;
}

export interface OperationError {
  code: string;
  message: string;
  details?: Array<{ code: string; message: string }>;
}

export interface RequestRecord {
  method: string;
  path: string;
  apiVersion: string | null;
  status: number;
}

export interface FaultMatch {
  method?: string;
  /** Matched against the decoded request path. */
  path: RegExp;
}

export interface ArmFakeHooks {
  /** A database was created through ARM (tests create it in a real PostgreSQL). */
  databaseCreated?(server: { name: string; fqdn: string }, database: string, charset: string, collation: string): Promise<void>;
  databaseDeleted?(server: { name: string; fqdn: string }, database: string): Promise<void>;
  /** The admin password was set (create) or changed (update). */
  adminPasswordSet?(server: { name: string; fqdn: string }, login: string, password: string): Promise<void>;
}

export interface ArmFakeOptions {
  /** How long a long-running operation stays InProgress. */
  operationMs?: number;
  /** Major versions the capabilities API offers for flexible servers. */
  flexibleVersions?: string[];
  /** Capability status per major version (default Available; the newest offered is Default). */
  versionStatus?: Record<string, CapabilityStatus>;
  /** Availability zones the region offers for every SKU (capabilities `supportedZones`). */
  zones?: string[];
  /** How long a finished operation's status URLs answer before they expire (404). */
  operationTtlMs?: number;
  /** Seconds sent as `Retry-After` with every 201/202 of a long-running operation (0: none). */
  retryAfterSeconds?: number;
}

/** CapabilityStatus of the 2025-08-01 spec. */
export type CapabilityStatus = 'Visible' | 'Available' | 'Default' | 'Disabled';
/** A built-in role of the caller; locks need Microsoft.Authorization/locks/write (Owner, User Access Administrator). */
export type CallerRole = 'Owner' | 'Contributor' | 'User Access Administrator';
/**
 * How a change meets a server already busy with another one: a synchronous 409 ServerBusy, or an
 * accepted request whose long-running operation then fails (ResourceDeploymentFailure with a
 * ServerBusy detail for child resources, ServerIsNotReady … Current Server State = Updating for
 * the server itself), which is how Azure reports most of them.
 */
export type BusyMode = 'conflict' | 'failedOperation';

/** Name and property patterns declared by Microsoft.DBforPostgreSQL 2025-08-01 (openapi.json). */
export const FLEXIBLE_PATTERNS = {
  /** paths …/firewallRules/{firewallRuleName}: parameter firewallRuleName. */
  firewallRuleName: /^[a-zA-Z0-9][-_a-zA-Z0-9]{0,79}(?<!-)$/,
  /** paths …/databases/{databaseName}: parameter databaseName. */
  databaseName: /^[a-zA-Z_][\w-]{0,62}$/,
  /** definitions DatabaseProperties.charset. */
  charset: /^[a-zA-Z]+\w*$/,
  /** definitions DatabaseProperties.collation. */
  collation: /^[a-zA-Z-]+([. ]|\w)*$/,
};

const LRO_TYPES = /^microsoft\.dbforpostgresql\/(flexibleservers|servers)(\/.*)?$|^microsoft\.network\/privateendpoints$/;
const SERVER_TYPES = new Set(['microsoft.dbforpostgresql/flexibleservers', 'microsoft.dbforpostgresql/servers']);

const norm = (id: string) => id.toLowerCase();
const isIpv4 = (s: unknown) => typeof s === 'string' && /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(s);

function deepMerge(target: Json, patch: Json): Json {
  for (const [k, v] of Object.entries(patch)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && target[k] && typeof target[k] === 'object' && !Array.isArray(target[k])) deepMerge(target[k], v);
    else target[k] = structuredClone(v);
  }
  return target;
}

export class ArmFake {
  readonly requests: RequestRecord[] = [];
  hooks: ArmFakeHooks = {};
  operationMs: number;
  flexibleVersions: string[];
  versionStatus: Record<string, CapabilityStatus>;
  zones: string[];
  operationTtlMs: number;
  retryAfterSeconds: number;
  busyMode: BusyMode = 'conflict';
  /** The caller's role (one for every token): what locks it may write. */
  role: CallerRole = 'Owner';
  private readonly unregistered = new Set<string>();
  private readonly resources = new Map<string, Resource>();
  private readonly operations = new Map<string, Operation>();
  private readonly locks = new Map<string, { scope: string; name: string; level: string; notes?: string }>();
  private readonly passwords = new Map<string, string>();
  private readonly faults: Array<FaultMatch & OperationError> = [];
  private readonly throttles: Array<{ match?: FaultMatch; remaining: number; retryAfterSeconds: number; status: number }> = [];
  private privateIp = 4;

  private constructor(private readonly server: Server, readonly url: string, readonly caPem: string, readonly caFile: string, private readonly dir: string, opts: ArmFakeOptions) {
    this.operationMs = opts.operationMs ?? 40;
    this.flexibleVersions = opts.flexibleVersions ?? ['13', '14', '15', '16', '17'];
    this.versionStatus = opts.versionStatus ?? {};
    this.zones = opts.zones ?? ['1', '2', '3'];
    this.operationTtlMs = opts.operationTtlMs ?? 600_000;
    this.retryAfterSeconds = opts.retryAfterSeconds ?? 0;
  }

  static async start(opts: ArmFakeOptions = {}): Promise<ArmFake> {
    const tls = selfSignedCertificate();
    const holder: { fake?: ArmFake } = {};
    const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      void holder.fake!.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.fake = new ArmFake(server, `https://127.0.0.1:${port}`, tls.cert, tls.certFile, tls.dir, opts);
    return holder.fake;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- test API -------------------------------------------------------------------------------

  /** Creates a resource directly (resource groups, virtual networks, subnets, DNS zones). */
  seed(id: string, body: Json = {}): void {
    const type = typeOf(id);
    this.resources.set(norm(id), { id, type, body: { id, name: id.split('/').pop(), type: displayType(id), ...body } });
  }

  seedResourceGroup(subscriptionId: string, resourceGroup: string, location = 'westeurope'): string {
    const id = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
    this.seed(id, { location, properties: { provisioningState: 'Succeeded' } });
    return id;
  }

  /** The resource as a GET returns it now (undefined when absent). */
  get(id: string): Json | undefined {
    this.tick();
    const r = this.resources.get(norm(id));
    return r ? structuredClone(r.body) : undefined;
  }

  /** Direct children of `parentId` of the given child type (e.g. 'firewallRules'). */
  children(parentId: string, childType: string): Json[] {
    this.tick();
    const prefix = norm(`${parentId}/${childType}/`);
    return [...this.resources.entries()].filter(([k]) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/')).map(([, r]) => structuredClone(r.body));
  }

  /** All resource ids of a type, e.g. 'Microsoft.DBforPostgreSQL/flexibleServers'. */
  idsOfType(type: string): string[] {
    this.tick();
    return [...this.resources.values()].filter((r) => r.type === norm(type)).map((r) => r.id);
  }

  /** Changes a resource behind the operator's back (drift). */
  mutate(id: string, patch: Json): void {
    const r = this.resources.get(norm(id));
    if (!r) throw new Error(`no resource ${id}`);
    deepMerge(r.body, patch);
  }

  adminPassword(serverId: string): string | undefined {
    return this.passwords.get(norm(serverId));
  }

  addLock(scope: string, name: string, level: 'CanNotDelete' | 'ReadOnly' = 'CanNotDelete'): void {
    this.locks.set(norm(`${scope}/providers/Microsoft.Authorization/locks/${name}`), { scope, name, level });
  }

  removeLock(scope: string, name: string): void {
    this.locks.delete(norm(`${scope}/providers/Microsoft.Authorization/locks/${name}`));
  }

  lockNames(scope: string): string[] {
    return [...this.locks.values()].filter((l) => norm(l.scope) === norm(scope)).map((l) => l.name);
  }

  /** The next mutating request matching starts an operation that ends Failed with this error. */
  failNextOperation(match: FaultMatch, code: string, message: string, details?: OperationError['details']): void {
    this.faults.push({ ...match, code, message, ...(details ? { details } : {}) });
  }

  /**
   * The next `count` matching requests (any when no match) get 429 with Retry-After (`Infinity`:
   * until ended). Returns a function that ends this throttle early.
   */
  throttle(count: number, retryAfterSeconds = 1, match?: FaultMatch): () => void {
    const t = { remaining: count, retryAfterSeconds, status: 429, ...(match ? { match } : {}) };
    this.throttles.push(t);
    return () => void (t.remaining = 0);
  }

  /**
   * The next `count` matching requests (any when no match) get a 5xx from ARM's front door
   * (default 503 ServiceUnavailable, no Retry-After), before anything happens. Returns a function
   * that ends it early.
   */
  unavailable(count: number, match?: FaultMatch, status = 503): () => void {
    const t = { remaining: count, retryAfterSeconds: 0, status, ...(match ? { match } : {}) };
    this.throttles.push(t);
    return () => void (t.remaining = 0);
  }

  /** The caller gets this built-in role (Contributor cannot write locks). */
  setRole(role: CallerRole): void {
    this.role = role;
  }

  /** Requests to this resource provider namespace fail with MissingSubscriptionRegistration until registered. */
  unregisterProvider(namespace: string): void {
    this.unregistered.add(namespace.toLowerCase());
  }

  registerProvider(namespace: string): void {
    this.unregistered.delete(namespace.toLowerCase());
  }

  /** Forgets every operation whose status URL was handed out: polling them answers 404, as after expiry. */
  expireOperations(): void {
    this.tick();
    for (const [id, op] of this.operations) if (op.status !== 'InProgress') this.operations.delete(id);
    for (const op of this.operations.values()) op.expiresAt = 0;
  }

  /** Operations that ended Failed (busy failures included), e.g. to show nothing was sent to a busy server. */
  failedOperations(): OperationError[] {
    this.tick();
    return [...this.operations.values()].filter((o) => o.status === 'Failed').map((o) => structuredClone(o.error!));
  }

  /** Operations still InProgress. */
  runningOperations(): number {
    this.tick();
    return [...this.operations.values()].filter((o) => o.status === 'InProgress').length;
  }

  /** Lets every running operation finish at the next request. */
  finishOperations(): void {
    for (const o of this.operations.values()) o.doneAt = 0;
    this.tick();
  }

  /** Requests that changed something (PUT/PATCH/DELETE/POST) whose path matches. */
  writes(path?: RegExp): RequestRecord[] {
    return this.requests.filter((r) => r.method !== 'GET' && (!path || path.test(r.path)));
  }

  // ---- protocol -------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const path = decodeURIComponent(url.pathname).replace(/\/{2,}/g, '/').replace(/\/$/, '');
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RequestRecord = { method, path, apiVersion: url.searchParams.get('api-version'), status: 0 };
    this.requests.push(record);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { 'x-ms-request-id': randomUUID(), ...(body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}), ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    try {
      const raw = await new Promise<string>((resolve, reject) => {
        let data = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => (data += c));
        req.on('end', () => resolve(data));
        req.on('error', reject);
      });
      if (!/^Bearer .+/.test(req.headers.authorization ?? '')) throw new ArmError(401, 'AuthenticationFailed', 'Authentication failed. The Authorization header is missing.');
      if (!record.apiVersion) throw new ArmError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
      const throttle = this.throttles.find((t) => t.remaining > 0 && (!t.match || ((!t.match.method || t.match.method === method) && t.match.path.test(path))));
      if (throttle) {
        throttle.remaining--;
        if (throttle.status !== 429) {
          const code = throttle.status === 503 ? 'ServiceUnavailable' : 'InternalServerError';
          send(throttle.status, { error: { code, message: 'The service is temporarily unavailable. Please try again later.' } }, { 'x-ms-error-code': code });
          return;
        }
        send(429, { error: { code: 'TooManyRequests', message: 'The request is being throttled.' } }, { 'retry-after': String(throttle.retryAfterSeconds), 'x-ms-error-code': 'TooManyRequests' });
        return;
      }
      this.tick();
      // ARM front door: a provider namespace the subscription is not registered for.
      const ns = /^\/subscriptions\/[^/]+(?:\/resourceGroups\/[^/]+)?\/providers\/([^/]+)/i.exec(path)?.[1]?.toLowerCase();
      if (ns && this.unregistered.has(ns) && !/\/(azureAsyncOperation|operationResults)\//i.test(path)) {
        throw new ArmError(409, 'MissingSubscriptionRegistration', `The subscription is not registered to use namespace '${ns}'. See https://aka.ms/rps-not-found for how to register subscriptions.`);
      }
      if (this.role === 'User Access Administrator' && method !== 'GET' && !/\/providers\/Microsoft\.Authorization\//i.test(path)) {
        throw new ArmError(403, 'AuthorizationFailed', `The client with role '${this.role}' does not have authorization to perform action '${method} ${typeOf(path)}' over scope '${path}' or the scope is invalid.`);
      }
      const body = raw ? (JSON.parse(raw) as Json) : {};
      const out = await this.route(method, path, body);
      send(out.status, out.body, out.headers);
    } catch (err) {
      if (err instanceof ArmError) send(err.status, { error: { code: err.code, message: err.message } }, { 'x-ms-error-code': err.code });
      else send(500, { error: { code: 'InternalServerError', message: (err as Error).message } });
    }
  }

  private async route(method: string, path: string, body: Json): Promise<{ status: number; body?: unknown; headers?: Record<string, string> }> {
    let m = /^\/subscriptions\/[^/]+\/providers\/([^/]+)\/locations\/([^/]+)\/(azureAsyncOperation|operationResults|operations)\/([^/]+)$/i.exec(path);
    if (m && method === 'GET') return this.operationStatus(m[4]!, m[3]!.toLowerCase());
    m = /^\/subscriptions\/[^/]+\/providers\/Microsoft\.DBforPostgreSQL\/locations\/([^/]+)\/capabilities$/i.exec(path);
    if (m && method === 'GET') return { status: 200, body: { value: [this.capabilities()] } };
    m = /^(.*)\/providers\/Microsoft\.Authorization\/locks(?:\/([^/]+))?$/i.exec(path);
    if (m) return this.lockRoute(method, m[1]!, m[2], body);
    m = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)\/providers\/[^/]+\/(.+)$/i.exec(path);
    if (!m) {
      if (method === 'GET' && this.resources.has(norm(path))) return { status: 200, body: this.resources.get(norm(path))!.body };
      throw new ArmError(404, 'ResourceNotFound', `The resource '${path}' was not found.`);
    }
    if (!this.resources.has(norm(m[1]!))) throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${m[1]!.split('/').pop()}' could not be found.`);
    const segments = m[2]!.split('/');
    if (segments.length % 2 === 1) {
      const parent = path.slice(0, path.lastIndexOf('/'));
      const last = segments[segments.length - 1]!;
      if (method === 'POST') return this.action(parent, last);
      if (method === 'GET') return this.list(parent, last);
      throw new ArmError(405, 'MethodNotAllowed', `${method} is not supported on ${path}`);
    }
    switch (method) {
      case 'GET':
        return { status: 200, body: this.mustGet(path).body };
      case 'PUT':
        return this.put(path, body);
      case 'PATCH':
        return this.patch(path, body);
      case 'DELETE':
        return this.delete(path);
      default:
        throw new ArmError(405, 'MethodNotAllowed', `${method} is not supported on ${path}`);
    }
  }

  private mustGet(id: string): Resource {
    const r = this.resources.get(norm(id));
    if (!r || r.body['__hidden']) throw new ArmError(404, 'ResourceNotFound', `The Resource '${displayType(id)}/${id.split('/').pop()}' under resource group '${id.split('/')[4]}' was not found.`);
    return r;
  }

  private list(parent: string, childType: string) {
    if (!parent.match(/\/resourceGroups\/[^/]+$/i)) this.mustGet(parent);
    const prefix = norm(`${parent}/${childType}/`);
    const value = [...this.resources.entries()].filter(([k, r]) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/') && !r.body['__hidden']).map(([, r]) => r.body);
    return { status: 200, body: { value } };
  }

  // ---- operations -----------------------------------------------------------------------------

  private startOperation(resourceId: string, method: string, path: string, onSuccess: () => void, onFailure: () => void = () => {}, forcedFailure?: OperationError): Operation {
    const fault = forcedFailure ? -1 : this.faults.findIndex((f) => (!f.method || f.method === method) && f.path.test(path));
    const failWith: OperationError | undefined = forcedFailure ?? (fault >= 0 ? this.faults.splice(fault, 1)[0] : undefined);
    const provider = /\/providers\/([^/]+)\//.exec(resourceId)?.[1] ?? 'Microsoft.Resources';
    const location = this.locationOf(resourceId);
    const op: Operation = {
      id: randomUUID(),
      location,
      provider,
      status: 'InProgress',
      doneAt: Date.now() + this.operationMs,
      startTime: new Date().toISOString(),
      resourceId,
      method,
      ...(failWith ? { failWith: { code: failWith.code, message: failWith.message, ...(failWith.details ? { details: failWith.details } : {}) } } : {}),
      onSuccess,
      onFailure,
    };
    this.operations.set(op.id, op);
    return op;
  }

  private operationHeaders(op: Operation): Record<string, string> {
    const base = `${this.url}/subscriptions/${op.resourceId.split('/')[2]}/providers/${op.provider}/locations/${op.location}`;
    return {
      'azure-asyncoperation': `${base}/azureAsyncOperation/${op.id}?api-version=2025-08-01`,
      location: `${base}/operationResults/${op.id}?api-version=2025-08-01`,
      ...(this.retryAfterSeconds > 0 ? { 'retry-after': String(this.retryAfterSeconds) } : {}),
    };
  }

  /** Advances time: finishes operations whose time is up. */
  private tick(): void {
    const now = Date.now();
    for (const op of this.operations.values()) {
      if (op.status !== 'InProgress' || op.doneAt > now) continue;
      op.endTime = new Date().toISOString();
      op.expiresAt ??= now + this.operationTtlMs;
      if (op.failWith) {
        op.status = 'Failed';
        op.error = op.failWith;
        op.onFailure();
      } else {
        op.status = 'Succeeded';
        op.onSuccess();
      }
    }
  }

  private operationStatus(id: string, kind: string) {
    const op = this.operations.get(id);
    if (op && op.status !== 'InProgress' && op.expiresAt !== undefined && op.expiresAt <= Date.now()) this.operations.delete(id);
    if (!op || !this.operations.has(id)) throw new ArmError(404, 'OperationNotFound', `The operation '${id}' was not found.`);
    if (kind === 'azureasyncoperation' || kind === 'operations') {
      return { status: 200, body: { name: op.id, status: op.status, startTime: op.startTime, ...(op.endTime ? { endTime: op.endTime } : {}), ...(op.error ? { error: op.error } : {}) } };
    }
    if (op.status === 'InProgress') return { status: 202, headers: this.operationHeaders(op) };
    if (op.status === 'Failed') return { status: 400, body: { error: op.error } };
    const r = this.resources.get(norm(op.resourceId));
    return r && op.method !== 'DELETE' ? { status: 200, body: r.body } : { status: 204 };
  }

  // ---- resources ------------------------------------------------------------------------------

  private locationOf(id: string): string {
    for (let cur = id; cur.includes('/'); cur = cur.slice(0, cur.lastIndexOf('/'))) {
      const loc = this.resources.get(norm(cur))?.body['location'];
      if (typeof loc === 'string') return loc;
    }
    return 'westeurope';
  }

  private serverOf(id: string): Resource | undefined {
    const m = /^(.*\/providers\/Microsoft\.DBforPostgreSQL\/(?:flexibleServers|servers)\/[^/]+)/i.exec(id);
    return m ? this.resources.get(norm(m[1]!)) : undefined;
  }

  private isBusy(server: Resource): boolean {
    if (server.busy && this.operations.get(server.busy)?.status === 'InProgress') return true;
    return [...(server.childOps ?? [])].some((o) => this.operations.get(o)?.status === 'InProgress');
  }

  /**
   * One change at a time per server, child resources included: a busy server refuses with 409
   * ServerBusy ('conflict'), or (busyMode 'failedOperation') accepts and returns the error the
   * operation is going to fail with.
   */
  private busyFailure(id: string): OperationError | undefined {
    const server = this.serverOf(id);
    if (!server || !this.isBusy(server)) return undefined;
    const name = server.id.split('/').pop()!;
    if (this.busyMode === 'conflict') throw new ArmError(409, 'ServerBusy', `Server '${name}' is busy with another operation. Please try your operation later.`);
    if (norm(id) !== norm(server.id)) {
      return {
        code: 'ResourceDeploymentFailure',
        message: "The resource write operation failed to complete successfully, because it reached terminal provisioning state 'Failed'.",
        details: [{ code: 'ServerBusy', message: `Server '${name}' is busy with another operation. Please try your operation later.` }],
      };
    }
    const state = String(server.body['properties']?.['state'] ?? server.body['properties']?.['userVisibleState'] ?? 'Updating');
    return { code: 'ServerIsNotReady', message: `Server '${name}' is not ready for the operation. Current Server State = ${state}` };
  }

  private assertNotBusy(id: string): void {
    const failure = this.busyFailure(id);
    if (failure) throw new ArmError(409, failure.details?.[0]?.code ?? failure.code, failure.message);
  }

  /** Accepts a change to a busy server and lets its operation fail (busyMode 'failedOperation'). */
  private failLater(id: string, method: string, failure: OperationError) {
    const op = this.startOperation(id, method, id, () => {}, () => {}, failure);
    op.doneAt = Date.now(); // the service notices at once; the failure shows at the first poll
    return { status: 202, headers: this.operationHeaders(op) };
  }

  /** A child operation keeps its server Updating (and busy) until it ends. */
  private childOperation(id: string, op: Operation): void {
    const server = this.serverOf(id);
    if (!server || norm(server.id) === norm(id)) return;
    (server.childOps ??= new Set()).add(op.id);
    if (server.type.endsWith('flexibleservers')) server.body['properties']['state'] = 'Updating';
    const done = () => {
      server.childOps?.delete(op.id);
      if (!this.isBusy(server) && server.type.endsWith('flexibleservers') && server.body['properties']['state'] === 'Updating') server.body['properties']['state'] = 'Ready';
    };
    const [ok, failed] = [op.onSuccess, op.onFailure];
    op.onSuccess = () => { ok(); done(); };
    op.onFailure = () => { failed(); done(); };
  }

  private assertNotLocked(id: string, operation: 'delete' | 'write'): void {
    const blocking = [...this.locks.values()].filter((l) => (norm(id) === norm(l.scope) || norm(id).startsWith(norm(l.scope) + '/')) && (operation === 'delete' || l.level === 'ReadOnly'));
    if (blocking.length > 0) {
      throw new ArmError(409, 'ScopeLocked', `The scope '${id}' cannot perform ${operation} operation because following scope(s) are locked: '${blocking.map((l) => l.scope).join("', '")}'. Please remove the lock and try again.`);
    }
  }

  private assertParent(id: string): void {
    const parent = id.split('/').slice(0, -2).join('/');
    if (/\/providers\/[^/]+$/i.test(parent) || /\/resourceGroups\/[^/]+$/i.test(parent)) return;
    if (!this.resources.has(norm(parent)) || this.resources.get(norm(parent))!.body['__hidden']) {
      throw new ArmError(404, 'ParentResourceNotFound', `Can not perform requested operation on nested resource. Parent resource '${parent.split('/').pop()}' not found.`);
    }
  }

  private async put(id: string, body: Json) {
    const type = typeOf(id);
    this.assertParent(id);
    this.assertNotLocked(id, 'write');
    const existing = this.resources.get(norm(id));
    const name = id.split('/').pop()!;
    if (SERVER_TYPES.has(type)) return this.putServer(id, type, body, existing);
    if (!LRO_TYPES.test(type)) {
      const stored = { ...body, id, name, type: displayType(id) };
      this.resources.set(norm(id), { id, type, body: stored });
      return { status: existing ? 200 : 201, body: stored };
    }
    this.validateChild(type, id, body);
    const failure = this.busyFailure(id);
    if (failure) return this.failLater(id, 'PUT', failure);
    const server = this.serverOf(id);
    const ctx = server ? { name: server.id.split('/').pop()!, fqdn: String(server.body['properties']?.['fullyQualifiedDomainName'] ?? '') } : undefined;
    const props = (body['properties'] ?? {}) as Json;
    let stored: Json;
    let onSuccess = () => {};
    let onFailure = () => {};
    if (/\/firewallrules$/.test(type)) {
      if (!isIpv4(props['startIpAddress']) || !isIpv4(props['endIpAddress'])) throw new ArmError(400, 'InvalidParameterValue', `Invalid value given for parameter startIpAddress/endIpAddress. Specify a valid IPv4 address.`);
      stored = { id, name, type: displayType(id), properties: { startIpAddress: props['startIpAddress'], endIpAddress: props['endIpAddress'] } };
    } else if (/\/virtualnetworkrules$/.test(type)) {
      const subnet = String(props['virtualNetworkSubnetId'] ?? '');
      if (!this.resources.has(norm(subnet)) && !props['ignoreMissingVnetServiceEndpoint']) throw new ArmError(400, 'InvalidVirtualNetworkSubnetId', `The subnet '${subnet}' does not exist.`);
      stored = { id, name, type: displayType(id), properties: { virtualNetworkSubnetId: subnet, ignoreMissingVnetServiceEndpoint: !!props['ignoreMissingVnetServiceEndpoint'], state: 'Ready' } };
    } else if (/\/databases$/.test(type)) {
      const charset = String(props['charset'] ?? 'UTF8');
      const collation = String(props['collation'] ?? 'en_US.utf8');
      if (existing && (existing.body['properties']['charset'] !== charset || existing.body['properties']['collation'] !== collation)) {
        throw new ArmError(400, 'InvalidParameterValue', `Database '${name}' exists with another charset/collation; they cannot be changed.`);
      }
      if (!existing && ctx) await this.hooks.databaseCreated?.(ctx, name, charset, collation);
      stored = { id, name, type: displayType(id), properties: { charset, collation } };
      if (!existing) onFailure = () => void this.resources.delete(norm(id));
    } else if (/\/configurations$/.test(type)) {
      return this.putConfiguration(id, props, existing);
    } else if (type === 'microsoft.network/privateendpoints') {
      const subnet = String(props['subnet']?.['id'] ?? '');
      if (!this.resources.has(norm(subnet))) throw new ArmError(400, 'InvalidResourceReference', `Resource ${subnet} referenced by resource ${id} was not found.`);
      const link = props['privateLinkServiceConnections']?.[0]?.['properties']?.['privateLinkServiceId'];
      if (!link || !this.resources.has(norm(String(link)))) throw new ArmError(400, 'PrivateLinkServiceNotFound', `Private link service ${String(link)} not found.`);
      const target = this.resources.get(norm(String(link)))!;
      const ip = existing?.body['properties']?.['customDnsConfigs']?.[0]?.['ipAddresses']?.[0] ?? `10.0.0.${this.privateIp++}`;
      stored = {
        id, name, type: displayType(id), location: body['location'], tags: body['tags'] ?? {},
        properties: { ...props, provisioningState: 'Updating', customDnsConfigs: [{ fqdn: target.body['properties']?.['fullyQualifiedDomainName'], ipAddresses: [ip] }] },
      };
      onSuccess = () => { const r = this.resources.get(norm(id)); if (r) r.body['properties']['provisioningState'] = 'Succeeded'; };
      if (!existing) onFailure = () => void this.resources.delete(norm(id));
    } else {
      stored = { ...body, id, name, type: displayType(id) };
    }
    this.resources.set(norm(id), { id, type, body: stored });
    const op = this.startOperation(id, 'PUT', id, onSuccess, onFailure);
    this.childOperation(id, op);
    // 2025-08-01: FirewallRules_CreateOrUpdate, Databases_Create (and Configurations_Put) answer 202 only,
    // no body, with Azure-AsyncOperation, Location and Retry-After.
    if (type.startsWith('microsoft.dbforpostgresql/flexibleservers/')) return { status: 202, headers: this.operationHeaders(op) };
    return { status: existing ? 200 : 201, body: stored, headers: this.operationHeaders(op) };
  }

  /** What the 2025-08-01 spec declares for child resources, checked before anything else happens. */
  private validateChild(type: string, id: string, body: Json): void {
    if (!type.startsWith('microsoft.dbforpostgresql/flexibleservers/')) return;
    const name = id.split('/').pop()!;
    const props = (body['properties'] ?? {}) as Json;
    const bad = (what: string, value: string, pattern: RegExp) => new ArmError(400, 'InvalidParameterValue', `Invalid value given for parameter ${what}: '${value}'. It must match the pattern ${pattern.source}.`);
    if (type.endsWith('/firewallrules') && !FLEXIBLE_PATTERNS.firewallRuleName.test(name)) throw new ArmError(400, 'InvalidResourceName', `The firewall rule name '${name}' is invalid. It must match the pattern ${FLEXIBLE_PATTERNS.firewallRuleName.source}.`);
    if (type.endsWith('/databases')) {
      if (!FLEXIBLE_PATTERNS.databaseName.test(name)) throw new ArmError(400, 'InvalidResourceName', `The database name '${name}' is invalid. It must match the pattern ${FLEXIBLE_PATTERNS.databaseName.source}.`);
      if (props['charset'] !== undefined && !FLEXIBLE_PATTERNS.charset.test(String(props['charset']))) throw bad('charset', String(props['charset']), FLEXIBLE_PATTERNS.charset);
      if (props['collation'] !== undefined && !FLEXIBLE_PATTERNS.collation.test(String(props['collation']))) throw bad('collation', String(props['collation']), FLEXIBLE_PATTERNS.collation);
    }
  }

  private statusOfVersion(v: string): CapabilityStatus {
    const explicit = this.versionStatus[v];
    if (explicit) return explicit;
    const offered = this.flexibleVersions.filter((x) => !['Disabled', 'Visible'].includes(this.versionStatus[x] ?? 'Available')).sort((a, b) => Number(a) - Number(b));
    return offered[offered.length - 1] === v ? 'Default' : 'Available';
  }

  private putConfiguration(id: string, props: Json, existing: Resource | undefined) {
    if (!existing) throw new ArmError(404, 'ResourceNotFound', `The configuration '${id.split('/').pop()}' does not exist for this server.`);
    const p = existing.body['properties'] as Json;
    if (p['isReadOnly']) throw new ArmError(400, 'ReadOnlyParameter', `Parameter '${id.split('/').pop()}' is read-only.`);
    if (props['value'] === undefined) throw new ArmError(400, 'InvalidParameterValue', 'value is required.');
    const value = String(props['value']);
    const problem = allowedValueProblem(String(p['dataType'] ?? 'String'), p['allowedValues'] === undefined ? undefined : String(p['allowedValues']), value);
    if (problem) throw new ArmError(400, 'InvalidParameterValue', `Invalid value given for parameter ${id.split('/').pop()}: '${value}'. ${problem}`);
    const before = structuredClone(p);
    if (value !== p['value'] && p['isDynamicConfig'] === false) p['isConfigPendingRestart'] = true;
    p['value'] = value;
    p['source'] = props['source'] ?? 'user-override';
    const op = this.startOperation(id, 'PUT', id, () => {}, () => void (existing.body['properties'] = before));
    this.childOperation(id, op);
    return { status: 202, headers: this.operationHeaders(op) };
  }

  private async putServer(id: string, type: string, body: Json, existing: Resource | undefined) {
    const name = id.split('/').pop()!;
    if (existing && !existing.body['__hidden']) return this.patch(id, body);
    if (existing?.body['__hidden']) throw new ArmError(409, 'OperationInProgress', `An operation is already in progress on server '${name}'.`);
    const flexible = type.endsWith('flexibleservers');
    const props = (body['properties'] ?? {}) as Json;
    if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name)) throw new ArmError(400, 'InvalidServerName', `Server name '${name}' is invalid: 3-63 lowercase letters, digits and hyphens.`);
    if (!body['location']) throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
    if (!body['sku']?.['name']) throw new ArmError(400, 'InvalidSku', 'The sku is required.');
    if (!props['administratorLogin'] || !props['administratorLoginPassword']) throw new ArmError(400, 'InvalidParameterValue', 'administratorLogin and administratorLoginPassword are required when creating a server.');
    if (flexible) {
      const net = props['network'] as Json | undefined;
      if (net?.['delegatedSubnetResourceId'] && !this.resources.has(norm(String(net['delegatedSubnetResourceId'])))) throw new ArmError(400, 'SubnetNotFound', `The subnet '${String(net['delegatedSubnetResourceId'])}' was not found.`);
      if (net?.['delegatedSubnetResourceId'] && !net['privateDnsZoneArmResourceId']) throw new ArmError(400, 'PrivateDnsZoneRequired', 'A private DNS zone is required for a server integrated into a virtual network.');
      if (net?.['privateDnsZoneArmResourceId'] && !this.resources.has(norm(String(net['privateDnsZoneArmResourceId'])))) throw new ArmError(400, 'PrivateDnsZoneNotFound', `The private DNS zone '${String(net['privateDnsZoneArmResourceId'])}' was not found.`);
      const version = props['version'] === undefined ? undefined : String(props['version']);
      if (version !== undefined && (!this.flexibleVersions.includes(version) || ['Disabled', 'Visible'].includes(this.statusOfVersion(version)))) {
        throw new ArmError(400, 'InvalidServerVersion', `Version '${version}' is not supported in this location (capability status ${this.flexibleVersions.includes(version) ? this.statusOfVersion(version) : 'absent'}).`);
      }
      const zone = props['availabilityZone'];
      if (zone !== undefined && zone !== null && zone !== '' && !this.zones.includes(String(zone))) {
        throw new ArmError(400, 'AvailabilityZoneNotAvailable', `Availability zone '${String(zone)}' is not available for SKU '${String(body['sku']['name'])}' in this location (supported: ${this.zones.join(', ') || 'none'}).`);
      }
      // maintenanceWindow is x-ms-mutability read/update: not taken at creation.
      delete props['maintenanceWindow'];
      if (zone === undefined || zone === null || zone === '') props['availabilityZone'] = this.zones[0] ?? '';
    }
    const password = String(props['administratorLoginPassword']);
    const stored: Json = {
      id, name, type: displayType(id), location: body['location'], tags: body['tags'] ?? {}, sku: body['sku'],
      properties: deepMerge(flexible ? flexibleDefaults(name) : singleDefaults(name), { ...props, administratorLoginPassword: undefined }),
    };
    delete stored['properties']['administratorLoginPassword'];
    delete stored['properties']['createMode'];
    // Flexible servers show up at once in state Provisioning; single servers only when created.
    if (flexible) stored['properties']['state'] = 'Provisioning';
    else stored['__hidden'] = true;
    const resource: Resource = { id, type, body: stored };
    this.resources.set(norm(id), resource);
    for (const c of configurationSeed(flexible)) {
      const cid = `${id}/configurations/${c.name}`;
      this.resources.set(norm(cid), { id: cid, type: `${type}/configurations`, body: { id: cid, name: c.name, type: `${displayType(id)}/configurations`, properties: { ...c.properties } } });
    }
    this.passwords.set(norm(id), password);
    const fqdn = String(stored['properties']['fullyQualifiedDomainName']);
    await this.hooks.adminPasswordSet?.({ name, fqdn }, String(props['administratorLogin']), password);
    const op = this.startOperation(id, 'PUT', id, () => {
      if (flexible) stored['properties']['state'] = 'Ready';
      delete stored['__hidden'];
      resource.busy = undefined;
    }, () => this.removeTree(id));
    resource.busy = op.id;
    const visible = { ...stored };
    delete visible['__hidden'];
    return { status: 201, body: visible, headers: this.operationHeaders(op) };
  }

  private async patch(id: string, body: Json) {
    const r = this.mustGet(id);
    this.assertNotLocked(id, 'write');
    if (/\/configurations$/.test(r.type)) this.validateChild(r.type, id, body);
    const failure = this.busyFailure(id);
    if (failure) return this.failLater(id, 'PATCH', failure);
    if (!SERVER_TYPES.has(r.type)) {
      if (/\/configurations$/.test(r.type)) return this.putConfiguration(id, body['properties'] ?? {}, r);
      throw new ArmError(405, 'MethodNotAllowed', `PATCH is not supported on ${r.type}`);
    }
    const flexible = r.type.endsWith('flexibleservers');
    const props = structuredClone((body['properties'] ?? {}) as Json);
    const cur = r.body['properties'] as Json;
    const name = id.split('/').pop()!;
    if (flexible && props['network']) {
      const n = props['network'] as Json;
      const c = (cur['network'] ?? {}) as Json;
      if ((n['delegatedSubnetResourceId'] && norm(String(n['delegatedSubnetResourceId'])) !== norm(String(c['delegatedSubnetResourceId'] ?? ''))) || (n['publicNetworkAccess'] && n['publicNetworkAccess'] !== c['publicNetworkAccess'] && c['delegatedSubnetResourceId'])) {
        throw new ArmError(400, 'NetworkModeCannotBeChanged', 'The network mode (public access or virtual network integration) of a server cannot be changed after creation.');
      }
    }
    const storage = flexible ? props['storage']?.['storageSizeGB'] : props['storageProfile']?.['storageMB'];
    const curStorage = flexible ? cur['storage']?.['storageSizeGB'] : cur['storageProfile']?.['storageMB'];
    if (typeof storage === 'number' && typeof curStorage === 'number' && storage < curStorage) throw new ArmError(400, 'StorageSizeCannotBeDecreased', 'The storage size of a server cannot be decreased.');
    if (flexible && props['version'] && Number(props['version']) < Number(cur['version'])) throw new ArmError(400, 'InvalidServerVersion', 'A major version downgrade is not supported.');
    const password = props['administratorLoginPassword'];
    delete props['administratorLoginPassword'];
    delete props['administratorLogin'];
    const before = structuredClone(r.body);
    deepMerge(r.body['properties'], props);
    if (body['sku']) r.body['sku'] = { ...r.body['sku'], ...body['sku'] };
    if (body['tags']) r.body['tags'] = structuredClone(body['tags']);
    if (typeof password === 'string') {
      this.passwords.set(norm(id), password);
      await this.hooks.adminPasswordSet?.({ name, fqdn: String(cur['fullyQualifiedDomainName']) }, String(cur['administratorLogin']), password);
    }
    if (flexible) cur['state'] = 'Updating';
    const op = this.startOperation(id, 'PATCH', id, () => {
      if (flexible) r.body['properties']['state'] = 'Ready';
      r.busy = undefined;
    }, () => {
      r.body = before;
      r.busy = undefined;
    });
    r.busy = op.id;
    return { status: 202, headers: this.operationHeaders(op) };
  }

  private async delete(id: string) {
    const r = this.resources.get(norm(id));
    if (!r || r.body['__hidden']) return { status: 204 };
    this.assertNotLocked(id, 'delete');
    if (!SERVER_TYPES.has(r.type) || (r.busy && this.operations.get(r.busy)?.method !== 'DELETE')) {
      const failure = this.busyFailure(id);
      if (failure) return this.failLater(id, 'DELETE', failure);
    }
    if (!LRO_TYPES.test(r.type)) {
      this.removeTree(id);
      return { status: 200 };
    }
    const server = this.serverOf(id);
    if (/\/databases$/.test(r.type) && server) {
      await this.hooks.databaseDeleted?.({ name: server.id.split('/').pop()!, fqdn: String(server.body['properties']?.['fullyQualifiedDomainName'] ?? '') }, id.split('/').pop()!);
    }
    if (SERVER_TYPES.has(r.type)) {
      if (r.type.endsWith('flexibleservers')) r.body['properties']['state'] = 'Dropping';
      else r.body['properties']['userVisibleState'] = 'Dropping';
    }
    const op = this.startOperation(id, 'DELETE', id, () => this.removeTree(id), () => {
      if (SERVER_TYPES.has(r.type)) {
        if (r.type.endsWith('flexibleservers')) r.body['properties']['state'] = 'Ready';
        else r.body['properties']['userVisibleState'] = 'Ready';
        r.busy = undefined;
      }
    });
    if (SERVER_TYPES.has(r.type)) r.busy = op.id;
    else this.childOperation(id, op);
    return { status: 202, headers: this.operationHeaders(op) };
  }

  private removeTree(id: string): void {
    const prefix = norm(id);
    for (const k of [...this.resources.keys()]) if (k === prefix || k.startsWith(prefix + '/')) this.resources.delete(k);
    for (const k of [...this.locks.keys()]) if (k.startsWith(prefix + '/')) this.locks.delete(k);
    this.passwords.delete(prefix);
  }

  private action(id: string, action: string) {
    const r = this.mustGet(id);
    if (!SERVER_TYPES.has(r.type) || action.toLowerCase() !== 'restart') throw new ArmError(404, 'ResourceNotFound', `No action '${action}' on ${r.type}`);
    this.assertNotLocked(id, 'write');
    const failure = this.busyFailure(id);
    if (failure) return this.failLater(id, 'POST', failure);
    const flexible = r.type.endsWith('flexibleservers');
    if (flexible) r.body['properties']['state'] = 'Restarting';
    const op = this.startOperation(id, 'POST', `${id}/restart`, () => {
      if (flexible) r.body['properties']['state'] = 'Ready';
      for (const c of this.children(id, 'configurations')) {
        const cr = this.resources.get(norm(String(c['id'])));
        if (cr) cr.body['properties']['isConfigPendingRestart'] = false;
      }
      r.busy = undefined;
    }, () => {
      if (flexible) r.body['properties']['state'] = 'Ready';
      r.busy = undefined;
    });
    r.busy = op.id;
    return { status: 202, headers: this.operationHeaders(op) };
  }

  private lockRoute(method: string, scope: string, name: string | undefined, body: Json) {
    if (!name) {
      if (method !== 'GET') throw new ArmError(405, 'MethodNotAllowed', `${method} on a lock collection`);
      // Locks that apply at the scope: on it and inherited from its parents.
      const value = [...this.locks.values()].filter((l) => norm(scope) === norm(l.scope) || norm(scope).startsWith(norm(l.scope) + '/')).map((l) => this.lockBody(l));
      return { status: 200, body: { value } };
    }
    const key = norm(`${scope}/providers/Microsoft.Authorization/locks/${name}`);
    if (/\/providers\//i.test(scope) && !this.resources.has(norm(scope))) throw new ArmError(404, 'ResourceNotFound', `The resource '${scope}' was not found.`);
    if (method === 'GET') {
      const l = this.locks.get(key);
      if (!l) throw new ArmError(404, 'LockNotFound', `The lock '${name}' could not be found.`);
      return { status: 200, body: this.lockBody(l) };
    }
    if ((method === 'PUT' || method === 'DELETE') && this.role === 'Contributor') {
      throw new ArmError(403, 'AuthorizationFailed', `The client with role 'Contributor' does not have authorization to perform action 'Microsoft.Authorization/locks/${method === 'PUT' ? 'write' : 'delete'}' over scope '${scope}/providers/Microsoft.Authorization/locks/${name}' or the scope is invalid. If access was recently granted, please refresh your credentials.`);
    }
    if (method === 'PUT') {
      const level = body['properties']?.['level'];
      if (level !== 'CanNotDelete' && level !== 'ReadOnly') throw new ArmError(400, 'LockLevelRequired', 'The lock level must be CanNotDelete or ReadOnly.');
      const existed = this.locks.has(key);
      const l = { scope, name, level: String(level), ...(body['properties']?.['notes'] ? { notes: String(body['properties']['notes']) } : {}) };
      this.locks.set(key, l);
      return { status: existed ? 200 : 201, body: this.lockBody(l) };
    }
    if (method === 'DELETE') {
      const existed = this.locks.delete(key);
      return { status: existed ? 200 : 204 };
    }
    throw new ArmError(405, 'MethodNotAllowed', `${method} on a lock`);
  }

  private lockBody(l: { scope: string; name: string; level: string; notes?: string }): Json {
    return { id: `${l.scope}/providers/Microsoft.Authorization/locks/${l.name}`, name: l.name, type: 'Microsoft.Authorization/locks', properties: { level: l.level, ...(l.notes ? { notes: l.notes } : {}) } };
  }

  private capabilities(): Json {
    const versions = [...this.flexibleVersions].sort((a, b) => Number(a) - Number(b));
    return {
      name: 'FlexibleServerCapabilities',
      status: 'Available',
      supportedServerVersions: versions.map((v) => ({ name: v, status: this.statusOfVersion(v), supportedVersionsToUpgrade: versions.filter((u) => Number(u) > Number(v)) })),
      supportedServerEditions: [
        { name: 'Burstable', defaultSkuName: 'Standard_B1ms', status: 'Available', supportedServerSkus: [{ name: 'Standard_B1ms', status: 'Available', supportedZones: this.zones }] },
        { name: 'GeneralPurpose', defaultSkuName: 'Standard_D2ds_v4', status: 'Available', supportedServerSkus: [{ name: 'Standard_D2ds_v4', status: 'Available', supportedZones: this.zones }] },
        { name: 'MemoryOptimized', defaultSkuName: 'Standard_E2ds_v4', status: 'Available', supportedServerSkus: [{ name: 'Standard_E2ds_v4', status: 'Available', supportedZones: this.zones }] },
      ],
      zoneRedundantHaSupported: this.zones.length > 1 ? 'Enabled' : 'Disabled',
      geoBackupSupported: 'Enabled',
    };
  }
}

/**
 * ConfigurationProperties.allowedValues: a range 'min-max' for Integer/Numeric, a comma list for
 * Boolean/Enumeration/Set. Undefined when the value is acceptable.
 */
export function allowedValueProblem(dataType: string, allowed: string | undefined, value: string): string | undefined {
  const t = dataType.toLowerCase();
  if (t === 'integer' || t === 'numeric') {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (t === 'integer' && !Number.isInteger(n))) return `It must be ${t === 'integer' ? 'an integer' : 'a number'}.`;
    const m = allowed ? /^(-?[\d.]+(?:e[+-]?\d+)?)-(-?[\d.]+(?:e[+-]?\d+)?)$/i.exec(allowed.trim()) : null;
    if (m && (n < Number(m[1]) || n > Number(m[2]))) return `Allowed values: ${allowed}.`;
    return undefined;
  }
  if (!allowed) return undefined;
  const list = allowed.toLowerCase().split(',').map((v) => v.trim());
  const values = t === 'set' ? value.split(',').map((v) => v.trim().toLowerCase()).filter(Boolean) : [value.trim().toLowerCase()];
  const bad = values.filter((v) => !list.includes(v));
  return bad.length > 0 ? `Allowed values: ${allowed}.` : undefined;
}

/** 'microsoft.dbforpostgresql/flexibleservers/firewallrules' for a firewall rule id. */
export function typeOf(id: string): string {
  const m = /\/providers\/([^/]+)\/(.+)$/i.exec(id);
  if (!m) return /\/resourceGroups\/[^/]+$/i.test(id) ? 'microsoft.resources/resourcegroups' : 'unknown';
  const segs = m[2]!.split('/');
  return norm([m[1], ...segs.filter((_, i) => i % 2 === 0)].join('/'));
}

function displayType(id: string): string {
  const m = /\/providers\/([^/]+)\/(.+)$/i.exec(id);
  if (!m) return 'Microsoft.Resources/resourceGroups';
  return [m[1], ...m[2]!.split('/').filter((_, i) => i % 2 === 0)].join('/');
}

/**
 * Backend `azurepostgresflexible`: one Azure Database for PostgreSQL flexible server per
 * PostgreSQLServer. Nothing here waits for Azure: long-running operations are started with
 * begin…(), their poller state is kept on the CR (Op.saveState) and polled once per reconcile,
 * so a restarted operator continues them instead of starting over.
 */
import { createHash } from 'node:crypto';
import type { FirewallRule, PostgreSQLManagementFlexibleServerClient, Server } from '@azure/arm-postgresql-flexible';
import {
  terminal,
  type Backend, type Capabilities, type DatabaseHooks, type DatabaseRequest, type Endpoint, type Op, type Problem,
  type Progress, type ServerObservation, type ServerRequest,
} from '@hybridcloud-postgresql/core';
import {
  TAG_MARKED_FOR_DELETION, charsetProblem, collationProblem, collectAll, continueSavedOperation, databaseNameProblem, decodeOperation, deletionLockedError, encodeOperation,
  isNotFound, isScopeLocked, mergedTags, ownership, serverName, shortOperation, toBackendError, InflightOperations,
  type FirewallDiff, type Locks, type PollerLike,
} from '@hybridcloud-postgresql/azure-common';
import type { FlexibleConfig } from './config.js';
import {
  createBody, desiredServer, diffServer, firewallPlan, parameterPlan, resolveVersion, validate,
  type ParameterChange, type ServerDiff, type Warning,
} from './desired.js';

export const FLEXIBLE_TYPE = 'Microsoft.DBforPostgreSQL/flexibleServers';
/** Versions Azure documents for flexible servers, used when the capabilities API cannot be read. */
export const DOCUMENTED_VERSIONS = ['13', '14', '15', '16', '17'];
const DB_OPERATION_TIMEOUT_MS = 60_000;

// Keys of the backend state kept on the CR.
const K_NAME = 'serverName';
const K_OPERATION = 'operation';
const K_RESTART = 'restartRequired';
const K_PASSWORD = 'passwordApplied';
/** When creating the delete lock was last refused (403): not tried again on every poll. */
const K_LOCK_DENIED = 'lockDenied';
const LOCK_RETRY_MS = 3_600_000;

interface Plan {
  server: Server;
  diff: ServerDiff;
  firewall: FirewallDiff;
  parameters: ParameterChange[];
  lockMissing: boolean;
  restart: boolean;
  /** Sub-resource operations of this server still running. */
  inflight: number;
}

const hashOf = (pw: string) => createHash('sha256').update(pw).digest('hex').slice(0, 16);

export interface FlexibleBackendDeps {
  client: PostgreSQLManagementFlexibleServerClient;
  locks: Locks;
  /** LRO polling interval for the few bounded waits (database create/delete). */
  pollIntervalMs?: number;
}

export class FlexibleBackend implements Backend {
  readonly id = 'azurepostgresflexible';
  readonly capabilities: Capabilities = {
    sizeByCpuMemory: true,
    storageAutoGrow: true,
    backupRetention: true,
    geoRedundantBackup: true,
    serverExtensions: true,
    firewallRules: true,
    serverParameters: true,
    maintenanceWindow: true,
    highAvailability: true,
  };
  private readonly client: PostgreSQLManagementFlexibleServerClient;
  private readonly locks: Locks;
  private readonly pollIntervalMs: number;
  private versions?: { at: number; list: string[]; zones: Map<string, string[]> };
  /** Firewall rules whose delete a management lock refused (server/rule keys): reported, not retried. */
  private readonly lockedRemovals = new Set<string>();
  private readonly inflight = new InflightOperations();

  constructor(private readonly cfg: FlexibleConfig, deps: FlexibleBackendDeps) {
    this.client = deps.client;
    this.locks = deps.locks;
    this.pollIntervalMs = deps.pollIntervalMs ?? 2_000;
  }

  private get rg(): string {
    return this.cfg.resource_group;
  }

  private get pollMs(): number {
    return this.cfg.poll_interval_seconds * 1000;
  }

  /** The name chosen at creation wins, so a later name_pattern change does not orphan a server. */
  private nameOf(s: ServerRequest): string {
    return s.state[K_NAME] ?? serverName(this.cfg, s);
  }

  private serverId(name: string): string {
    return `/subscriptions/${this.cfg.subscription_id}/resourceGroups/${this.rg}/providers/${FLEXIBLE_TYPE}/${name}`;
  }

  validateServer(s: ServerRequest): Problem[] {
    return validate(this.cfg, s);
  }

  // ---- observe ----------------------------------------------------------------------------------

  async observeServer(op: Op, s: ServerRequest): Promise<ServerObservation> {
    const name = this.nameOf(s);
    const running = await this.continueOperation(op, s, name);
    if (running) return { exists: true, upToDate: true, ready: false, message: running };
    const server = await this.getServer(op, name);
    if (!server) return { exists: false, upToDate: false, ready: false, message: `flexible server ${name} does not exist` };
    this.checkOwner(server, s, name);
    const state = server.state ?? 'Unknown';
    if (state === 'Dropping') return { exists: true, upToDate: true, ready: false, message: `flexible server ${name} is being deleted in Azure; it is re-created once it is gone` };
    if (state === 'Stopped' || state === 'Disabled') {
      op.warn('ServerStopped', `flexible server ${name} is ${state} in Azure; start it (az postgres flexible-server start -g ${this.rg} -n ${name})`);
      return { exists: true, upToDate: true, ready: false, message: `flexible server ${name} is ${state}` };
    }
    // Azure marks the server Updating for every child operation (a database being created by the
    // database reconciler, a firewall rule). It keeps serving meanwhile: unless the change is one of
    // ours still running, the server stays Ready instead of flapping.
    if (state === 'Updating' && !this.inflight.has(`${name}/`)) return { exists: true, upToDate: true, ready: true, endpoint: this.endpointOf(server), message: `flexible server ${name} is applying a change in Azure (Updating); it keeps serving` };
    if (state !== 'Ready') return { exists: true, upToDate: true, ready: false, message: `flexible server ${name} is ${state}` };
    const plan = await this.plan(op, s, server);
    const pending = describePlan(plan);
    const endpoint = this.endpointOf(server);
    return {
      exists: true,
      upToDate: pending.length === 0,
      ready: true,
      endpoint,
      message: pending.length ? `flexible server ${name} differs: ${pending.join('; ')}` : `flexible server ${name} is Ready`,
      live: plan,
    };
  }

  private async plan(op: Op, s: ServerRequest, server: Server): Promise<Plan> {
    const d = desiredServer(this.cfg, s);
    const diff = diffServer(d, server);
    const name = server.name!;
    const publicServer = !server.network?.delegatedSubnetResourceId;
    // Settle our running operations first: a list read before an operation we then see finish
    // would still show its old state, and the diff would send the same change twice.
    const running = await this.inflight.settle(`${name}/`, op.signal);
    const [rules, configs, locked] = await Promise.all([
      publicServer ? collectAll(() => this.client.firewallRules.listByServer(this.rg, name, { abortSignal: op.signal }), 'FirewallRules.listByServer') : Promise.resolve([] as FirewallRule[]),
      collectAll(() => this.client.configurations.listByServer(this.rg, name, { abortSignal: op.signal }), 'Configurations.listByServer'),
      this.cfg.lock_from_deletion ? this.locks.isLocked(server.id ?? this.serverId(name), op.signal) : Promise.resolve(true),
    ]);
    const diff0 = publicServer ? firewallPlan(this.cfg, s, rules) : { upsert: [], remove: [] };
    const blocked = diff0.remove.filter((r) => this.lockedRemovals.has(`${name}/${r.toLowerCase()}`));
    const firewall = { upsert: diff0.upsert.filter((r) => !running.has(`${name}/fw/${r.name.toLowerCase()}`)), remove: diff0.remove.filter((r) => !running.has(`${name}/fw/${r.toLowerCase()}`) && !blocked.includes(r)) };
    const params0 = parameterPlan(this.cfg, s, configs);
    if (params0.problems.length > 0) throw terminal('InvalidSpec', params0.problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    const params = { ...params0, changes: params0.changes.filter((p) => !running.has(`${name}/cfg/${p.name.toLowerCase()}`)) };
    const lockWarnings = blocked.length > 0 ? [{ reason: 'FirewallRuleDeleteLocked', message: `firewall rule(s) ${blocked.join(', ')} of ${name} are no longer wanted, but a management lock on the server (or its resource group) forbids deleting them; remove them by hand or lift the lock` }] : [];
    this.report(op, [...d.warnings, ...diff.warnings, ...params.warnings, ...this.versionWarnings(s, server), ...lockWarnings]);
    const deniedAt = Number(s.state[K_LOCK_DENIED] ?? 0);
    const lockMissing = !locked && !(deniedAt > 0 && Date.now() - deniedAt < LOCK_RETRY_MS);
    return { server, diff, firewall, parameters: params.changes, lockMissing, restart: s.state[K_RESTART] === 'true', inflight: running.size };
  }

  /** An explicit spec.version other than the server's: the operator does not run major upgrades. */
  private versionWarnings(s: ServerRequest, server: Server): Warning[] {
    const wanted = (s.spec.version ?? '').trim().toLowerCase();
    if (!wanted || wanted === 'latest') return [];
    const major = wanted.split('.')[0];
    if (major === server.version) return [];
    return [{ reason: 'VersionChangeIgnored', message: `spec.version is ${s.spec.version} but the server runs PostgreSQL ${server.version}; the operator does not change major versions. Upgrade in Azure (az postgres flexible-server upgrade) if wanted.` }];
  }

  // ---- create -----------------------------------------------------------------------------------

  async createServer(op: Op, s: ServerRequest, adminPassword: string): Promise<Progress> {
    const name = this.nameOf(s);
    if (s.state[K_NAME] !== name) await op.saveState({ [K_NAME]: name });
    const running = await this.continueOperation(op, s, name);
    if (running) return this.pending(running);
    const existing = await this.getServer(op, name);
    if (existing) {
      this.checkOwner(existing, s, name);
      return this.pending(`flexible server ${name} is ${existing.state ?? 'being created'}`);
    }
    const d = desiredServer(this.cfg, s);
    const offered = await this.offeredVersions(op);
    const { version, warning } = resolveVersion(s.spec.version, offered, this.cfg.default_version);
    const zone = this.zoneFor(d.sku.name);
    this.report(op, [...d.warnings, ...(warning ? [warning] : []), ...(zone.warning ? [zone.warning] : [])]);
    op.log.info({ server: name, sku: d.sku.name, version, storageGB: d.storageGB, vnet: !!d.network }, 'creating Azure flexible server');
    try {
      const poller = await this.client.servers.beginCreateOrUpdate(this.rg, name, createBody(this.cfg, d, version, adminPassword, zone.zone), { abortSignal: op.signal, updateIntervalInMs: this.pollIntervalMs });
      await op.saveState({ [K_OPERATION]: encodeOperation('create', poller), [K_PASSWORD]: hashOf(adminPassword) });
    } catch (err) {
      throw toBackendError(err, `creating flexible server ${name}`);
    }
    return this.pending(`creating flexible server ${name} (PostgreSQL ${version}, ${d.sku.name}); this takes several minutes`);
  }

  // ---- update -----------------------------------------------------------------------------------

  async updateServer(op: Op, s: ServerRequest, seen: ServerObservation, adminPassword?: string): Promise<Progress> {
    const name = this.nameOf(s);
    const running = await this.continueOperation(op, s, name);
    if (running) return this.pending(running);
    let plan = seen.live as Plan | undefined;
    if (!plan) {
      const server = await this.getServer(op, name);
      if (!server) return this.pending(`flexible server ${name} does not exist (yet)`);
      if (server.state !== 'Ready') return this.pending(`flexible server ${name} is ${server.state}; changes wait until it is Ready`);
      plan = await this.plan(op, s, server);
    }
    const server = plan.server;
    const passwordChange = adminPassword !== undefined && s.state[K_PASSWORD] !== hashOf(adminPassword) ? adminPassword : undefined;

    // One change per server at a time: Azure marks the server Updating for every firewall-rule,
    // parameter and database operation and refuses (or fails) a second one. Each reconcile starts at
    // most one and returns pending; the next one observes again and starts the next (the queue is
    // the plan itself, so it survives restarts).
    if (plan.inflight > 0) return this.pending(`${plan.inflight} change(s) of flexible server ${name} still running in Azure`);
    if (server.state !== undefined && server.state !== 'Ready') return this.pending(`flexible server ${name} is ${server.state}; the next change waits until it is Ready`);
    // 1. The server itself (one PATCH with only what differs; the password only when it must change).
    if (plan.diff.changes.length > 0 || passwordChange !== undefined) {
      const patch = { ...plan.diff.patch, ...(passwordChange !== undefined ? { administratorLoginPassword: passwordChange } : {}) };
      const what = [...plan.diff.changes, ...(passwordChange !== undefined ? ['admin password'] : [])];
      op.log.info({ server: name, changes: what }, 'updating Azure flexible server');
      try {
        const poller = await this.client.servers.beginUpdate(this.rg, name, patch, { abortSignal: op.signal, updateIntervalInMs: this.pollIntervalMs });
        await op.saveState({ [K_OPERATION]: encodeOperation('update', poller), ...(passwordChange !== undefined ? { [K_PASSWORD]: hashOf(passwordChange) } : {}) });
      } catch (err) {
        throw toBackendError(err, `updating flexible server ${name}`);
      }
      return this.pending(`updating flexible server ${name}: ${what.join(', ')}`);
    }
    // 2. Firewall rules: only the differences, one after the other.
    const rule = plan.firewall.upsert[0];
    if (rule) {
      await this.start(`firewall rule ${rule.name}`, `${name}/fw/${rule.name.toLowerCase()}`, () => this.client.firewallRules.beginCreateOrUpdate(this.rg, name, rule.name, { startIpAddress: rule.startIpAddress, endIpAddress: rule.endIpAddress }, { abortSignal: op.signal }));
      return this.pending(`firewall rules of ${name}: setting ${rule.name}${this.more(plan.firewall.upsert.length + plan.firewall.remove.length)}`);
    }
    const removal = plan.firewall.remove[0];
    if (removal) {
      try {
        await this.start(`deleting firewall rule ${removal}`, `${name}/fw/${removal.toLowerCase()}`, () => this.client.firewallRules.beginDelete(this.rg, name, removal, { abortSignal: op.signal }));
      } catch (err) {
        if (!isScopeLocked((err as { cause?: unknown }).cause ?? err)) throw err;
        this.lockedRemovals.add(`${name}/${removal.toLowerCase()}`);
        op.warn('FirewallRuleDeleteLocked', `firewall rule ${removal} of ${name} is no longer wanted, but a management lock forbids deleting it; remove it by hand or lift the lock`);
      }
      return this.pending(`firewall rules of ${name}: deleting ${removal}${this.more(plan.firewall.remove.length)}`);
    }
    // 3. Server parameters, one at a time; a restart is remembered (on the CR) when a static one changed.
    const param = plan.parameters[0];
    if (param) {
      if (plan.parameters.some((p) => p.needsRestart) && s.state[K_RESTART] !== 'true') await op.saveState({ [K_RESTART]: 'true' });
      await this.start(`server parameter ${param.name}`, `${name}/cfg/${param.name.toLowerCase()}`, () => this.client.configurations.beginPut(this.rg, name, param.name, { value: param.value, source: 'user-override' }, { abortSignal: op.signal }));
      return this.pending(`server parameters of ${name}: setting ${param.name}${this.more(plan.parameters.length)}`);
    }
    // 4. Restart only when a static parameter changed; the marker is cleared when the restart succeeded.
    if (plan.restart) {
      op.log.info({ server: name }, 'restarting Azure flexible server for static parameters');
      try {
        const poller = await this.client.servers.beginRestart(this.rg, name, { abortSignal: op.signal, updateIntervalInMs: this.pollIntervalMs });
        await op.saveState({ [K_OPERATION]: encodeOperation('restart', poller) });
      } catch (err) {
        throw toBackendError(err, `restarting flexible server ${name}`);
      }
      return this.pending(`restarting flexible server ${name} so that changed static server parameters take effect`);
    }
    // 5. The delete lock, last: an identity that may not write locks must not hold up the rest.
    if (plan.lockMissing) {
      try {
        await this.locks.ensure(server.id ?? this.serverId(name), `Set by hybrid-cloud-postgresql-operator for ${s.namespace}/${s.name}: lock_from_deletion`, op.signal);
        op.log.info({ server: name }, 'delete lock set');
        if (s.state[K_LOCK_DENIED]) await op.saveState({ [K_LOCK_DENIED]: null });
      } catch (err) {
        if ((err as { reason?: string }).reason !== 'LockPermissionDenied') throw err;
        await op.saveState({ [K_LOCK_DENIED]: String(Date.now()) });
        op.warn('LockPermissionDenied', (err as Error).message);
      }
    }
    return { state: 'ready', endpoint: this.endpointOf(server) };
  }

  // ---- delete -----------------------------------------------------------------------------------

  async deleteServer(op: Op, s: ServerRequest): Promise<Progress> {
    const name = this.nameOf(s);
    const saved = decodeOperation(s.state[K_OPERATION]);
    if (saved && saved.kind !== 'delete') await op.saveState({ [K_OPERATION]: null });
    else if (saved) {
      const running = await this.continueOperation(op, s, name);
      if (running) return this.pending(running);
    }
    const server = await this.getServer(op, name);
    if (!server) return { state: 'gone' };
    const owner = ownership(server.tags, s);
    if (owner !== 'ours') {
      op.warn('NotOwned', `flexible server ${name} is not tagged as belonging to ${s.namespace}/${s.name}${typeof owner === 'object' ? ` (it belongs to ${owner.owner})` : ''}; it is left alone`);
      return { state: 'gone' };
    }
    if (this.cfg.server_delete_fake) {
      if (server.tags?.[TAG_MARKED_FOR_DELETION] === 'yes') return { state: 'gone' };
      if (server.state !== 'Ready') return this.pending(`flexible server ${name} is ${server.state}; it is tagged for deletion once it is Ready`);
      op.log.info({ server: name }, 'fake deletion: tagging the server as marked for deletion');
      await this.start(`tagging flexible server ${name}`, undefined, () => this.client.servers.beginUpdate(this.rg, name, { tags: mergedTags(server.tags, { [TAG_MARKED_FOR_DELETION]: 'yes' }) }, { abortSignal: op.signal }));
      return this.pending(`tagging flexible server ${name} as marked for deletion (server_delete_fake); it is not deleted`);
    }
    if (server.state === 'Dropping') return this.pending(`flexible server ${name} is being deleted`);
    const id = server.id ?? this.serverId(name);
    const locks = await this.locks.blocking(id, op.signal);
    if (locks.length > 0) throw deletionLockedError(`flexible server ${name}`, id, locks);
    if (server.state !== 'Ready' && server.state !== 'Stopped' && server.state !== 'Disabled') return this.pending(`flexible server ${name} is ${server.state}; it is deleted once Azure accepts it`);
    op.log.info({ server: name }, 'deleting Azure flexible server');
    try {
      const poller = await this.client.servers.beginDelete(this.rg, name, { abortSignal: op.signal, updateIntervalInMs: this.pollIntervalMs });
      await op.saveState({ [K_OPERATION]: encodeOperation('delete', poller) });
    } catch (err) {
      if (isNotFound(err)) return { state: 'gone' };
      if (isScopeLocked(err)) throw deletionLockedError(`flexible server ${name}`, id, await this.locks.blocking(id, op.signal));
      throw toBackendError(err, `deleting flexible server ${name}`);
    }
    return this.pending(`deleting flexible server ${name}`);
  }

  // ---- databases through ARM ----------------------------------------------------------------------

  readonly database: DatabaseHooks = {
    createDatabase: async (op: Op, server: ServerRequest, db: DatabaseRequest) => {
      const name = this.nameOf(server);
      const charset = db.spec.database?.charset ?? 'UTF8';
      const collation = db.spec.database?.collation ?? 'en_US.utf8';
      const problems = [
        ...(databaseNameProblem(db.databaseName) ? [`metadata.name: ${databaseNameProblem(db.databaseName)} (the database is named after the object, '-' → '_')`] : []),
        ...(charsetProblem(charset) ? [`spec.database.charset: ${charsetProblem(charset)}`] : []),
        ...(collationProblem(collation) ? [`spec.database.collation: ${collationProblem(collation)}`] : []),
      ];
      if (problems.length > 0) throw terminal('InvalidSpec', problems.join('; '));
      if (await this.databaseExists(op, name, db.databaseName)) return;
      op.log.info({ server: name, database: db.databaseName, charset, collation }, 'creating database through ARM');
      await shortOperation(`creating database ${db.databaseName} on ${name}`, op.signal, () => this.client.databases.beginCreate(this.rg, name, db.databaseName, { charset, collation }, { abortSignal: op.signal, updateIntervalInMs: this.pollIntervalMs }), { pollIntervalMs: this.pollIntervalMs, boundMs: DB_OPERATION_TIMEOUT_MS });
    },
    deleteDatabase: async (op: Op, server: ServerRequest, db: DatabaseRequest) => {
      const name = this.nameOf(server);
      if (!(await this.databaseExists(op, name, db.databaseName))) return true;
      op.log.info({ server: name, database: db.databaseName }, 'deleting database through ARM');
      try {
        await shortOperation(`deleting database ${db.databaseName} on ${name}`, op.signal, () => this.client.databases.beginDelete(this.rg, name, db.databaseName, { abortSignal: op.signal, updateIntervalInMs: this.pollIntervalMs }), { pollIntervalMs: this.pollIntervalMs, boundMs: DB_OPERATION_TIMEOUT_MS });
      } catch (err) {
        const cause = (err as { cause?: unknown }).cause ?? err;
        if (isScopeLocked(cause)) {
          // The server's lock (lock_from_deletion) covers its databases in ARM; it protects the
          // server, not a database its owner deleted on purpose: core drops it over SQL instead.
          op.log.info({ server: name, database: db.databaseName }, 'database delete blocked by a management lock in ARM; dropping it over SQL');
          return false;
        }
        if (!isNotFound(cause)) throw err;
      }
      return true;
    },
    keepDatabaseOnDelete: () => this.cfg.database_delete_fake,
  };

  async close(): Promise<void> {}

  // ---- helpers ----------------------------------------------------------------------------------

  /**
   * Polls a saved operation once. Returns a message while it runs; clears it when done; a failed
   * operation becomes Ready=False with Azure's message (and is not retried until the next resync).
   */
  private continueOperation(op: Op, s: ServerRequest, name: string): Promise<string | undefined> {
    return continueSavedOperation(op, s.state, {
      key: K_OPERATION,
      what: `flexible server ${name}`,
      pollIntervalMs: this.pollIntervalMs,
      clearOnFailedUpdate: [K_PASSWORD],
      clearOnSuccess: { restart: [K_RESTART] },
      resume: (kind, opts) => {
        switch (kind) {
          case 'create': return this.client.servers.beginCreateOrUpdate(this.rg, name, {} as Server, opts);
          case 'update': return this.client.servers.beginUpdate(this.rg, name, {}, opts);
          case 'restart': return this.client.servers.beginRestart(this.rg, name, opts);
          case 'delete': return this.client.servers.beginDelete(this.rg, name, opts);
          default: return undefined;
        }
      },
    });
  }

  private async getServer(op: Op, name: string): Promise<Server | undefined> {
    try {
      return await this.client.servers.get(this.rg, name, { abortSignal: op.signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toBackendError(err, `reading flexible server ${name}`);
    }
  }

  private checkOwner(server: Server, s: ServerRequest, name: string): void {
    const owner = ownership(server.tags, s);
    if (typeof owner === 'object') {
      throw terminal('NameConflict', `flexible server ${name} already exists and belongs to ${owner.owner}; change name_pattern or the object's name`);
    }
  }



  /** Starts an operation whose progress is seen by the next observation (the resource is re-read). */
  private async start(what: string, key: string | undefined, begin: () => Promise<PollerLike>): Promise<void> {
    try {
      const poller = await begin();
      if (key && !poller.isDone()) this.inflight.add(key, poller);
    } catch (err) {
      throw toBackendError(err, what);
    }
  }

  private async databaseExists(op: Op, server: string, database: string): Promise<boolean> {
    try {
      await this.client.databases.get(this.rg, server, database, { abortSignal: op.signal });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw toBackendError(err, `reading database ${database} on ${server}`);
    }
  }

  private more(n: number): string {
    return n > 1 ? ` (${n - 1} more after it)` : '';
  }

  /** The configured zone when the region offers it for the SKU (capabilities), else none: Azure picks. */
  private zoneFor(sku: string): { zone?: string; warning?: Warning } {
    const wanted = this.cfg.availability_zone;
    if (!wanted) return {};
    const offered = this.versions?.zones.get(sku.toLowerCase());
    if (!offered || offered.includes(wanted)) return { zone: wanted };
    return { warning: { reason: 'AvailabilityZoneUnavailable', message: `availability zone ${wanted} is not offered for ${sku} in ${this.cfg.location} (offered: ${offered.join(', ') || 'none'}); Azure picks the zone` } };
  }

  private async offeredVersions(op: Op): Promise<string[]> {
    if (this.versions && Date.now() - this.versions.at < 3_600_000) return this.versions.list;
    try {
      const list = new Set<string>();
      const zones = new Map<string, string[]>();
      for await (const cap of this.client.capabilitiesByLocation.list(this.cfg.location, { abortSignal: op.signal })) {
        // CapabilityStatus: Disabled versions cannot be created, Visible ones are not offered yet.
        for (const v of cap.supportedServerVersions ?? []) if (v.name && /^\d+$/.test(v.name) && v.status !== 'Disabled' && v.status !== 'Visible') list.add(v.name);
        for (const e of cap.supportedServerEditions ?? []) for (const k of e.supportedServerSkus ?? []) if (k.name) zones.set(k.name.toLowerCase(), k.supportedZones ?? []);
      }
      if (list.size > 0) {
        this.versions = { at: Date.now(), list: [...list], zones };
        return this.versions.list;
      }
    } catch (err) {
      op.log.warn({ error: (err as Error).message }, 'could not read flexible server capabilities; using the documented version list');
    }
    return DOCUMENTED_VERSIONS;
  }

  private endpointOf(server: Server): Endpoint {
    return {
      host: server.fullyQualifiedDomainName ?? `${server.name}.postgres.database.azure.com`,
      port: 5432,
      sslmode: 'require',
      adminUsername: server.administratorLogin ?? this.cfg.admin_username,
      adminDatabase: 'postgres',
    };
  }

  private report(op: Op, warnings: readonly Warning[]): void {
    for (const w of warnings) op.warn(w.reason, w.message);
  }

  private pending(message: string): Progress {
    return { state: 'pending', pollAfterMs: this.pollMs, message };
  }
}

function describePlan(p: Plan): string[] {
  const out = [...p.diff.changes];
  if (p.lockMissing) out.push('delete lock missing');
  if (p.firewall.upsert.length) out.push(`firewall rules to set: ${p.firewall.upsert.map((r) => r.name).join(', ')}`);
  if (p.firewall.remove.length) out.push(`firewall rules to delete: ${p.firewall.remove.join(', ')}`);
  if (p.parameters.length) out.push(`server parameters: ${p.parameters.map((x) => x.name).join(', ')}`);
  if (p.restart) out.push('restart pending for static server parameters');
  if (p.inflight) out.push(`${p.inflight} change(s) still running in Azure`);
  return out;
}

/**
 * Backend `azurepostgres`: Azure Database for PostgreSQL single server. LEGACY: Azure retired
 * single server on 2025-03-28; this backend exists for operators that still manage such servers
 * (or sovereign clouds that keep them) and posts a Warning Event whenever it creates one.
 * Same non-blocking pattern as the flexible backend: begin…(), keep the poller state on the CR.
 */
import { createHash } from 'node:crypto';
import type { Configuration, FirewallRule, PostgreSQLManagementClient, Server, VirtualNetworkRule } from '@azure/arm-postgresql';
import type { NetworkManagementClient, PrivateEndpoint } from '@azure/arm-network';
import type { PrivateDnsManagementClient } from '@azure/arm-privatedns';
import {
  terminal,
  type Backend, type Capabilities, type DatabaseHooks, type DatabaseRequest, type Endpoint, type Op, type Problem,
  type Progress, type ServerObservation, type ServerRequest,
} from '@hybridcloud-postgresql/core';
import {
  TAG_MARKED_FOR_DELETION, collectAll, continueSavedOperation, decodeOperation, deletionLockedError, desiredFirewallRules, diffFirewallRules, encodeOperation, isEmptyDiff,
  isNotFound, isScopeLocked, mergedTags, ownership, parameterValue, serverName, shortOperation, subnetId, toBackendError,
  InflightOperations, type FirewallDiff, type Locks, type PollerLike,
} from '@hybridcloud-postgresql/azure-common';
import type { SingleConfig } from './config.js';
import { createBody, desiredServer, diffServer, resolveVersion, validate, type Warning } from './desired.js';

export const SINGLE_TYPE = 'Microsoft.DBforPostgreSQL/servers';
export const RETIREMENT_NOTICE = 'Azure Database for PostgreSQL single server was retired by Microsoft on 2025-03-28; the azurepostgres backend is legacy. Move to azurepostgresflexible.';
const PRELOAD_EXTENSIONS = new Set(['timescaledb', 'pg_cron', 'pg_partman_bgw', 'pg_prewarm', 'pg_stat_statements', 'pgaudit', 'pglogical', 'wal2json', 'pg_hint_plan']);
const DB_OPERATION_TIMEOUT_MS = 60_000;

const K_NAME = 'serverName';
const K_OPERATION = 'operation';
const K_RESTART = 'restartRequired';
const K_PASSWORD = 'passwordApplied';

const hashOf = (pw: string) => createHash('sha256').update(pw).digest('hex').slice(0, 16);

interface VnetRuleWanted {
  name: string;
  subnetId: string;
}

interface Plan {
  server: Server;
  changes: string[];
  patch: ReturnType<typeof diffServer>['patch'];
  firewall: FirewallDiff;
  vnetRules: { upsert: VnetRuleWanted[]; remove: string[] };
  parameters: Array<{ name: string; value: string; needsRestart: boolean }>;
  lockMissing: boolean;
  restart: boolean;
  privateEndpoint?: 'create' | 'wait' | { ip: string; recordMissing: boolean };
  inflight: number;
}

export interface SingleBackendDeps {
  client: PostgreSQLManagementClient;
  network: NetworkManagementClient;
  privateDns: PrivateDnsManagementClient;
  locks: Locks;
  pollIntervalMs?: number;
}

export class SingleBackend implements Backend {
  readonly id = 'azurepostgres';
  /** Single server's gateway authenticates with md5 only: a SCRAM verifier would lock the role out. */
  readonly passwordFormats = ['md5'] as const;
  readonly capabilities: Capabilities = {
    sizeByCpuMemory: true,
    storageAutoGrow: true,
    backupRetention: true,
    geoRedundantBackup: true,
    serverExtensions: true,
    firewallRules: true,
    serverParameters: true,
    maintenanceWindow: false,
    highAvailability: false,
  };
  private readonly pollIntervalMs: number;
  private readonly inflight = new InflightOperations();

  constructor(private readonly cfg: SingleConfig, private readonly deps: SingleBackendDeps) {
    this.pollIntervalMs = deps.pollIntervalMs ?? 2_000;
  }

  private get rg(): string {
    return this.cfg.resource_group;
  }

  private get client(): PostgreSQLManagementClient {
    return this.deps.client;
  }

  private nameOf(s: ServerRequest): string {
    return s.state[K_NAME] ?? serverName(this.cfg, s);
  }

  private serverId(name: string): string {
    return `/subscriptions/${this.cfg.subscription_id}/resourceGroups/${this.rg}/providers/${SINGLE_TYPE}/${name}`;
  }

  validateServer(s: ServerRequest): Problem[] {
    return validate(this.cfg, s);
  }

  async observeServer(op: Op, s: ServerRequest): Promise<ServerObservation> {
    const name = this.nameOf(s);
    const running = await this.continueOperation(op, s, name);
    if (running) return { exists: true, upToDate: true, ready: false, message: running };
    const server = await this.getServer(op, name);
    if (!server) return { exists: false, upToDate: false, ready: false, message: `single server ${name} does not exist` };
    this.checkOwner(server, s, name);
    const state = server.userVisibleState ?? 'Unknown';
    if (state !== 'Ready') return { exists: true, upToDate: true, ready: false, message: `single server ${name} is ${state}` };
    const plan = await this.plan(op, s, server);
    const pending = describePlan(plan);
    return {
      exists: true,
      upToDate: pending.length === 0,
      ready: true,
      endpoint: this.endpointOf(server),
      message: pending.length ? `single server ${name} differs: ${pending.join('; ')}` : `single server ${name} is Ready`,
      live: plan,
    };
  }

  private async plan(op: Op, s: ServerRequest, server: Server): Promise<Plan> {
    const name = server.name!;
    const d = desiredServer(this.cfg, s);
    const diff = diffServer(this.cfg, d, server);
    const publicAccess = (server.publicNetworkAccess ?? 'Enabled') === 'Enabled';
    // Settle our running operations before listing (see the flexible backend): no change sent twice.
    const running = await this.inflight.settle(`${name}/`, op.signal);
    const [rules, vnetRules, configs, locked, pe] = await Promise.all([
      publicAccess ? collectAll(() => this.client.firewallRules.listByServer(this.rg, name, { abortSignal: op.signal }), 'FirewallRules.listByServer') : Promise.resolve([] as FirewallRule[]),
      publicAccess ? collectAll(() => this.client.virtualNetworkRules.listByServer(this.rg, name, { abortSignal: op.signal }), 'VirtualNetworkRules.listByServer') : Promise.resolve([] as VirtualNetworkRule[]),
      collectAll(() => this.client.configurations.listByServer(this.rg, name, { abortSignal: op.signal }), 'Configurations.listByServer'),
      this.cfg.lock_from_deletion ? this.deps.locks.isLocked(server.id ?? this.serverId(name), op.signal) : Promise.resolve(true),
      this.cfg.network.create_private_endpoint ? this.privateEndpointState(op, name) : Promise.resolve(undefined),
    ]);
    const busy = (kind: string, n: string) => running.has(`${name}/${kind}/${n.toLowerCase()}`);
    const firewall0 = publicAccess
      ? diffFirewallRules(desiredFirewallRules(this.cfg.parameters.network.firewall_rules, s.spec.network?.firewallRules, this.cfg.network.allow_azure_services), rules)
      : { upsert: [], remove: [] };
    const wantedVnet: VnetRuleWanted[] = publicAccess ? this.cfg.network.vnets.map((v) => ({ name: `${v.vnet}-${v.subnet}`, subnetId: subnetId(this.cfg.subscription_id, this.rg, v.vnet, v.subnet) })) : [];
    const firewall = { upsert: firewall0.upsert.filter((r) => !busy('fw', r.name)), remove: firewall0.remove.filter((r) => !busy('fw', r)) };
    const vnetDiff0 = {
      upsert: wantedVnet.filter((w) => !vnetRules.some((l) => l.name?.toLowerCase() === w.name.toLowerCase() && l.virtualNetworkSubnetId?.toLowerCase() === w.subnetId.toLowerCase())),
      remove: vnetRules.filter((l) => l.name && !wantedVnet.some((w) => w.name.toLowerCase() === l.name!.toLowerCase())).map((l) => l.name!),
    };
    const vnetDiff = { upsert: vnetDiff0.upsert.filter((r) => !busy('vnet', r.name)), remove: vnetDiff0.remove.filter((r) => !busy('vnet', r)) };
    const planned = this.parameterPlan(s, configs);
    const parameters = planned.parameters.filter((p) => !busy('cfg', p.name));
    const warnings = planned.warnings;
    this.report(op, [...d.warnings, ...diff.warnings, ...warnings]);
    return {
      server, changes: diff.changes, patch: diff.patch, firewall, vnetRules: vnetDiff, parameters, lockMissing: !locked,
      restart: s.state[K_RESTART] === 'true', inflight: running.size, ...(pe ? { privateEndpoint: pe } : {}),
    };
  }

  private parameterPlan(s: ServerRequest, live: readonly Configuration[]): { parameters: Plan['parameters']; warnings: Warning[] } {
    const byName = new Map(live.filter((c) => c.name).map((c) => [c.name!.toLowerCase(), c]));
    const out: Plan['parameters'] = [];
    const warnings: Warning[] = [];
    const problems: string[] = [];
    const add = (c: Configuration, value: string) => out.push({ name: c.name!, value, needsRestart: true });
    if (s.spec.extensions !== undefined) {
      const preload = byName.get('shared_preload_libraries');
      const wanted = [...new Set(s.spec.extensions.map((e) => e.trim().toLowerCase()).filter((e) => PRELOAD_EXTENSIONS.has(e)))].sort().join(',');
      const current = [...new Set((preload?.value ?? '').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean))].sort().join(',');
      if (preload && current !== wanted) add(preload, wanted);
    }
    for (const [name, value] of Object.entries(s.spec.serverParameters ?? {})) {
      const c = byName.get(name.toLowerCase());
      if (!c) {
        warnings.push({ reason: 'UnknownServerParameter', message: `server parameter '${name}' does not exist on this server; it is ignored` });
        continue;
      }
      // dataType/allowedValues checked before any call (booleans in Azure's on/off spelling).
      const checked = parameterValue(c, String(value));
      if ('problem' in checked) {
        problems.push(`spec.serverParameters.${name}: server parameter ${c.name}: ${checked.problem}`);
        continue;
      }
      if (c.value?.trim().toLowerCase() !== checked.value.trim().toLowerCase()) out.push({ name: c.name!, value: checked.value, needsRestart: false });
    }
    if (problems.length > 0) throw terminal('InvalidSpec', problems.join('; '));
    return { parameters: out, warnings };
  }

  async createServer(op: Op, s: ServerRequest, adminPassword: string): Promise<Progress> {
    const name = this.nameOf(s);
    if (s.state[K_NAME] !== name) await op.saveState({ [K_NAME]: name });
    const running = await this.continueOperation(op, s, name);
    if (running) return this.pending(running);
    const existing = await this.getServer(op, name);
    if (existing) {
      this.checkOwner(existing, s, name);
      return this.pending(`single server ${name} is ${existing.userVisibleState ?? 'being created'}`);
    }
    op.warn('LegacyBackend', RETIREMENT_NOTICE);
    const d = desiredServer(this.cfg, s);
    const { version, warning } = resolveVersion(s.spec.version);
    this.report(op, [...d.warnings, ...(warning ? [warning] : [])]);
    op.log.info({ server: name, sku: d.sku.name, version }, 'creating Azure single server');
    try {
      const poller = await this.client.servers.beginCreate(this.rg, name, createBody(this.cfg, d, version, adminPassword), { abortSignal: op.signal, updateIntervalInMs: this.pollIntervalMs });
      await op.saveState({ [K_OPERATION]: encodeOperation('create', poller), [K_PASSWORD]: hashOf(adminPassword) });
    } catch (err) {
      throw toBackendError(err, `creating single server ${name}`);
    }
    return this.pending(`creating single server ${name} (PostgreSQL ${version}, ${d.sku.name})`);
  }

  async updateServer(op: Op, s: ServerRequest, seen: ServerObservation, adminPassword?: string): Promise<Progress> {
    const name = this.nameOf(s);
    const running = await this.continueOperation(op, s, name);
    if (running) return this.pending(running);
    let plan = seen.live as Plan | undefined;
    if (!plan) {
      const server = await this.getServer(op, name);
      if (!server || server.userVisibleState !== 'Ready') return this.pending(`single server ${name} is not Ready`);
      plan = await this.plan(op, s, server);
    }
    const server = plan.server;
    const passwordChange = adminPassword !== undefined && s.state[K_PASSWORD] !== hashOf(adminPassword) ? adminPassword : undefined;
    // One change per server at a time (Azure refuses or fails a second one while the server is busy):
    // each reconcile starts at most one and returns pending; the plan is the queue.
    if (plan.inflight > 0) return this.pending(`${plan.inflight} change(s) of single server ${name} still running in Azure`);
    if (plan.changes.length > 0 || passwordChange !== undefined) {
      const patch = { ...plan.patch, ...(passwordChange !== undefined ? { administratorLoginPassword: passwordChange } : {}) };
      try {
        const poller = await this.client.servers.beginUpdate(this.rg, name, patch, { abortSignal: op.signal, updateIntervalInMs: this.pollIntervalMs });
        await op.saveState({ [K_OPERATION]: encodeOperation('update', poller), ...(passwordChange !== undefined ? { [K_PASSWORD]: hashOf(passwordChange) } : {}) });
      } catch (err) {
        throw toBackendError(err, `updating single server ${name}`);
      }
      return this.pending(`updating single server ${name}: ${[...plan.changes, ...(passwordChange !== undefined ? ['admin password'] : [])].join(', ')}`);
    }
    const ruleChanges: Array<[string, () => Promise<void>]> = [
      ...plan.firewall.upsert.map((r): [string, () => Promise<void>] => [`set firewall rule ${r.name}`, () => this.start(`firewall rule ${r.name}`, `${name}/fw/${r.name.toLowerCase()}`, () => this.client.firewallRules.beginCreateOrUpdate(this.rg, name, r.name, { startIpAddress: r.startIpAddress, endIpAddress: r.endIpAddress }, { abortSignal: op.signal }))]),
      ...plan.firewall.remove.map((r): [string, () => Promise<void>] => [`delete firewall rule ${r}`, () => this.start(`deleting firewall rule ${r}`, `${name}/fw/${r.toLowerCase()}`, () => this.client.firewallRules.beginDelete(this.rg, name, r, { abortSignal: op.signal }))]),
      ...plan.vnetRules.upsert.map((r): [string, () => Promise<void>] => [`set VNet rule ${r.name}`, () => this.start(`VNet rule ${r.name}`, `${name}/vnet/${r.name.toLowerCase()}`, () => this.client.virtualNetworkRules.beginCreateOrUpdate(this.rg, name, r.name, { virtualNetworkSubnetId: r.subnetId, ignoreMissingVnetServiceEndpoint: true }, { abortSignal: op.signal }))]),
      ...plan.vnetRules.remove.map((r): [string, () => Promise<void>] => [`delete VNet rule ${r}`, () => this.start(`deleting VNet rule ${r}`, `${name}/vnet/${r.toLowerCase()}`, () => this.client.virtualNetworkRules.beginDelete(this.rg, name, r, { abortSignal: op.signal }))]),
    ];
    const ruleChange = ruleChanges[0];
    if (ruleChange) {
      await ruleChange[1]();
      return this.pending(`network rules of single server ${name}: ${ruleChange[0]}${ruleChanges.length > 1 ? ` (${ruleChanges.length - 1} more after it)` : ''}`);
    }
    if (plan.privateEndpoint === 'create') {
      await this.createPrivateEndpoint(op, server);
      return this.pending(`creating the private endpoint of single server ${name}`);
    }
    if (plan.privateEndpoint === 'wait') return this.pending(`the private endpoint of single server ${name} is being provisioned`);
    if (plan.privateEndpoint?.recordMissing) {
      try {
        await this.deps.privateDns.recordSets.createOrUpdate(this.rg, this.cfg.private_dns_zone, 'A', name, { ttl: 30, aRecords: [{ ipv4Address: plan.privateEndpoint.ip }] }, { abortSignal: op.signal });
      } catch (err) {
        throw toBackendError(err, `DNS A record ${name}.${this.cfg.private_dns_zone}`);
      }
    }
    if (plan.parameters.length > 0) {
      if (plan.parameters.some((p) => p.needsRestart) && s.state[K_RESTART] !== 'true') await op.saveState({ [K_RESTART]: 'true' });
      const p = plan.parameters[0]!;
      await this.start(`server parameter ${p.name}`, `${name}/cfg/${p.name.toLowerCase()}`, () => this.client.configurations.beginCreateOrUpdate(this.rg, name, p.name, { value: p.value, source: 'user-override' }, { abortSignal: op.signal }));
      return this.pending(`server parameters of single server ${name}: setting ${p.name}${plan.parameters.length > 1 ? ` (${plan.parameters.length - 1} more after it)` : ''}`);
    }
    if (plan.restart) {
      try {
        const poller = await this.client.servers.beginRestart(this.rg, name, { abortSignal: op.signal, updateIntervalInMs: this.pollIntervalMs });
        // restartRequired stays until the restart succeeded (continueSavedOperation clears it).
        await op.saveState({ [K_OPERATION]: encodeOperation('restart', poller) });
      } catch (err) {
        throw toBackendError(err, `restarting single server ${name}`);
      }
      return this.pending(`restarting single server ${name} for shared_preload_libraries`);
    }
    // The delete lock last: an identity that may not write locks (Contributor) must not hold up the rest.
    if (plan.lockMissing) {
      try {
        await this.deps.locks.ensure(server.id ?? this.serverId(name), `Set by hybrid-cloud-postgresql-operator for ${s.namespace}/${s.name}: lock_from_deletion`, op.signal);
      } catch (err) {
        if ((err as { reason?: string }).reason !== 'LockPermissionDenied') throw err;
        op.warn('LockPermissionDenied', (err as Error).message);
      }
    }
    return { state: 'ready', endpoint: this.endpointOf(server) };
  }

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
      op.warn('NotOwned', `single server ${name} is not tagged as belonging to ${s.namespace}/${s.name}; it is left alone`);
      return { state: 'gone' };
    }
    if (this.cfg.server_delete_fake) {
      if (server.tags?.[TAG_MARKED_FOR_DELETION] === 'yes') return { state: 'gone' };
      await this.start(`tagging single server ${name}`, undefined, () => this.client.servers.beginUpdate(this.rg, name, { tags: mergedTags(server.tags, { [TAG_MARKED_FOR_DELETION]: 'yes' }) }, { abortSignal: op.signal }));
      return this.pending(`tagging single server ${name} as marked for deletion (server_delete_fake); it is not deleted`);
    }
    if (server.userVisibleState === 'Dropping') return this.pending(`single server ${name} is being deleted`);
    const id = server.id ?? this.serverId(name);
    const locks = await this.deps.locks.blocking(id, op.signal);
    if (locks.length > 0) throw deletionLockedError(`single server ${name}`, id, locks);
    // The private endpoint and its DNS record go first (the Python operator leaked them).
    if (this.cfg.network.create_private_endpoint) {
      const pe = await this.getPrivateEndpoint(op, name);
      if (pe) {
        await this.deps.privateDns.recordSets.delete(this.rg, this.cfg.private_dns_zone, 'A', name, { abortSignal: op.signal }).catch((err: unknown) => {
          if (!isNotFound(err)) throw toBackendError(err, `deleting DNS A record ${name}`);
        });
        if (pe.provisioningState !== 'Deleting') {
          try {
            await this.deps.network.privateEndpoints.delete(this.rg, name, { abortSignal: op.signal }).submitted();
          } catch (err) {
            if (!isNotFound(err)) throw toBackendError(err, `deleting private endpoint ${name}`);
          }
        }
        return this.pending(`deleting the private endpoint of single server ${name}`);
      }
    }
    try {
      const poller = await this.client.servers.beginDelete(this.rg, name, { abortSignal: op.signal, updateIntervalInMs: this.pollIntervalMs });
      await op.saveState({ [K_OPERATION]: encodeOperation('delete', poller) });
    } catch (err) {
      if (isNotFound(err)) return { state: 'gone' };
      if (isScopeLocked(err)) throw deletionLockedError(`single server ${name}`, id, await this.deps.locks.blocking(id, op.signal));
      throw toBackendError(err, `deleting single server ${name}`);
    }
    return this.pending(`deleting single server ${name}`);
  }

  readonly database: DatabaseHooks = {
    createDatabase: async (op: Op, server: ServerRequest, db: DatabaseRequest) => {
      const name = this.nameOf(server);
      const charset = db.spec.database?.charset ?? 'UTF8';
      const collation = db.spec.database?.collation ?? 'English_United States.1252';
      if (await this.databaseExists(op, name, db.databaseName)) return;
      await shortOperation(`creating database ${db.databaseName} on ${name}`, op.signal, () => this.client.databases.beginCreateOrUpdate(this.rg, name, db.databaseName, { charset, collation }, { abortSignal: op.signal, updateIntervalInMs: this.pollIntervalMs }), { pollIntervalMs: this.pollIntervalMs, boundMs: DB_OPERATION_TIMEOUT_MS });
    },
    deleteDatabase: async (op: Op, server: ServerRequest, db: DatabaseRequest) => {
      const name = this.nameOf(server);
      try {
        if (!(await this.databaseExists(op, name, db.databaseName))) return true;
        await shortOperation(`deleting database ${db.databaseName} on ${name}`, op.signal, () => this.client.databases.beginDelete(this.rg, name, db.databaseName, { abortSignal: op.signal, updateIntervalInMs: this.pollIntervalMs }), { pollIntervalMs: this.pollIntervalMs, boundMs: DB_OPERATION_TIMEOUT_MS });
      } catch (err) {
        const cause = (err as { cause?: unknown }).cause ?? err;
        if (isScopeLocked(cause)) return false;
        if (!isNotFound(cause)) throw err;
      }
      return true;
    },
    /** Single server logins carry the server name: `user@server`. */
    loginName: (server: ServerRequest, role: string) => `${role}@${this.nameOf(server)}`,
    keepDatabaseOnDelete: () => this.cfg.database_delete_fake,
  };

  // ---- helpers ----------------------------------------------------------------------------------

  private continueOperation(op: Op, s: ServerRequest, name: string): Promise<string | undefined> {
    return continueSavedOperation(op, s.state, {
      key: K_OPERATION,
      what: `single server ${name}`,
      pollIntervalMs: this.pollIntervalMs,
      clearOnFailedUpdate: [K_PASSWORD],
      clearOnSuccess: { restart: [K_RESTART] },
      resume: (kind, opts) => {
        switch (kind) {
          case 'create': return this.client.servers.beginCreate(this.rg, name, {} as never, opts);
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
      throw toBackendError(err, `reading single server ${name}`);
    }
  }

  private async getPrivateEndpoint(op: Op, name: string): Promise<PrivateEndpoint | undefined> {
    try {
      return await this.deps.network.privateEndpoints.get(this.rg, name, { abortSignal: op.signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toBackendError(err, `reading private endpoint ${name}`);
    }
  }

  private async privateEndpointState(op: Op, name: string): Promise<Plan['privateEndpoint']> {
    const pe = await this.getPrivateEndpoint(op, name);
    if (!pe) return 'create';
    if (pe.provisioningState !== 'Succeeded') return 'wait';
    const ip = pe.customDnsConfigs?.[0]?.ipAddresses?.[0];
    if (!ip) return 'wait';
    let recordMissing = true;
    try {
      const rec = await this.deps.privateDns.recordSets.get(this.rg, this.cfg.private_dns_zone, 'A', name, { abortSignal: op.signal });
      recordMissing = !(rec.aRecords ?? []).some((a) => a.ipv4Address === ip);
    } catch (err) {
      if (!isNotFound(err)) throw toBackendError(err, `reading DNS A record ${name}`);
    }
    return { ip, recordMissing };
  }

  private async createPrivateEndpoint(op: Op, server: Server): Promise<void> {
    const name = server.name!;
    const body: PrivateEndpoint = {
      location: this.cfg.location,
      subnet: { id: subnetId(this.cfg.subscription_id, this.rg, this.cfg.virtual_network!, this.cfg.subnet!) },
      privateLinkServiceConnections: [{ name: `link-${name}`, privateLinkServiceId: server.id ?? this.serverId(name), groupIds: ['postgresqlServer'] }],
    };
    try {
      await this.deps.network.privateEndpoints.createOrUpdate(this.rg, name, body, { abortSignal: op.signal }).submitted();
    } catch (err) {
      throw toBackendError(err, `creating private endpoint ${name}`);
    }
  }

  private checkOwner(server: Server, s: ServerRequest, name: string): void {
    const owner = ownership(server.tags, s);
    if (typeof owner === 'object') throw terminal('NameConflict', `single server ${name} already exists and belongs to ${owner.owner}; change name_pattern or the object's name`);
  }



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


  private endpointOf(server: Server): Endpoint {
    const name = server.name!;
    return {
      host: server.fullyQualifiedDomainName ?? `${name}.postgres.database.azure.com`,
      port: 5432,
      sslmode: 'require',
      adminUsername: `${server.administratorLogin ?? this.cfg.admin_username}@${name}`,
      adminDatabase: 'postgres',
    };
  }

  private report(op: Op, warnings: readonly Warning[]): void {
    for (const w of warnings) op.warn(w.reason, w.message);
  }

  private pending(message: string): Progress {
    return { state: 'pending', pollAfterMs: this.cfg.poll_interval_seconds * 1000, message };
  }
}

function describePlan(p: Plan): string[] {
  const out = [...p.changes];
  if (p.lockMissing) out.push('delete lock missing');
  if (!isEmptyDiff(p.firewall)) out.push('firewall rules');
  if (p.vnetRules.upsert.length || p.vnetRules.remove.length) out.push('VNet rules');
  if (p.privateEndpoint === 'create' || p.privateEndpoint === 'wait') out.push('private endpoint');
  else if (p.privateEndpoint?.recordMissing) out.push('private DNS record');
  if (p.parameters.length) out.push(`server parameters: ${p.parameters.map((x) => x.name).join(', ')}`);
  if (p.restart) out.push('restart pending');
  if (p.inflight) out.push(`${p.inflight} change(s) still running in Azure`);
  return out;
}

/**
 * The desired flexible server for a ServerRequest, and how it differs from the live one.
 * Pure functions; the backend does the calls.
 */
import type { Configuration, FirewallRule, Server, ServerForPatch } from '@azure/arm-postgresql-flexible';
import { unchangedSincePythonOperator, type Problem, type ServerRequest } from '@hybridcloud-postgresql/core';
import {
  ARM_WEEKDAYS, armMaintenanceWindow, desiredFirewallRules, diffFirewallRules, firewallRuleNameProblem, maintenanceWindowProblem, missingTags, mergedTags,
  operatorTags, parameterValue, privateDnsZoneId, sameMaintenanceWindow, serverName, serverNameProblem, subnetId,
  type ArmMaintenanceWindow, type FirewallDiff,
} from '@hybridcloud-postgresql/azure-common';
import { dnsZone, type FlexibleConfig } from './config.js';

export interface Warning {
  reason: string;
  message: string;
}

export const MIN_STORAGE_GB = 32;
/** Storage sizes a flexible server (Premium_LRS) accepts. */
export const STORAGE_SIZES_GB = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767];

/** SKUs picked for cpu/memoryMB: the v4 families the Python operator used, so adopted servers keep their size. */
const SIZED_SKUS = [
  ...[2, 4, 8, 16, 32, 48, 64].map((n) => ({ name: `Standard_D${n}ds_v4`, tier: 'GeneralPurpose' as const, cpu: n, memoryMB: n * 4096 })),
  ...[2, 4, 8, 16, 20, 32, 48, 64].map((n) => ({ name: `Standard_E${n}ds_v4`, tier: 'MemoryOptimized' as const, cpu: n, memoryMB: n * 8192 })),
].sort((a, b) => a.cpu - b.cpu || a.memoryMB - b.memoryMB);

export const DEFAULT_CPU = 2;

export interface Sku {
  name: string;
  tier: 'Burstable' | 'GeneralPurpose' | 'MemoryOptimized';
}

export function resolveSku(cfg: FlexibleConfig, s: ServerRequest): { sku: Sku; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const size = s.spec.size ?? {};
  if (size.class !== undefined) {
    const c = cfg.classes[size.class];
    if (c) return { sku: { name: c.name, tier: c.tier }, warnings };
    const fallback = cfg.default_class ? cfg.classes[cfg.default_class] : undefined;
    if (fallback) {
      warnings.push({ reason: 'UnknownSizeClass', message: `size class '${size.class}' does not exist (classes: ${Object.keys(cfg.classes).join(', ') || 'none'}); using the default class '${cfg.default_class}'` });
      return { sku: { name: fallback.name, tier: fallback.tier }, warnings };
    }
    warnings.push({ reason: 'UnknownSizeClass', message: `size class '${size.class}' does not exist and no default_class is configured; sizing by cpu/memoryMB` });
  } else if (size.cpu === undefined && size.memoryMB === undefined && cfg.default_class && cfg.classes[cfg.default_class]) {
    const c = cfg.classes[cfg.default_class]!;
    return { sku: { name: c.name, tier: c.tier }, warnings };
  }
  const cpu = size.cpu ?? DEFAULT_CPU;
  const memoryMB = size.memoryMB ?? 0;
  const fit = SIZED_SKUS.find((k) => k.cpu >= cpu && k.memoryMB >= memoryMB);
  if (!fit) {
    const biggest = SIZED_SKUS[SIZED_SKUS.length - 1]!;
    warnings.push({ reason: 'SizeTooLarge', message: `no SKU offers ${cpu} CPUs and ${memoryMB} MB; using ${biggest.name}` });
    return { sku: { name: biggest.name, tier: biggest.tier }, warnings };
  }
  return { sku: { name: fit.name, tier: fit.tier }, warnings };
}

/** Adopted from the Python operator, spec unchanged since, and the admin keeps its readings (python_objects: keep). */
export function keepsPythonReading(cfg: FlexibleConfig, s: ServerRequest): boolean {
  return cfg.python_objects === 'keep' && unchangedSincePythonOperator(s);
}

const PYTHON_CPU_STEPS = [2, 4, 8, 16, 32, 48, 64];
/**
 * The SKU azure_postgresqlflexible.py chose: a class only when both size.class and default_class
 * were set (an unknown class meant the default), else cpu (default 2) rounded up to
 * Standard_D{n}ds_v4; memoryMB was ignored.
 */
export function pythonSku(cfg: FlexibleConfig, s: ServerRequest): Sku {
  const size = s.spec.size ?? {};
  if (size.class && cfg.default_class) {
    const c = cfg.classes[size.class] ?? cfg.classes[cfg.default_class];
    if (c) return { name: c.name, tier: c.tier };
  }
  const cpu = size.cpu ?? DEFAULT_CPU;
  const n = PYTHON_CPU_STEPS.find((x) => x >= cpu) ?? 64;
  return { name: `Standard_D${n}ds_v4`, tier: 'GeneralPurpose' };
}

/** The SKU to run: this operator's reading, or for an unchanged adopted server the Python operator's (with a warning). */
export function effectiveSku(cfg: FlexibleConfig, s: ServerRequest): { sku: Sku; warnings: Warning[] } {
  const ours = resolveSku(cfg, s);
  if (!keepsPythonReading(cfg, s)) return ours;
  const py = pythonSku(cfg, s);
  if (py.name === ours.sku.name) return ours;
  return {
    sku: py,
    warnings: [
      ...ours.warnings,
      { reason: 'AdoptedValueKept', message: `this operator would run ${ours.sku.name} (${ours.sku.tier}) for spec.size; the Python operator chose ${py.name} (it used a class only with both size.class and default_class, and ignored memoryMB), which is kept while the spec is unchanged. Set backends.azurepostgresflexible.python_objects: apply (or change the spec) for the new reading. See docs/migration.md.` },
    ],
  };
}

/** ARM's window as the Python operator sent it: Python's weekday() (Monday = 0) where ARM counts from Sunday. */
export function pythonMaintenanceWindow(window: { weekday: string; starttime: string } | undefined): ArmMaintenanceWindow {
  const ours = armMaintenanceWindow(window);
  return ours.customWindow === 'Enabled' ? { ...ours, dayOfWeek: (ours.dayOfWeek + 6) % 7 } : ours;
}

export function storageGB(s: ServerRequest): number {
  const wanted = s.spec.size?.storageGB ?? MIN_STORAGE_GB;
  return STORAGE_SIZES_GB.find((g) => g >= wanted) ?? STORAGE_SIZES_GB[STORAGE_SIZES_GB.length - 1]!;
}

export function validate(cfg: FlexibleConfig, s: ServerRequest): Problem[] {
  const problems: Problem[] = [];
  const name = serverName(cfg, s);
  const nameProblem = serverNameProblem(name);
  if (nameProblem) problems.push({ field: 'metadata.name', message: nameProblem });
  const cpu = s.spec.size?.cpu ?? DEFAULT_CPU;
  if (s.spec.size?.class === undefined && cfg.cpu_limit !== undefined && cpu > cfg.cpu_limit) problems.push({ field: 'spec.size.cpu', message: `${cpu} CPUs exceed the limit of ${cfg.cpu_limit}` });
  const storage = s.spec.size?.storageGB;
  if (storage !== undefined && storage < MIN_STORAGE_GB) problems.push({ field: 'spec.size.storageGB', message: `must be at least ${MIN_STORAGE_GB} GB for Azure flexible servers` });
  if (storage !== undefined && storage > STORAGE_SIZES_GB[STORAGE_SIZES_GB.length - 1]!) problems.push({ field: 'spec.size.storageGB', message: `must be at most ${STORAGE_SIZES_GB[STORAGE_SIZES_GB.length - 1]} GB` });
  if (storage !== undefined && cfg.storage_limit_gb !== undefined && storage > cfg.storage_limit_gb) problems.push({ field: 'spec.size.storageGB', message: `${storage} GB exceed the limit of ${cfg.storage_limit_gb} GB` });
  const retention = s.spec.backup?.retentionDays;
  if (retention !== undefined && (retention < 7 || retention > 35)) problems.push({ field: 'spec.backup.retentionDays', message: 'must be between 7 and 35 days on Azure' });
  const mw = maintenanceWindowProblem(s.spec.maintenance?.window);
  if (s.spec.maintenance?.window && mw) problems.push({ field: 'spec.maintenance.window', message: mw });
  if (s.spec.highavailability?.enabled && effectiveSku(cfg, s).sku.tier === 'Burstable') problems.push({ field: 'spec.highavailability.enabled', message: 'high availability is not available for Burstable SKUs; choose a GeneralPurpose or MemoryOptimized class' });
  (s.spec.network?.firewallRules ?? []).forEach((r, i) => {
    const p = firewallRuleNameProblem(r.name);
    if (p) problems.push({ field: `spec.network.firewallRules[${i}].name`, message: p });
  });
  cfg.parameters.network.firewall_rules.forEach((r, i) => {
    const p = firewallRuleNameProblem(r.name);
    if (p) problems.push({ field: `backends.azurepostgresflexible.parameters.network.firewall_rules[${i}].name`, message: `${p} (operator config)` });
  });
  if (!cfg.network.public_access && (!cfg.virtual_network || !cfg.subnet || !dnsZone(cfg))) {
    problems.push({ field: 'backends.azurepostgresflexible', message: 'network.public_access is false, so virtual_network, subnet and dns_zone must be configured (operator config)' });
  }
  return problems;
}

export function resolveVersion(requested: string | undefined, offered: readonly string[], defaultVersion: string | undefined): { version: string; warning?: Warning } {
  const sorted = [...offered].sort((a, b) => Number(a) - Number(b));
  const newest = sorted[sorted.length - 1] ?? '17';
  const fallback = defaultVersion && sorted.includes(defaultVersion) ? defaultVersion : newest;
  const r = (requested ?? '').trim().toLowerCase();
  if (r === '' || r === 'latest') return { version: newest };
  const major = r.split('.')[0]!;
  if (sorted.includes(major)) return { version: major };
  return { version: fallback, warning: { reason: 'UnsupportedVersion', message: `PostgreSQL version '${requested}' is not offered by Azure flexible server here (offered: ${sorted.join(', ')}); using ${fallback}` } };
}

export interface DesiredServer {
  name: string;
  sku: Sku;
  storageGB: number;
  autoGrow: 'Enabled' | 'Disabled';
  backupRetentionDays: number;
  geoRedundantBackup: 'Enabled' | 'Disabled';
  haMode: 'ZoneRedundant' | 'Disabled';
  standbyZone: string;
  maintenance: ArmMaintenanceWindow;
  tags: Record<string, string>;
  publicAccess: boolean;
  network?: { delegatedSubnetResourceId: string; privateDnsZoneArmResourceId: string };
  warnings: Warning[];
}

export function desiredServer(cfg: FlexibleConfig, s: ServerRequest): DesiredServer {
  const { sku, warnings } = effectiveSku(cfg, s);
  let maintenance = armMaintenanceWindow(s.spec.maintenance?.window);
  if (keepsPythonReading(cfg, s) && maintenance.customWindow === 'Enabled') {
    const py = pythonMaintenanceWindow(s.spec.maintenance?.window);
    warnings.push({ reason: 'AdoptedValueKept', message: `the maintenance window stays on ${ARM_WEEKDAYS[py.dayOfWeek]} as the Python operator set it (it counted Monday as day 0, one day early); spec.maintenance.window.weekday says ${s.spec.maintenance!.window!.weekday}. Set backends.azurepostgresflexible.python_objects: apply (or change the spec) to move it. See docs/migration.md.` });
    maintenance = py;
  }
  const wantedStorage = s.spec.size?.storageGB ?? MIN_STORAGE_GB;
  const storage = storageGB(s);
  if (storage !== wantedStorage) warnings.push({ reason: 'StorageRounded', message: `Azure offers storage in fixed sizes; ${wantedStorage} GB is rounded up to ${storage} GB` });
  const zone = dnsZone(cfg);
  const network = !cfg.network.public_access && cfg.virtual_network && cfg.subnet && zone
    ? {
        delegatedSubnetResourceId: subnetId(cfg.subscription_id, cfg.resource_group, cfg.virtual_network, cfg.subnet),
        privateDnsZoneArmResourceId: privateDnsZoneId(cfg.subscription_id, zone.resourceGroup, zone.name),
      }
    : undefined;
  return {
    name: serverName(cfg, s),
    sku,
    storageGB: storage,
    autoGrow: s.spec.size?.storageAutoGrow ? 'Enabled' : 'Disabled',
    backupRetentionDays: s.spec.backup?.retentionDays ?? cfg.parameters.backup_retention_days,
    geoRedundantBackup: (s.spec.backup?.geoRedundant ?? cfg.parameters.geo_redundant_backup) ? 'Enabled' : 'Disabled',
    haMode: s.spec.highavailability?.enabled ? 'ZoneRedundant' : 'Disabled',
    standbyZone: cfg.standby_availability_zone,
    maintenance,
    tags: operatorTags(cfg.tags, s),
    publicAccess: cfg.network.public_access,
    ...(network ? { network } : {}),
    warnings,
  };
}

/**
 * The creation body. maintenanceWindow is read/update only in the 2025-08-01 spec (Azure ignores it
 * at creation), so it is set by the first update; availabilityZone only when one is wanted and
 * offered (`zone`), else Azure picks.
 */
export function createBody(cfg: FlexibleConfig, d: DesiredServer, version: string, adminPassword: string, zone?: string): Server {
  return {
    location: cfg.location,
    sku: d.sku,
    tags: d.tags,
    administratorLogin: cfg.admin_username,
    administratorLoginPassword: adminPassword,
    version,
    storage: { storageSizeGB: d.storageGB, autoGrow: d.autoGrow },
    backup: { backupRetentionDays: d.backupRetentionDays, geoRedundantBackup: d.geoRedundantBackup },
    highAvailability: d.haMode === 'ZoneRedundant' ? { mode: 'ZoneRedundant', standbyAvailabilityZone: d.standbyZone } : { mode: 'Disabled' },
    ...(zone ? { availabilityZone: zone } : {}),
    network: d.network ? { ...d.network, publicNetworkAccess: 'Disabled' } : { publicNetworkAccess: 'Enabled' },
    createMode: 'Create',
  };
}

export interface ServerDiff {
  patch: ServerForPatch;
  changes: string[];
  warnings: Warning[];
}

/** Only what differs goes into the PATCH; what Azure cannot change is reported instead. */
export function diffServer(d: DesiredServer, live: Server): ServerDiff {
  const patch: ServerForPatch = {};
  const changes: string[] = [];
  const warnings: Warning[] = [];
  if (live.sku?.name !== d.sku.name || live.sku?.tier !== d.sku.tier) {
    patch.sku = d.sku;
    changes.push(`sku ${live.sku?.name} → ${d.sku.name}`);
  }
  const liveStorage = live.storage?.storageSizeGB ?? 0;
  const liveAutoGrow = live.storage?.autoGrow ?? 'Disabled';
  if (d.storageGB > liveStorage || liveAutoGrow !== d.autoGrow) {
    patch.storage = { storageSizeGB: Math.max(d.storageGB, liveStorage), autoGrow: d.autoGrow };
    if (d.storageGB > liveStorage) changes.push(`storage ${liveStorage} → ${d.storageGB} GB`);
    if (liveAutoGrow !== d.autoGrow) changes.push(`storage auto-grow ${d.autoGrow}`);
  } else if (d.storageGB < liveStorage) {
    warnings.push({ reason: 'StorageShrinkIgnored', message: `storage cannot shrink in Azure: the server keeps ${liveStorage} GB (spec asks for ${d.storageGB} GB)` });
  }
  if ((live.backup?.backupRetentionDays ?? 7) !== d.backupRetentionDays) {
    patch.backup = { backupRetentionDays: d.backupRetentionDays };
    changes.push(`backup retention ${d.backupRetentionDays} days`);
  }
  if ((live.backup?.geoRedundantBackup ?? 'Disabled') !== d.geoRedundantBackup) {
    warnings.push({ reason: 'GeoRedundantBackupImmutable', message: `geo-redundant backup can only be chosen when a flexible server is created; the server keeps ${live.backup?.geoRedundantBackup ?? 'Disabled'}` });
  }
  const liveHa = live.highAvailability?.mode ?? 'Disabled';
  if (liveHa !== d.haMode || (d.haMode === 'ZoneRedundant' && live.highAvailability?.standbyAvailabilityZone !== d.standbyZone)) {
    patch.highAvailability = d.haMode === 'ZoneRedundant' ? { mode: 'ZoneRedundant', standbyAvailabilityZone: d.standbyZone } : { mode: 'Disabled' };
    changes.push(`high availability ${d.haMode}`);
  }
  if (!sameMaintenanceWindow(d.maintenance, live.maintenanceWindow)) {
    patch.maintenanceWindow = d.maintenance;
    changes.push('maintenance window');
  }
  const tagKeys = missingTags(d.tags, live.tags);
  if (tagKeys.length > 0) {
    patch.tags = mergedTags(live.tags, d.tags);
    changes.push(`tags ${tagKeys.join(', ')}`);
  }
  const liveVnet = !!live.network?.delegatedSubnetResourceId;
  if (liveVnet === d.publicAccess) {
    warnings.push({
      reason: 'NetworkModeImmutable',
      message: liveVnet
        ? 'the server is integrated into a virtual network, but the operator config now asks for public access; Azure cannot change this after creation. Keep network.public_access: false for this server, or re-create it (backup/restore).'
        : 'the server has public access, but the operator config now asks for virtual network integration (network.public_access: false); Azure cannot change this after creation. Re-create the server (backup/restore) to move it into the virtual network.',
    });
  }
  return { patch, changes, warnings };
}

export function firewallPlan(cfg: FlexibleConfig, s: ServerRequest, live: readonly FirewallRule[]): FirewallDiff {
  const wanted = desiredFirewallRules(cfg.parameters.network.firewall_rules, s.spec.network?.firewallRules, cfg.network.allow_azure_services);
  return diffFirewallRules(wanted, live);
}

// ---- server parameters and extensions -----------------------------------------------------------

/** Extensions that only work when preloaded (shared_preload_libraries). */
/** What azure_postgresqlflexible.py appended to every spec.extensions. */
export const PYTHON_ADDED_EXTENSIONS = ['pg_cron', 'pg_stat_statements'];
export const PRELOAD_EXTENSIONS = new Set(['timescaledb', 'pg_cron', 'pg_partman_bgw', 'pg_prewarm', 'pg_stat_statements', 'pgaudit', 'pglogical', 'wal2json', 'age', 'pg_hint_plan', 'pg_squeeze', 'auto_explain', 'pg_failover_slots']);
/** Parameters the operator manages itself or that must never be reset (from the Python operator's ignore list). */
export const NEVER_RESET = new Set(['shared_preload_libraries', 'azure.extensions', 'log_autovacuum_min_duration', 'vacuum_cost_page_miss', 'temp_tablespaces', 'commit_timestamp_buffers', 'subtransaction_buffers', 'transaction_buffers']);

const setOf = (v: string | undefined) => new Set((v ?? '').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean));
const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));

const BOOL: Record<string, 'on' | 'off'> = { on: 'on', true: 'on', yes: 'on', off: 'off', false: 'off', no: 'off' };

/** Azure normalises some values (ON/on, 1.0/1): compare loosely so an unchanged value is not re-sent every resync. */
export function sameValue(a: string | undefined, b: string | undefined): boolean {
  const x = (a ?? '').trim();
  const y = (b ?? '').trim();
  if (x === y) return true;
  const bx = BOOL[x.toLowerCase()];
  const by = BOOL[y.toLowerCase()];
  if (bx && by) return bx === by;
  if (x !== '' && y !== '' && !Number.isNaN(Number(x)) && !Number.isNaN(Number(y))) return Number(x) === Number(y);
  return x.toLowerCase() === y.toLowerCase();
}

export interface ParameterChange {
  name: string;
  value: string;
  /** Static parameters take effect only after a restart. */
  needsRestart: boolean;
  why: 'spec' | 'extensions' | 'reset';
}

export function parameterPlan(cfg: FlexibleConfig, s: ServerRequest, live: readonly Configuration[]): { changes: ParameterChange[]; warnings: Warning[]; problems: Problem[] } {
  const byName = new Map(live.filter((c) => c.name).map((c) => [c.name!.toLowerCase(), c]));
  const changes: ParameterChange[] = [];
  const warnings: Warning[] = [];
  const problems: Problem[] = [];
  const add = (c: Configuration, value: string, why: ParameterChange['why']) => changes.push({ name: c.name!, value, needsRestart: c.isDynamicConfig === false, why });

  if (s.spec.extensions !== undefined) {
    const listed = s.spec.extensions.map((e) => e.trim().toLowerCase()).filter(Boolean);
    // The Python operator always added these two; an unchanged adopted server keeps them.
    const added = keepsPythonReading(cfg, s) ? PYTHON_ADDED_EXTENSIONS.filter((e) => !listed.includes(e)) : [];
    if (added.length > 0) warnings.push({ reason: 'AdoptedValueKept', message: `${added.join(' and ')} stay in azure.extensions as the Python operator always added them (spec.extensions does not list them) while the spec is unchanged. Set backends.azurepostgresflexible.python_objects: apply (or list them) to follow spec.extensions exactly. See docs/migration.md.` });
    const wanted = [...new Set([...listed, ...added])].sort();
    const allow = byName.get('azure.extensions');
    const checked = allow && wanted.length > 0 ? parameterValue(allow, wanted.join(',')) : undefined;
    if (checked && 'problem' in checked) problems.push({ field: 'spec.extensions', message: `extensions Azure does not offer on this server: ${checked.problem}` });
    if (allow && !sameSet(setOf(allow.value), new Set(wanted))) add(allow, wanted.join(','), 'extensions');
    const preload = byName.get('shared_preload_libraries');
    if (preload) {
      // Azure's own defaults stay preloaded; the spec's extensions that need it are added once.
      const base = setOf(preload.defaultValue);
      for (const e of wanted) if (PRELOAD_EXTENSIONS.has(e)) base.add(e);
      if (!sameSet(setOf(preload.value), base)) add(preload, [...base].sort().join(','), 'extensions');
    }
  }
  const spec = s.spec.serverParameters ?? {};
  for (const [name, value] of Object.entries(spec)) {
    const c = byName.get(name.toLowerCase());
    if (!c) {
      warnings.push({ reason: 'UnknownServerParameter', message: `server parameter '${name}' does not exist on this server; it is ignored` });
      continue;
    }
    if (c.isReadOnly) {
      warnings.push({ reason: 'ReadOnlyServerParameter', message: `server parameter '${name}' is read-only in Azure; it is ignored` });
      continue;
    }
    if (NEVER_RESET.has(c.name!.toLowerCase()) && s.spec.extensions !== undefined && (c.name === 'azure.extensions' || c.name === 'shared_preload_libraries')) {
      warnings.push({ reason: 'ServerParameterManaged', message: `server parameter '${name}' is managed through spec.extensions; the serverParameters value is ignored` });
      continue;
    }
    const checked = parameterValue(c, String(value));
    if ('problem' in checked) {
      problems.push({ field: `spec.serverParameters.${name}`, message: `server parameter ${c.name}: ${checked.problem}` });
      continue;
    }
    if (!sameValue(c.value, checked.value)) add(c, checked.value, 'spec');
  }
  if (cfg.reset_unlisted_server_parameters) {
    const named = new Set(Object.keys(spec).map((k) => k.toLowerCase()));
    for (const c of live) {
      const n = c.name?.toLowerCase();
      if (!n || c.isReadOnly || named.has(n) || NEVER_RESET.has(n) || c.defaultValue === undefined) continue;
      if (!sameValue(c.value, c.defaultValue)) add(c, c.defaultValue, 'reset');
    }
  }
  return { changes, warnings, problems };
}

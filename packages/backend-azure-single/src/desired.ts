/** The desired single server for a ServerRequest, and how it differs from the live one. */
import type { Server, ServerForCreate, ServerUpdateParameters, Sku } from '@azure/arm-postgresql';
import { unchangedSincePythonOperator, type Problem, type ServerRequest } from '@hybridcloud-postgresql/core';
import { missingTags, mergedTags, operatorTags, serverName, serverNameProblem } from '@hybridcloud-postgresql/azure-common';
import type { SingleConfig } from './config.js';

export interface Warning {
  reason: string;
  message: string;
}

export const MIN_STORAGE_GB = 100;
export const MAX_STORAGE_GB = 16384;
export const VERSIONS = ['10', '11'];
export const DEFAULT_CPU = 2;
const SIZES = [
  ...[2, 4, 8, 16, 32, 64].map((n) => ({ name: `GP_Gen5_${n}`, tier: 'GeneralPurpose' as const, cpu: n, memoryMB: n * 5120 })),
  ...[2, 4, 8, 16, 32].map((n) => ({ name: `MO_Gen5_${n}`, tier: 'MemoryOptimized' as const, cpu: n, memoryMB: n * 10240 })),
].sort((a, b) => a.cpu - b.cpu || a.memoryMB - b.memoryMB);

/**
 * The SKU azure_postgresql.py chose: a class only when both size.class and default_class were set
 * (an unknown class meant the default), else cpu (default 1) rounded up to GP_Gen5_{2..64};
 * memoryMB was ignored.
 */
export function pythonSku(cfg: SingleConfig, s: ServerRequest): Sku {
  const size = s.spec.size ?? {};
  if (size.class && cfg.default_class) {
    const c = cfg.classes[size.class] ?? cfg.classes[cfg.default_class];
    if (c) return { name: c.name, tier: c.tier as Sku['tier'], family: c.family, capacity: c.capacity };
  }
  const n = [2, 4, 8, 16, 32, 64].find((x) => x >= (size.cpu ?? 1)) ?? 64;
  return { name: `GP_Gen5_${n}`, tier: 'GeneralPurpose', family: 'Gen5', capacity: n };
}

/** The SKU to run: this operator's reading, or for an unchanged adopted server (python_objects: keep) the Python operator's. */
export function resolveSku(cfg: SingleConfig, s: ServerRequest): { sku: Sku; warnings: Warning[] } {
  const ours = ourSku(cfg, s);
  if (cfg.python_objects !== 'keep' || !unchangedSincePythonOperator(s)) return ours;
  const py = pythonSku(cfg, s);
  if (py.name === ours.sku.name) return ours;
  return {
    sku: py,
    warnings: [
      ...ours.warnings,
      { reason: 'AdoptedValueKept', message: `this operator would run ${ours.sku.name} for spec.size; the Python operator chose ${py.name} (it used a class only with both size.class and default_class, and ignored memoryMB), which is kept while the spec is unchanged. Set backends.azurepostgres.python_objects: apply (or change the spec) for the new reading. See docs/migration.md.` },
    ],
  };
}

function ourSku(cfg: SingleConfig, s: ServerRequest): { sku: Sku; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const size = s.spec.size ?? {};
  const asSku = (c: { name: string; tier: string; family: string; capacity: number }): Sku => ({ name: c.name, tier: c.tier as Sku['tier'], family: c.family, capacity: c.capacity });
  if (size.class !== undefined) {
    const c = cfg.classes[size.class];
    if (c) return { sku: asSku(c), warnings };
    const fallback = cfg.default_class ? cfg.classes[cfg.default_class] : undefined;
    if (fallback) {
      warnings.push({ reason: 'UnknownSizeClass', message: `size class '${size.class}' does not exist; using the default class '${cfg.default_class}'` });
      return { sku: asSku(fallback), warnings };
    }
    warnings.push({ reason: 'UnknownSizeClass', message: `size class '${size.class}' does not exist and no default_class is configured; sizing by cpu/memoryMB` });
  } else if (size.cpu === undefined && size.memoryMB === undefined && cfg.default_class && cfg.classes[cfg.default_class]) {
    return { sku: asSku(cfg.classes[cfg.default_class]!), warnings };
  }
  const cpu = size.cpu ?? DEFAULT_CPU;
  const fit = SIZES.find((k) => k.cpu >= cpu && k.memoryMB >= (size.memoryMB ?? 0)) ?? SIZES.find((k) => k.name === 'GP_Gen5_64')!;
  if (fit.cpu < cpu || fit.memoryMB < (size.memoryMB ?? 0)) warnings.push({ reason: 'SizeTooLarge', message: `no single server SKU offers ${cpu} CPUs and ${size.memoryMB ?? 0} MB; using ${fit.name}` });
  return { sku: { name: fit.name, tier: fit.tier, family: 'Gen5', capacity: fit.cpu }, warnings };
}

export function validate(cfg: SingleConfig, s: ServerRequest): Problem[] {
  const problems: Problem[] = [];
  const nameProblem = serverNameProblem(serverName(cfg, s));
  if (nameProblem) problems.push({ field: 'metadata.name', message: nameProblem });
  const cpu = s.spec.size?.cpu ?? DEFAULT_CPU;
  if (s.spec.size?.class === undefined && cfg.cpu_limit !== undefined && cpu > cfg.cpu_limit) problems.push({ field: 'spec.size.cpu', message: `${cpu} CPUs exceed the limit of ${cfg.cpu_limit}` });
  const storage = s.spec.size?.storageGB ?? MIN_STORAGE_GB;
  if (storage < MIN_STORAGE_GB) problems.push({ field: 'spec.size.storageGB', message: `must be at least ${MIN_STORAGE_GB} GB for Azure single server` });
  if (storage > MAX_STORAGE_GB) problems.push({ field: 'spec.size.storageGB', message: `must be at most ${MAX_STORAGE_GB} GB` });
  if (cfg.storage_limit_gb !== undefined && storage > cfg.storage_limit_gb) problems.push({ field: 'spec.size.storageGB', message: `${storage} GB exceed the limit of ${cfg.storage_limit_gb} GB` });
  const retention = s.spec.backup?.retentionDays;
  if (retention !== undefined && (retention < 7 || retention > 35)) problems.push({ field: 'spec.backup.retentionDays', message: 'must be between 7 and 35 days on Azure' });
  if (cfg.network.create_private_endpoint && (!cfg.virtual_network || !cfg.subnet)) problems.push({ field: 'backends.azurepostgres.network', message: 'create_private_endpoint needs virtual_network and subnet (operator config)' });
  return problems;
}

export function resolveVersion(requested: string | undefined): { version: string; warning?: Warning } {
  const r = (requested ?? '').trim().toLowerCase();
  if (r === '' || r === 'latest') return { version: '11' };
  const major = r.split('.')[0]!;
  if (VERSIONS.includes(major)) return { version: major };
  return { version: '11', warning: { reason: 'UnsupportedVersion', message: `PostgreSQL version '${requested}' is not offered by Azure single server (offered: ${VERSIONS.join(', ')}); using 11` } };
}

export interface DesiredServer {
  name: string;
  sku: Sku;
  storageMB: number;
  autoGrow: 'Enabled' | 'Disabled';
  backupRetentionDays: number;
  geoRedundantBackup: 'Enabled' | 'Disabled';
  publicNetworkAccess: 'Enabled' | 'Disabled';
  tags: Record<string, string>;
  /**
   * An adopted server whose unchanged spec has no storageGB (python_objects: keep): the Python
   * operator validated that as 100 GB but created 10 GB; the live storage is kept, not grown.
   */
  keepPythonStorage: boolean;
  warnings: Warning[];
}

export function desiredServer(cfg: SingleConfig, s: ServerRequest): DesiredServer {
  const { sku, warnings } = resolveSku(cfg, s);
  return {
    name: serverName(cfg, s),
    sku,
    storageMB: (s.spec.size?.storageGB ?? MIN_STORAGE_GB) * 1024,
    autoGrow: s.spec.size?.storageAutoGrow ? 'Enabled' : 'Disabled',
    backupRetentionDays: s.spec.backup?.retentionDays ?? cfg.parameters.backup_retention_days,
    geoRedundantBackup: (s.spec.backup?.geoRedundant ?? cfg.parameters.geo_redundant_backup) ? 'Enabled' : 'Disabled',
    publicNetworkAccess: cfg.network.public_access ? 'Enabled' : 'Disabled',
    tags: operatorTags(cfg.tags, s),
    keepPythonStorage: cfg.python_objects === 'keep' && s.spec.size?.storageGB === undefined && unchangedSincePythonOperator(s),
    warnings,
  };
}

export function createBody(cfg: SingleConfig, d: DesiredServer, version: string, adminPassword: string): ServerForCreate {
  return {
    location: cfg.location,
    sku: d.sku,
    tags: d.tags,
    properties: {
      createMode: 'Default',
      administratorLogin: cfg.admin_username,
      administratorLoginPassword: adminPassword,
      version: version as never,
      sslEnforcement: 'Enabled',
      minimalTlsVersion: 'TLS1_2',
      infrastructureEncryption: cfg.parameters.infrastructure_encryption,
      publicNetworkAccess: d.publicNetworkAccess,
      storageProfile: { storageMB: d.storageMB, backupRetentionDays: d.backupRetentionDays, geoRedundantBackup: d.geoRedundantBackup, storageAutogrow: d.autoGrow },
    } as ServerForCreate['properties'],
  };
}

export function diffServer(cfg: SingleConfig, d: DesiredServer, live: Server): { patch: ServerUpdateParameters; changes: string[]; warnings: Warning[] } {
  const patch: ServerUpdateParameters = {};
  const changes: string[] = [];
  const warnings: Warning[] = [];
  if (live.sku?.name !== d.sku.name) {
    patch.sku = d.sku;
    changes.push(`sku ${live.sku?.name} → ${d.sku.name}`);
  }
  const sp = live.storageProfile ?? {};
  const storage: NonNullable<ServerUpdateParameters['storageProfile']> = {};
  if ((sp.storageMB ?? 0) < d.storageMB && d.keepPythonStorage) {
    warnings.push({
      reason: 'AdoptedValueKept',
      message: `spec.size.storageGB is unset: the Python operator created ${(sp.storageMB ?? 0) / 1024} GB for that, this operator reads it as ${d.storageMB / 1024} GB (the minimum both validate); the live ${(sp.storageMB ?? 0) / 1024} GB are kept while the spec is unchanged. Set backends.azurepostgres.python_objects: apply (or spec.size.storageGB) to grow it. See docs/migration.md.`,
    });
  } else if ((sp.storageMB ?? 0) < d.storageMB) {
    storage.storageMB = d.storageMB;
    changes.push(`storage ${(sp.storageMB ?? 0) / 1024} → ${d.storageMB / 1024} GB`);
  } else if ((sp.storageMB ?? 0) > d.storageMB) {
    warnings.push({ reason: 'StorageShrinkIgnored', message: `storage cannot shrink in Azure: the server keeps ${(sp.storageMB ?? 0) / 1024} GB` });
  }
  if ((sp.storageAutogrow ?? 'Disabled') !== d.autoGrow) {
    storage.storageAutogrow = d.autoGrow;
    changes.push(`storage auto-grow ${d.autoGrow}`);
  }
  if ((sp.backupRetentionDays ?? 7) !== d.backupRetentionDays) {
    storage.backupRetentionDays = d.backupRetentionDays;
    changes.push(`backup retention ${d.backupRetentionDays} days`);
  }
  if ((sp.geoRedundantBackup ?? 'Disabled') !== d.geoRedundantBackup) {
    warnings.push({ reason: 'GeoRedundantBackupImmutable', message: `geo-redundant backup can only be chosen when a single server is created; the server keeps ${sp.geoRedundantBackup ?? 'Disabled'}` });
  }
  if (Object.keys(storage).length > 0) patch.storageProfile = storage;
  if (live.sslEnforcement !== 'Enabled') {
    patch.sslEnforcement = 'Enabled';
    changes.push('SSL enforcement');
  }
  if ((live.publicNetworkAccess ?? 'Enabled') !== d.publicNetworkAccess) {
    patch.publicNetworkAccess = d.publicNetworkAccess;
    changes.push(`public network access ${d.publicNetworkAccess}`);
  }
  if ((live.infrastructureEncryption ?? 'Disabled') !== cfg.parameters.infrastructure_encryption) {
    warnings.push({ reason: 'InfrastructureEncryptionImmutable', message: `infrastructure encryption is chosen when a server is created; the server keeps ${live.infrastructureEncryption ?? 'Disabled'}` });
  }
  const tagKeys = missingTags(d.tags, live.tags);
  if (tagKeys.length > 0) {
    patch.tags = mergedTags(live.tags, d.tags);
    changes.push(`tags ${tagKeys.join(', ')}`);
  }
  return { patch, changes, warnings };
}

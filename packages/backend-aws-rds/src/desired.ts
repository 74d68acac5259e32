/**
 * The desired RDS instance for a PostgreSQLServer: config + spec resolved into RDS terms, and
 * the difference between that and a live DBInstance. Pure functions; the backend does the calls.
 */
import type { DBInstance, ModifyDBInstanceCommandInput } from '@aws-sdk/client-rds';
import type { Problem, ServerRequest } from '@hybridcloud-postgresql/core';
import {
  INSTANCE_TYPES,
  RDS_FALLBACK_TYPES,
  awsIdentifier,
  chooseSize, keptPythonClass, resolvedClass,
  desiredTags,
  fromTagList,
  identifierProblem,
  maintenanceWindowProblem,
  tagChanges,
  parseVersionRequest,
  sameWindow,
  toRdsMaintenanceWindow,
  versionChange,
  type VersionChange,
  type VersionRequest,
} from '@hybridcloud-postgresql/aws-common';
import { effectiveClasses, type RdsClass, type RdsConfig } from './config.js';

export const DEFAULT_STORAGE_GB = 20;
export const DEFAULT_BACKUP_RETENTION_DAYS = 7;
const MAX_STORAGE_GB = 65536;

export interface DesiredInstance {
  identifier: string;
  className: string;
  instanceClass: string;
  storageType: string;
  iops?: number;
  storageThroughput?: number;
  allocatedStorage: number;
  version: VersionRequest;
  backupRetention: number;
  maintenanceWindow?: string;
  multiAz: boolean;
  publiclyAccessible: boolean;
  vpcSecurityGroupIds: string[];
  subnetGroup: string;
  availabilityZone?: string;
  deletionProtection: boolean;
  tags: Record<string, string>;
  masterUsername: string;
}

export interface Warning {
  reason: string;
  message: string;
}

/** The identifier: the one recorded on the CR when the instance was created, else from config. */
export function instanceIdentifier(cfg: RdsConfig, s: ServerRequest): string {
  return s.state['identifier'] ?? awsIdentifier(cfg, s.namespace, s.name);
}

function capacityOf(cls: RdsClass) {
  const known = INSTANCE_TYPES[cls.instance_type];
  const cpu = cls.cpu ?? known?.cpu;
  const memoryMb = cls.memory_mb ?? known?.memoryMb;
  return cpu !== undefined && memoryMb !== undefined ? { cpu, memoryMb } : undefined;
}

export function validate(cfg: RdsConfig, s: ServerRequest): Problem[] {
  const problems: Problem[] = [];
  const id = instanceIdentifier(cfg, s);
  const idProblem = identifierProblem(id);
  if (idProblem) problems.push({ field: 'metadata.name', message: idProblem });
  if (!parseVersionRequest(s.spec.version)) problems.push({ field: 'spec.version', message: `version '${s.spec.version}' must be 'latest', a major such as '16', or 'major.minor' such as '16.4'` });
  const size = s.spec.size;
  const storage = size?.storageGB ?? DEFAULT_STORAGE_GB;
  if (storage < DEFAULT_STORAGE_GB) problems.push({ field: 'spec.size.storageGB', message: `RDS needs at least ${DEFAULT_STORAGE_GB} GB of storage` });
  if (storage > MAX_STORAGE_GB) problems.push({ field: 'spec.size.storageGB', message: `RDS allows at most ${MAX_STORAGE_GB} GB of storage` });
  if (cfg.storage_limit_gb !== undefined && storage > cfg.storage_limit_gb) problems.push({ field: 'spec.size.storageGB', message: `${storage} GB exceeds the limit of ${cfg.storage_limit_gb} GB set by the operator admin` });
  if (!size?.class && size?.cpu !== undefined && cfg.cpu_limit !== undefined && size.cpu > cfg.cpu_limit) {
    problems.push({ field: 'spec.size.cpu', message: `${size.cpu} CPUs exceed the limit of ${cfg.cpu_limit} set by the operator admin` });
  }
  const { classes, defaultClass } = effectiveClasses(cfg);
  const choice = chooseSize(size, classes, defaultClass, capacityOf, RDS_FALLBACK_TYPES);
  if (choice.kind === 'none') problems.push({ field: 'spec.size', message: choice.message });
  else {
    const storageType = (choice.kind === 'class' ? choice.cls.storage_type : classes[defaultClass]?.storage_type) ?? 'gp2';
    if ((storageType === 'io1' || storageType === 'io2') && storage < 100) problems.push({ field: 'spec.size.storageGB', message: `storage type ${storageType} needs at least 100 GB` });
  }
  const window = s.spec.maintenance?.window;
  if (window) {
    const p = maintenanceWindowProblem(window);
    if (p) problems.push({ field: 'spec.maintenance.window', message: p });
  }
  const retention = s.spec.backup?.retentionDays;
  if (retention !== undefined && (retention < 0 || retention > 35)) problems.push({ field: 'spec.backup.retentionDays', message: 'RDS keeps backups for 0 (disabled) to 35 days' });
  return problems;
}

/** Resolves the request. Call validate() first; this assumes a valid request. */
export function desiredInstance(cfg: RdsConfig, s: ServerRequest): { desired: DesiredInstance; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const { classes, defaultClass } = effectiveClasses(cfg);
  const chosen = resolvedClass(chooseSize(s.spec.size, classes, defaultClass, capacityOf, RDS_FALLBACK_TYPES), classes, defaultClass, warnings);
  // Servers the Python operator sized (it ignored cpu/memoryMB) keep their class while their spec is unchanged.
  const { cls, className } = keptPythonClass(s, cfg.python_objects === 'keep', classes, defaultClass, chosen, 'awsrds', warnings);
  const multiAz = s.spec.highavailability?.enabled ?? false;
  const window = s.spec.maintenance?.window;
  const desired: DesiredInstance = {
    identifier: instanceIdentifier(cfg, s),
    className,
    instanceClass: cls.instance_type,
    storageType: cls.storage_type ?? 'gp2',
    ...(cls.iops ? { iops: cls.iops } : {}),
    ...(cls.storage_throughput ? { storageThroughput: cls.storage_throughput } : {}),
    allocatedStorage: s.spec.size?.storageGB ?? DEFAULT_STORAGE_GB,
    version: parseVersionRequest(s.spec.version) ?? { kind: 'latest' },
    backupRetention: s.spec.backup?.retentionDays ?? DEFAULT_BACKUP_RETENTION_DAYS,
    ...(window ? { maintenanceWindow: toRdsMaintenanceWindow(window) } : {}),
    multiAz,
    publiclyAccessible: cfg.network.public_access,
    vpcSecurityGroupIds: cfg.vpc_security_group_ids,
    subnetGroup: cfg.subnet_group,
    ...(cfg.availability_zone && !multiAz ? { availabilityZone: cfg.availability_zone } : {}),
    deletionProtection: cfg.deletion_protection,
    tags: desiredTags(cfg.tags, s),
    masterUsername: cfg.admin_username,
  };
  return { desired, warnings };
}

export interface InstanceDiff {
  /** ModifyDBInstance fields that differ (without identifier / ApplyImmediately). */
  modify: Partial<ModifyDBInstanceCommandInput>;
  version: VersionChange;
  tags: Record<string, string>;
  /** The uid tag a server of the Python operator lacks: added only with another change (tagChanges). */
  deferredTags: Record<string, string>;
  warnings: Warning[];
}

/** Names of what differs, for logs and status messages (never values: a password may be among them). */
export function changedFields(d: InstanceDiff): string[] {
  return [...Object.keys(d.modify), ...(d.version.kind === 'upgrade' ? ['EngineVersion'] : []), ...(Object.keys(d.tags).length ? ['Tags'] : [])];
}

/**
 * What differs between the desired and the live instance. Pending modifications count as
 * live (they are already requested), so a change is requested once, not on every reconcile.
 */
export function diffInstance(desired: DesiredInstance, live: DBInstance): InstanceDiff {
  const pending = live.PendingModifiedValues ?? {};
  const modify: Partial<ModifyDBInstanceCommandInput> = {};
  const warnings: Warning[] = [];
  if (desired.instanceClass !== (pending.DBInstanceClass ?? live.DBInstanceClass)) modify.DBInstanceClass = desired.instanceClass;
  const liveStorage = pending.AllocatedStorage ?? live.AllocatedStorage ?? 0;
  if (desired.allocatedStorage > liveStorage) modify.AllocatedStorage = desired.allocatedStorage;
  else if (desired.allocatedStorage < liveStorage) {
    warnings.push({ reason: 'StorageShrinkUnsupported', message: `RDS cannot shrink storage: the server keeps ${liveStorage} GB (requested ${desired.allocatedStorage} GB)` });
  }
  if (desired.storageType !== (pending.StorageType ?? live.StorageType)) modify.StorageType = desired.storageType;
  if (desired.iops !== undefined && desired.iops !== (pending.Iops ?? live.Iops)) modify.Iops = desired.iops;
  if (desired.storageThroughput !== undefined && desired.storageThroughput !== (pending.StorageThroughput ?? live.StorageThroughput)) modify.StorageThroughput = desired.storageThroughput;
  if (desired.backupRetention !== (pending.BackupRetentionPeriod ?? live.BackupRetentionPeriod)) modify.BackupRetentionPeriod = desired.backupRetention;
  if (desired.maintenanceWindow && !sameWindow(desired.maintenanceWindow, live.PreferredMaintenanceWindow)) modify.PreferredMaintenanceWindow = desired.maintenanceWindow;
  if (desired.multiAz !== (pending.MultiAZ ?? live.MultiAZ ?? false)) modify.MultiAZ = desired.multiAz;
  if (desired.publiclyAccessible !== (live.PubliclyAccessible ?? false)) modify.PubliclyAccessible = desired.publiclyAccessible;
  if (desired.vpcSecurityGroupIds.length > 0) {
    const liveGroups = (live.VpcSecurityGroups ?? []).filter((g) => g.Status !== 'removing').map((g) => g.VpcSecurityGroupId ?? '');
    const same = liveGroups.length === desired.vpcSecurityGroupIds.length && desired.vpcSecurityGroupIds.every((g) => liveGroups.includes(g));
    if (!same) modify.VpcSecurityGroupIds = desired.vpcSecurityGroupIds;
  }
  if (desired.deletionProtection !== (live.DeletionProtection ?? false)) modify.DeletionProtection = desired.deletionProtection;
  const liveVersion = pending.EngineVersion ?? live.EngineVersion ?? '';
  const version = versionChange(desired.version, liveVersion);
  if (version.kind === 'downgrade-refused') warnings.push({ reason: 'VersionDowngradeRefused', message: version.message });
  const { tags, deferredTags } = tagChanges(desired.tags, fromTagList(live.TagList));
  return { modify, version, tags, deferredTags, warnings };
}

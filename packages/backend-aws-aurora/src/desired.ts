/**
 * The desired Aurora cluster and writer instance for a PostgreSQLServer, and the difference to
 * the live ones. Pure functions; the backend does the calls.
 */
import type { DBCluster, DBInstance, ModifyDBClusterCommandInput, ModifyDBInstanceCommandInput } from '@aws-sdk/client-rds';
import type { Problem, ServerRequest } from '@hybridcloud-postgresql/core';
import {
  AURORA_FALLBACK_TYPES,
  INSTANCE_TYPES,
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
  type Capacity,
  type VersionChange,
  type VersionRequest,
} from '@hybridcloud-postgresql/aws-common';
import { effectiveClasses, type AuroraClass, type AuroraConfig } from './config.js';

/** Aurora keeps backups for 1 to 35 days; it cannot switch them off. */
export const DEFAULT_BACKUP_RETENTION_DAYS = 1;
const WRITER_SUFFIX = '-primary';

export interface DesiredCluster {
  clusterId: string;
  instanceId: string;
  className: string;
  instanceClass: string;
  scaling?: { MinCapacity: number; MaxCapacity: number };
  storageType: string;
  iops?: number;
  version: VersionRequest;
  backupRetention: number;
  maintenanceWindow?: string;
  publiclyAccessible: boolean;
  vpcSecurityGroupIds: string[];
  subnetGroup: string;
  availabilityZones: string[];
  deletionProtection: boolean;
  tags: Record<string, string>;
  masterUsername: string;
}

export interface Warning {
  reason: string;
  message: string;
}

export function clusterIdentifier(cfg: AuroraConfig, s: ServerRequest): string {
  return s.state['clusterIdentifier'] ?? awsIdentifier(cfg, s.namespace, s.name);
}

/** The writer instance, named as the Python operator named it. */
export const writerIdentifier = (clusterId: string) => `${clusterId}${WRITER_SUFFIX}`;

export function capacityOf(cls: AuroraClass): Capacity | undefined {
  const known = INSTANCE_TYPES[cls.instance_type];
  const serverless = cls.instance_type === 'db.serverless' && cls.scaling_configuration
    ? { cpu: Math.max(1, Math.floor(cls.scaling_configuration.max_capacity / 4)), memoryMb: cls.scaling_configuration.max_capacity * 2048 }
    : undefined;
  const cpu = cls.cpu ?? serverless?.cpu ?? known?.cpu;
  const memoryMb = cls.memory_mb ?? serverless?.memoryMb ?? known?.memoryMb;
  return cpu !== undefined && memoryMb !== undefined ? { cpu, memoryMb } : undefined;
}

export function validate(cfg: AuroraConfig, s: ServerRequest): Problem[] {
  const problems: Problem[] = [];
  const id = clusterIdentifier(cfg, s);
  const idProblem = identifierProblem(id, 63 - WRITER_SUFFIX.length);
  if (idProblem) problems.push({ field: 'metadata.name', message: `${idProblem} (the writer instance adds '${WRITER_SUFFIX}')` });
  if (!parseVersionRequest(s.spec.version)) problems.push({ field: 'spec.version', message: `version '${s.spec.version}' must be 'latest', a major such as '16', or 'major.minor' such as '16.4'` });
  const size = s.spec.size;
  if (!size?.class && size?.cpu !== undefined && cfg.cpu_limit !== undefined && size.cpu > cfg.cpu_limit) {
    problems.push({ field: 'spec.size.cpu', message: `${size.cpu} CPUs exceed the limit of ${cfg.cpu_limit} set by the operator admin` });
  }
  const { classes, defaultClass } = effectiveClasses(cfg);
  const choice = chooseSize(size, classes, defaultClass, capacityOf, AURORA_FALLBACK_TYPES);
  if (choice.kind === 'none') problems.push({ field: 'spec.size', message: choice.message });
  const window = s.spec.maintenance?.window;
  if (window) {
    const p = maintenanceWindowProblem(window);
    if (p) problems.push({ field: 'spec.maintenance.window', message: p });
  }
  const retention = s.spec.backup?.retentionDays;
  if (retention !== undefined && (retention < 1 || retention > 35)) problems.push({ field: 'spec.backup.retentionDays', message: 'Aurora keeps backups for 1 to 35 days; they cannot be disabled' });
  return problems;
}

export function desiredCluster(cfg: AuroraConfig, s: ServerRequest): { desired: DesiredCluster; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const { classes, defaultClass } = effectiveClasses(cfg);
  const chosen = resolvedClass(chooseSize(s.spec.size, classes, defaultClass, capacityOf, AURORA_FALLBACK_TYPES), classes, defaultClass, warnings);
  // Servers the Python operator sized (it ignored cpu/memoryMB) keep their class while their spec is unchanged.
  const { cls, className } = keptPythonClass(s, cfg.python_objects === 'keep', classes, defaultClass, chosen, 'awsaurora', warnings);
  const clusterId = clusterIdentifier(cfg, s);
  const window = s.spec.maintenance?.window;
  const scaling = cls.scaling_configuration;
  return {
    desired: {
      clusterId,
      instanceId: writerIdentifier(clusterId),
      className,
      instanceClass: cls.instance_type,
      ...(scaling ? { scaling: { MinCapacity: scaling.min_capacity, MaxCapacity: scaling.max_capacity } } : {}),
      storageType: cls.storage_type ?? 'aurora',
      ...(cls.iops ? { iops: cls.iops } : {}),
      version: parseVersionRequest(s.spec.version) ?? { kind: 'latest' },
      backupRetention: s.spec.backup?.retentionDays ?? DEFAULT_BACKUP_RETENTION_DAYS,
      ...(window ? { maintenanceWindow: toRdsMaintenanceWindow(window) } : {}),
      publiclyAccessible: cfg.network.public_access,
      vpcSecurityGroupIds: cfg.vpc_security_group_ids,
      subnetGroup: cfg.subnet_group,
      availabilityZones: cfg.availability_zones,
      deletionProtection: cfg.deletion_protection,
      tags: desiredTags(cfg.tags, s),
      masterUsername: cfg.admin_username,
    },
    warnings,
  };
}

export interface ClusterDiff {
  cluster: Partial<ModifyDBClusterCommandInput>;
  version: VersionChange;
  tags: Record<string, string>;
  /** The uid tag a cluster of the Python operator lacks: added only with another change (tagChanges). */
  deferredTags: Record<string, string>;
  /** undefined: the writer is missing and must be created. */
  instance: Partial<ModifyDBInstanceCommandInput> | undefined;
  warnings: Warning[];
}

export function changedFields(d: ClusterDiff): string[] {
  return [
    ...Object.keys(d.cluster),
    ...(d.version.kind === 'upgrade' ? ['EngineVersion'] : []),
    ...(Object.keys(d.tags).length ? ['Tags'] : []),
    ...(d.instance === undefined ? ['WriterInstance'] : Object.keys(d.instance).map((k) => `writer.${k}`)),
  ];
}

export function diffCluster(desired: DesiredCluster, cluster: DBCluster, writer: DBInstance | undefined): ClusterDiff {
  const pending = cluster.PendingModifiedValues ?? {};
  const c: Partial<ModifyDBClusterCommandInput> = {};
  const warnings: Warning[] = [];
  if (desired.backupRetention !== (pending.BackupRetentionPeriod ?? cluster.BackupRetentionPeriod)) c.BackupRetentionPeriod = desired.backupRetention;
  if (desired.vpcSecurityGroupIds.length > 0) {
    const live = (cluster.VpcSecurityGroups ?? []).filter((g) => g.Status !== 'removing').map((g) => g.VpcSecurityGroupId ?? '');
    if (live.length !== desired.vpcSecurityGroupIds.length || !desired.vpcSecurityGroupIds.every((g) => live.includes(g))) c.VpcSecurityGroupIds = desired.vpcSecurityGroupIds;
  }
  if (desired.deletionProtection !== (cluster.DeletionProtection ?? false)) c.DeletionProtection = desired.deletionProtection;
  // Standard Aurora storage is reported as 'aurora' or not at all; only I/O-optimized is distinct.
  const liveStorage = (pending.StorageType ?? cluster.StorageType) === 'aurora-iopt1' ? 'aurora-iopt1' : 'aurora';
  if (desired.storageType !== liveStorage) c.StorageType = desired.storageType;
  if (desired.iops !== undefined && desired.iops !== (pending.Iops ?? cluster.Iops)) c.Iops = desired.iops;
  if (desired.scaling) {
    const live = cluster.ServerlessV2ScalingConfiguration;
    if (live?.MinCapacity !== desired.scaling.MinCapacity || live?.MaxCapacity !== desired.scaling.MaxCapacity) c.ServerlessV2ScalingConfiguration = desired.scaling;
  }
  if (desired.maintenanceWindow && !sameWindow(desired.maintenanceWindow, cluster.PreferredMaintenanceWindow)) c.PreferredMaintenanceWindow = desired.maintenanceWindow;
  const version = versionChange(desired.version, pending.EngineVersion ?? cluster.EngineVersion ?? '');
  if (version.kind === 'downgrade-refused') warnings.push({ reason: 'VersionDowngradeRefused', message: version.message });
  const { tags, deferredTags } = tagChanges(desired.tags, fromTagList(cluster.TagList));
  let instance: Partial<ModifyDBInstanceCommandInput> | undefined;
  if (writer) {
    instance = {};
    if (desired.instanceClass !== (writer.PendingModifiedValues?.DBInstanceClass ?? writer.DBInstanceClass)) instance.DBInstanceClass = desired.instanceClass;
    if (desired.publiclyAccessible !== (writer.PubliclyAccessible ?? false)) instance.PubliclyAccessible = desired.publiclyAccessible;
  }
  return { cluster: c, version, tags, deferredTags, instance, warnings };
}

/**
 * Backend `awsaurora`: an Aurora PostgreSQL cluster with one writer instance per PostgreSQLServer.
 * Every step looks at what exists and does the next thing, so create and delete continue
 * correctly wherever an earlier attempt (or the operator process) stopped.
 */
import {
  AddTagsToResourceCommand,
  CreateDBClusterCommand,
  CreateDBInstanceCommand,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  type DBCluster,
  type DBInstance,
  type ModifyDBClusterCommandInput,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { type Backend, type Capabilities, type Endpoint, type Op, type Problem, type Progress, type ServerObservation, type ServerRequest, terminal } from '@hybridcloud-postgresql/core';
import {
  type EngineVersionCatalog,
  awsErrorCode,
  finalSnapshotIdentifier,
  fromTagList,
  isAlreadyExists,
  isNotFound,
  ownership,
  passwordChangeTag,
  resolveVersion,
  toBackendError,
  toTagList,
} from '@hybridcloud-postgresql/aws-common';
import type { AuroraConfig } from './config.js';
import { changedFields, clusterIdentifier, desiredCluster, diffCluster, validate, writerIdentifier, type ClusterDiff, type DesiredCluster, type Warning } from './desired.js';

export const ENGINE = 'aurora-postgresql';

const USABLE_CLUSTER = new Set(['available', 'backing-up', 'modifying', 'maintenance', 'resetting-master-credentials', 'storage-optimization', 'upgrading']);
const USABLE_INSTANCE = new Set(['available', 'backing-up', 'modifying', 'configuring-enhanced-monitoring', 'configuring-log-exports', 'maintenance', 'storage-optimization']);

interface Live {
  cluster: DBCluster;
  writer: DBInstance | undefined;
  diff: ClusterDiff;
}

export class AuroraBackend implements Backend {
  readonly id = 'awsaurora';
  readonly capabilities: Capabilities = {
    sizeByCpuMemory: true,
    storageAutoGrow: false,
    backupRetention: true,
    geoRedundantBackup: false,
    serverExtensions: false,
    firewallRules: false,
    serverParameters: false,
    maintenanceWindow: true,
    highAvailability: false,
  };

  constructor(
    private readonly cfg: AuroraConfig,
    private readonly client: RDSClient,
    private readonly versions: EngineVersionCatalog,
  ) {}

  private get pollMs(): number {
    return this.cfg.poll_interval_seconds * 1000;
  }

  validateServer(s: ServerRequest): Problem[] {
    return validate(this.cfg, s);
  }

  async observeServer(op: Op, s: ServerRequest): Promise<ServerObservation> {
    const id = clusterIdentifier(this.cfg, s);
    const cluster = await this.describeCluster(op, id);
    if (!cluster) return { exists: false, upToDate: false, ready: false, message: `Aurora cluster ${id} does not exist` };
    this.checkOwner(cluster, s);
    const status = cluster.Status ?? 'unknown';
    if (status === 'deleting') return { exists: true, upToDate: true, ready: false, message: `Aurora cluster ${id} is being deleted; it is re-created once it is gone` };
    const writer = await this.describeInstance(op, writerIdentifier(id));
    const { desired, warnings } = desiredCluster(this.cfg, s);
    const diff = diffCluster(desired, cluster, writer);
    this.report(op, [...warnings, ...diff.warnings]);
    const changes = changedFields(diff);
    const endpoint = this.endpointOf(cluster, writer);
    const live: Live = { cluster, writer, diff };
    return {
      exists: true,
      upToDate: changes.length === 0,
      ready: endpoint !== undefined,
      ...(endpoint ? { endpoint } : {}),
      message: `Aurora cluster ${id} is ${status}, writer ${writer?.DBInstanceStatus ?? 'missing'}${changes.length ? `; differs in ${changes.join(', ')}` : ''}`,
      live,
    };
  }

  async createServer(op: Op, s: ServerRequest, adminPassword: string): Promise<Progress> {
    const id = clusterIdentifier(this.cfg, s);
    if (s.state['clusterIdentifier'] !== id) await op.saveState({ clusterIdentifier: id });
    const { desired, warnings } = desiredCluster(this.cfg, s);
    this.report(op, warnings);
    const cluster = await this.describeCluster(op, id);
    if (!cluster) return this.createCluster(op, desired, adminPassword);
    this.checkOwner(cluster, s);
    return this.ensureWriter(op, desired, cluster);
  }

  async updateServer(op: Op, s: ServerRequest, seen: ServerObservation, adminPassword?: string): Promise<Progress> {
    const id = clusterIdentifier(this.cfg, s);
    const fromSeen = seen.live as Live | undefined;
    const cluster = fromSeen?.cluster ?? (await this.describeCluster(op, id));
    if (!cluster) return this.pending(`Aurora cluster ${id} does not exist (yet)`);
    this.checkOwner(cluster, s);
    const writer = fromSeen ? fromSeen.writer : await this.describeInstance(op, writerIdentifier(id));
    const { desired, warnings } = desiredCluster(this.cfg, s);
    const diff = fromSeen?.diff ?? diffCluster(desired, cluster, writer);
    this.report(op, [...warnings, ...diff.warnings]);
    const status = cluster.Status ?? 'unknown';

    // Something is written anyway (updateServer runs for a change or a password): a deferred uid tag goes with it.
    const tags = { ...diff.tags, ...diff.deferredTags };
    if (Object.keys(tags).length > 0 && cluster.DBClusterArn) {
      await this.call('AddTagsToResource', () => this.client.send(new AddTagsToResourceCommand({ ResourceName: cluster.DBClusterArn, Tags: toTagList(tags) }), { abortSignal: op.signal }));
    }
    const modify: Partial<ModifyDBClusterCommandInput> = { ...diff.cluster };
    if (diff.version.kind === 'upgrade') {
      modify.EngineVersion = diff.version.exact ?? (await this.engineVersion(op, { kind: 'major', major: diff.version.targetMajor }));
      if (diff.version.major) modify.AllowMajorVersionUpgrade = true;
    }
    // A new password is sent once; afterwards we wait until AWS has applied it.
    const passwordTag = adminPassword !== undefined ? passwordChangeTag(s.uid, adminPassword) : undefined;
    const passwordSent = passwordTag !== undefined && s.state['passwordChange'] === passwordTag;
    if (adminPassword !== undefined && !passwordSent) modify.MasterUserPassword = adminPassword;
    const clusterFields = Object.keys(modify).filter((k) => k !== 'AllowMajorVersionUpgrade');
    if (clusterFields.length > 0) {
      if (status !== 'available') return this.pending(`Aurora cluster ${id} is ${status}; changes (${clusterFields.join(', ')}) wait until it is available`);
      op.log.info({ cluster: id, changes: clusterFields }, 'modifying Aurora cluster');
      try {
        await this.client.send(new ModifyDBClusterCommand({ DBClusterIdentifier: id, ApplyImmediately: true, ...modify }), { abortSignal: op.signal });
        // Recorded after the call: a crash in between only sends the same password again.
        if (modify.MasterUserPassword !== undefined) await op.saveState({ passwordChange: passwordTag! });
      } catch (err) {
        if (awsErrorCode(err)?.startsWith('InvalidDBClusterState')) return this.pending(`Aurora cluster ${id} is busy; retrying the modification`);
        throw toBackendError(err, 'ModifyDBCluster');
      }
      return this.pending(`modifying Aurora cluster ${id}: ${clusterFields.join(', ')}`);
    }
    if (!writer || writer.DBInstanceStatus === 'deleting') return this.ensureWriter(op, desired, cluster, writer);
    const instanceFields = Object.keys(diff.instance ?? {});
    if (instanceFields.length > 0) {
      if (writer.DBInstanceStatus !== 'available') return this.pending(`writer ${desired.instanceId} is ${writer.DBInstanceStatus}; changes (${instanceFields.join(', ')}) wait until it is available`);
      op.log.info({ instance: desired.instanceId, changes: instanceFields }, 'modifying Aurora writer');
      try {
        await this.client.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: desired.instanceId, ApplyImmediately: true, ...diff.instance }), { abortSignal: op.signal });
      } catch (err) {
        if (awsErrorCode(err)?.startsWith('InvalidDBInstanceState')) return this.pending(`writer ${desired.instanceId} is busy; retrying the modification`);
        throw toBackendError(err, 'ModifyDBInstance');
      }
      return this.pending(`modifying writer ${desired.instanceId}: ${instanceFields.join(', ')}`);
    }
    if (passwordSent) {
      const applying = status === 'resetting-master-credentials' || cluster.PendingModifiedValues?.MasterUserPassword !== undefined;
      if (applying) return this.pending(`Aurora cluster ${id} is applying the new master password`);
      const progress = this.progressOf(cluster, writer);
      if (progress.state === 'ready') await op.saveState({ passwordChange: null });
      return progress;
    }
    return this.progressOf(cluster, writer);
  }

  async deleteServer(op: Op, s: ServerRequest): Promise<Progress> {
    const id = clusterIdentifier(this.cfg, s);
    const instanceId = writerIdentifier(id);
    const cluster = await this.describeCluster(op, id);
    if (!cluster) return { state: 'gone' };
    const owner = ownership(fromTagList(cluster.TagList), s);
    if (owner !== 'ours') {
      op.warn('NotOwned', `Aurora cluster ${id} is not tagged as belonging to ${s.namespace}/${s.name}${typeof owner === 'object' ? ` (it belongs to ${owner.owner})` : ''}; it is left alone`);
      return { state: 'gone' };
    }
    if (cluster.Status === 'deleting') return this.pending(`Aurora cluster ${id} is being deleted`);
    // Checked before the writer goes: never leave a protected cluster without its instance.
    if (cluster.DeletionProtection) {
      throw terminal('DeletionProtected', `Aurora cluster ${id} has deletion protection enabled, so the operator cannot delete it. Disable deletion protection in AWS (console or 'aws rds modify-db-cluster --db-cluster-identifier ${id} --no-deletion-protection --apply-immediately'), then the deletion continues.`);
    }
    // 1. The writer instance.
    const writer = await this.describeInstance(op, instanceId);
    if (writer && writer.DBInstanceStatus !== 'deleting') {
      op.log.info({ instance: instanceId }, 'deleting Aurora writer');
      try {
        await this.client.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: instanceId, SkipFinalSnapshot: true, DeleteAutomatedBackups: false }), { abortSignal: op.signal });
      } catch (err) {
        if (!isNotFound(err)) {
          if (awsErrorCode(err)?.startsWith('InvalidDBInstanceState')) return this.pending(`writer ${instanceId} is ${writer.DBInstanceStatus}; deleting once AWS accepts it`);
          throw toBackendError(err, 'DeleteDBInstance');
        }
      }
      return this.pending(`deleting writer ${instanceId}`);
    }
    if (writer) return this.pending(`writer ${instanceId} is being deleted`);
    // 2. The cluster, once no instance is left in it.
    const others = (cluster.DBClusterMembers ?? []).map((m) => m.DBInstanceIdentifier).filter((m): m is string => !!m && m !== instanceId);
    if (others.length > 0) {
      throw terminal('ClusterHasOtherInstances', `Aurora cluster ${id} still contains instances the operator did not create (${others.join(', ')}); delete them in AWS, then the deletion continues.`);
    }
    const snapshot = this.cfg.final_snapshot ? finalSnapshotIdentifier(id, s.uid) : undefined;
    op.log.info({ cluster: id, finalSnapshot: snapshot ?? null }, 'deleting Aurora cluster');
    try {
      await this.client.send(
        new DeleteDBClusterCommand({ DBClusterIdentifier: id, ...(snapshot ? { FinalDBSnapshotIdentifier: snapshot, SkipFinalSnapshot: false } : { SkipFinalSnapshot: true }) }),
        { abortSignal: op.signal },
      );
    } catch (err) {
      if (isNotFound(err)) return { state: 'gone' };
      const code = awsErrorCode(err) ?? '';
      // Still has members (the writer's deletion is not visible yet) or busy: try again later.
      if (code.startsWith('InvalidDBClusterState') || code.startsWith('DBClusterToBeDeletedHasActiveMembers')) return this.pending(`Aurora cluster ${id} cannot be deleted yet (${code})`);
      if (code.startsWith('DBClusterSnapshotAlreadyExists')) {
        throw terminal('FinalSnapshotExists', `the final snapshot ${snapshot} already exists, so Aurora cluster ${id} cannot be deleted with a final snapshot. Rename or delete that snapshot, or set final_snapshot: false.`, err);
      }
      throw toBackendError(err, 'DeleteDBCluster');
    }
    return this.pending(`deleting Aurora cluster ${id}${snapshot ? ` (final snapshot ${snapshot})` : ''}`);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  // ---------------------------------------------------------------------------------------

  private async createCluster(op: Op, desired: DesiredCluster, adminPassword: string): Promise<Progress> {
    const engineVersion = await this.engineVersion(op, desired.version);
    op.log.info({ cluster: desired.clusterId, engineVersion, className: desired.className }, 'creating Aurora cluster');
    try {
      await this.client.send(
        new CreateDBClusterCommand({
          DBClusterIdentifier: desired.clusterId,
          Engine: ENGINE,
          EngineVersion: engineVersion,
          EngineMode: 'provisioned',
          DatabaseName: 'postgres',
          Port: 5432,
          MasterUsername: desired.masterUsername,
          MasterUserPassword: adminPassword,
          DBSubnetGroupName: desired.subnetGroup,
          ...(desired.vpcSecurityGroupIds.length ? { VpcSecurityGroupIds: desired.vpcSecurityGroupIds } : {}),
          ...(desired.availabilityZones.length ? { AvailabilityZones: desired.availabilityZones } : {}),
          BackupRetentionPeriod: desired.backupRetention,
          ...(desired.maintenanceWindow ? { PreferredMaintenanceWindow: desired.maintenanceWindow } : {}),
          StorageEncrypted: true,
          // 'aurora' is AWS's default for Aurora storage: sent only when it differs.
          ...(desired.storageType !== 'aurora' ? { StorageType: desired.storageType } : {}),
          ...(desired.iops !== undefined ? { Iops: desired.iops } : {}),
          ...(desired.scaling ? { ServerlessV2ScalingConfiguration: desired.scaling } : {}),
          DeletionProtection: desired.deletionProtection,
          CopyTagsToSnapshot: true,
          Tags: toTagList(desired.tags),
        }),
        { abortSignal: op.signal },
      );
    } catch (err) {
      if (!isAlreadyExists(err)) throw toBackendError(err, 'CreateDBCluster');
    }
    return this.pending(`creating Aurora cluster ${desired.clusterId}`);
  }

  /** Creates the writer once the cluster is available; otherwise reports progress. */
  private async ensureWriter(op: Op, desired: DesiredCluster, cluster: DBCluster, known?: DBInstance): Promise<Progress> {
    const status = cluster.Status ?? 'unknown';
    if (status === 'deleting') return this.pending(`Aurora cluster ${desired.clusterId} is being deleted`);
    const writer = known ?? (await this.describeInstance(op, desired.instanceId));
    if (writer) {
      if (writer.DBInstanceStatus === 'deleting') return this.pending(`writer ${desired.instanceId} is being deleted; it is re-created once it is gone`);
      return this.progressOf(cluster, writer);
    }
    if (status !== 'available') return this.pending(`Aurora cluster ${desired.clusterId} is ${status}; the writer is created once it is available`);
    op.log.info({ instance: desired.instanceId, instanceClass: desired.instanceClass }, 'creating Aurora writer');
    try {
      await this.client.send(
        new CreateDBInstanceCommand({
          DBInstanceIdentifier: desired.instanceId,
          DBClusterIdentifier: desired.clusterId,
          Engine: ENGINE,
          DBInstanceClass: desired.instanceClass,
          PubliclyAccessible: desired.publiclyAccessible,
          AutoMinorVersionUpgrade: true,
          ...(desired.availabilityZones[0] ? { AvailabilityZone: desired.availabilityZones[0] } : {}),
          Tags: toTagList(desired.tags),
        }),
        { abortSignal: op.signal },
      );
    } catch (err) {
      if (!isAlreadyExists(err)) throw toBackendError(err, 'CreateDBInstance');
    }
    return this.pending(`creating writer ${desired.instanceId}`);
  }

  private async describeCluster(op: Op, id: string): Promise<DBCluster | undefined> {
    try {
      return (await this.client.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }), { abortSignal: op.signal })).DBClusters?.[0];
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toBackendError(err, 'DescribeDBClusters');
    }
  }

  private async describeInstance(op: Op, id: string): Promise<DBInstance | undefined> {
    try {
      return (await this.client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }), { abortSignal: op.signal })).DBInstances?.[0];
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toBackendError(err, 'DescribeDBInstances');
    }
  }

  private checkOwner(cluster: DBCluster, s: ServerRequest): void {
    const owner = ownership(fromTagList(cluster.TagList), s);
    if (typeof owner === 'object') {
      throw terminal('NameConflict', `Aurora cluster ${cluster.DBClusterIdentifier} already belongs to PostgreSQLServer ${owner.owner}; choose another name (or name_pattern)`);
    }
  }

  private async engineVersion(op: Op, version: DesiredCluster['version']): Promise<string> {
    const available = await this.versions.versions(ENGINE, (err) => op.log.warn({ err: awsErrorCode(err) }, 'DescribeDBEngineVersions failed'));
    const resolved = resolveVersion(version, available);
    if (resolved.warning) op.warn(resolved.warning.reason, resolved.warning.message);
    return resolved.version;
  }

  private report(op: Op, warnings: Warning[]): void {
    for (const w of warnings) op.warn(w.reason, w.message);
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toBackendError(err, what);
    }
  }

  /** Clients connect to the cluster (writer) endpoint, which follows the writer across failovers. */
  private endpointOf(cluster: DBCluster, writer: DBInstance | undefined): Endpoint | undefined {
    if (!cluster.Endpoint || !USABLE_CLUSTER.has(cluster.Status ?? '')) return undefined;
    if (!writer || !USABLE_INSTANCE.has(writer.DBInstanceStatus ?? '')) return undefined;
    return { host: cluster.Endpoint, port: cluster.Port ?? 5432, sslmode: 'require', adminUsername: cluster.MasterUsername ?? this.cfg.admin_username, adminDatabase: 'postgres' };
  }

  private progressOf(cluster: DBCluster, writer: DBInstance | undefined): Progress {
    const endpoint = this.endpointOf(cluster, writer);
    if (endpoint) return { state: 'ready', endpoint };
    return this.pending(`Aurora cluster ${cluster.DBClusterIdentifier} is ${cluster.Status ?? 'unknown'}, writer ${writer?.DBInstanceStatus ?? 'missing'}`);
  }

  private pending(message: string): Progress {
    return { state: 'pending', pollAfterMs: this.pollMs, message };
  }
}

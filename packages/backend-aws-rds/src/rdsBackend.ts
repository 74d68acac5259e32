/**
 * Backend `awsrds`: one RDS for PostgreSQL instance per PostgreSQLServer.
 * Nothing here waits for AWS: every call returns at once and core polls while AWS works.
 */
import {
  AddTagsToResourceCommand,
  CreateDBInstanceCommand,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  ListTagsForResourceCommand,
  ModifyDBInstanceCommand,
  type DBInstance,
  type ModifyDBInstanceCommandInput,
  type RDSClient,
} from '@aws-sdk/client-rds';
import {
  type Backend,
  type Capabilities,
  type Endpoint,
  type Op,
  type Problem,
  type Progress,
  type ServerObservation,
  type ServerRequest,
  terminal,
} from '@hybridcloud-postgresql/core';
import {
  type EngineVersionCatalog,
  finalSnapshotIdentifier,
  fromTagList,
  isAlreadyExists,
  isNotFound,
  awsErrorCode,
  passwordChangeTag,
  ownership,
  resolveVersion,
  toBackendError,
  toTagList,
} from '@hybridcloud-postgresql/aws-common';
import type { RdsConfig } from './config.js';
import { changedFields, desiredInstance, diffInstance, instanceIdentifier, validate, type DesiredInstance, type InstanceDiff, type Warning } from './desired.js';

export const ENGINE = 'postgres';

/** Statuses in which the instance accepts connections. */
const USABLE = new Set(['available', 'backing-up', 'modifying', 'configuring-enhanced-monitoring', 'configuring-log-exports', 'configuring-iam-database-auth', 'storage-optimization', 'maintenance', 'resetting-master-credentials', 'upgrading-storage']);
/** Statuses in which ModifyDBInstance is accepted. */
const MODIFIABLE = new Set(['available', 'storage-optimization']);

interface Live {
  instance: DBInstance;
  diff: InstanceDiff;
}

export class RdsBackend implements Backend {
  readonly id = 'awsrds';
  readonly capabilities: Capabilities = {
    sizeByCpuMemory: true,
    storageAutoGrow: false,
    backupRetention: true,
    geoRedundantBackup: false,
    serverExtensions: false,
    firewallRules: false,
    serverParameters: false,
    maintenanceWindow: true,
    highAvailability: true,
  };

  constructor(
    private readonly cfg: RdsConfig,
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
    const id = instanceIdentifier(this.cfg, s);
    const instance = await this.describe(op, id);
    if (!instance) return { exists: false, upToDate: false, ready: false, message: `RDS instance ${id} does not exist` };
    this.checkOwner(instance, s);
    const status = instance.DBInstanceStatus ?? 'unknown';
    if (status === 'deleting') return { exists: true, upToDate: true, ready: false, message: `RDS instance ${id} is being deleted; it is re-created once it is gone` };
    const { desired, warnings } = desiredInstance(this.cfg, s);
    const diff = diffInstance(desired, instance);
    this.report(op, [...warnings, ...diff.warnings]);
    const changes = changedFields(diff);
    const endpoint = this.endpointOf(instance);
    const live: Live = { instance, diff };
    return {
      exists: true,
      upToDate: changes.length === 0,
      ready: endpoint !== undefined,
      ...(endpoint ? { endpoint } : {}),
      message: changes.length ? `RDS instance ${id} is ${status}; differs in ${changes.join(', ')}` : `RDS instance ${id} is ${status}`,
      live,
    };
  }

  async createServer(op: Op, s: ServerRequest, adminPassword: string): Promise<Progress> {
    const id = instanceIdentifier(this.cfg, s);
    // Intent first: a restarted operator finds the instance under this identifier even if
    // name_pattern changes later.
    if (s.state['identifier'] !== id) await op.saveState({ identifier: id });
    const existing = await this.describe(op, id);
    if (existing) {
      this.checkOwner(existing, s);
      return this.progressOf(existing);
    }
    const { desired, warnings } = desiredInstance(this.cfg, s);
    const engineVersion = await this.engineVersion(op, desired);
    this.report(op, warnings);
    op.log.info({ identifier: id, instanceClass: desired.instanceClass, engineVersion, className: desired.className }, 'creating RDS instance');
    try {
      const out = await this.client.send(
        new CreateDBInstanceCommand({
          DBInstanceIdentifier: id,
          Engine: ENGINE,
          EngineVersion: engineVersion,
          DBInstanceClass: desired.instanceClass,
          AllocatedStorage: desired.allocatedStorage,
          StorageType: desired.storageType,
          ...(desired.iops !== undefined ? { Iops: desired.iops } : {}),
          ...(desired.storageThroughput !== undefined ? { StorageThroughput: desired.storageThroughput } : {}),
          StorageEncrypted: true,
          MasterUsername: desired.masterUsername,
          MasterUserPassword: adminPassword,
          DBSubnetGroupName: desired.subnetGroup,
          ...(desired.vpcSecurityGroupIds.length ? { VpcSecurityGroupIds: desired.vpcSecurityGroupIds } : {}),
          ...(desired.availabilityZone ? { AvailabilityZone: desired.availabilityZone } : {}),
          MultiAZ: desired.multiAz,
          PubliclyAccessible: desired.publiclyAccessible,
          Port: 5432,
          BackupRetentionPeriod: desired.backupRetention,
          ...(desired.maintenanceWindow ? { PreferredMaintenanceWindow: desired.maintenanceWindow } : {}),
          AutoMinorVersionUpgrade: true,
          CopyTagsToSnapshot: true,
          DeletionProtection: desired.deletionProtection,
          Tags: toTagList(desired.tags),
        }),
        { abortSignal: op.signal },
      );
      return out.DBInstance ? this.progressOf(out.DBInstance) : this.pending(`creating RDS instance ${id}`);
    } catch (err) {
      // Created by an earlier attempt whose answer was lost: observe it instead of failing.
      if (isAlreadyExists(err)) return this.pending(`RDS instance ${id} is being created`);
      throw toBackendError(err, 'CreateDBInstance');
    }
  }

  async updateServer(op: Op, s: ServerRequest, seen: ServerObservation, adminPassword?: string): Promise<Progress> {
    const id = instanceIdentifier(this.cfg, s);
    const fromSeen = (seen.live as Live | undefined)?.instance;
    const instance = fromSeen ?? (await this.describe(op, id));
    if (!instance) return this.pending(`RDS instance ${id} does not exist (yet)`);
    this.checkOwner(instance, s);
    const status = instance.DBInstanceStatus ?? 'unknown';
    const { desired, warnings } = desiredInstance(this.cfg, s);
    const diff = (seen.live as Live | undefined)?.diff ?? diffInstance(desired, instance);
    this.report(op, [...warnings, ...diff.warnings]);
    const fields = changedFields(diff);
    // A new password is sent once; afterwards we wait until AWS has applied it.
    const passwordTag = adminPassword !== undefined ? passwordChangeTag(s.uid, adminPassword) : undefined;
    const passwordSent = passwordTag !== undefined && s.state['passwordChange'] === passwordTag;
    if (fields.length === 0 && (adminPassword === undefined || passwordSent)) {
      if (passwordSent) {
        const applying = status === 'resetting-master-credentials' || instance.PendingModifiedValues?.MasterUserPassword !== undefined;
        if (applying) return this.pending(`RDS instance ${id} is applying the new master password`);
        const progress = this.progressOf(instance);
        if (progress.state === 'ready') await op.saveState({ passwordChange: null });
        return progress;
      }
      return this.progressOf(instance);
    }

    // Something is written anyway: a deferred uid tag goes with it.
    const tags = { ...diff.tags, ...diff.deferredTags };
    if (Object.keys(tags).length > 0 && instance.DBInstanceArn) {
      await this.call('AddTagsToResource', () => this.client.send(new AddTagsToResourceCommand({ ResourceName: instance.DBInstanceArn, Tags: toTagList(tags) }), { abortSignal: op.signal }));
    }
    const modify: Partial<ModifyDBInstanceCommandInput> = { ...diff.modify };
    if (diff.version.kind === 'upgrade') {
      modify.EngineVersion = diff.version.exact ?? (await this.engineVersion(op, { version: { kind: 'major', major: diff.version.targetMajor } }));
      if (diff.version.major) modify.AllowMajorVersionUpgrade = true;
    }
    if (adminPassword !== undefined && !passwordSent) modify.MasterUserPassword = adminPassword;
    const modified = Object.keys(modify).filter((k) => k !== 'AllowMajorVersionUpgrade');
    if (modified.length === 0) return this.progressOf(instance);
    if (!MODIFIABLE.has(status)) return this.pending(`RDS instance ${id} is ${status}; changes (${modified.join(', ')}) wait until it is available`);
    op.log.info({ identifier: id, changes: modified }, 'modifying RDS instance');
    try {
      await this.client.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: id, ApplyImmediately: true, ...modify }), { abortSignal: op.signal });
      // Recorded after the call: a crash in between only sends the same password again.
      if (modify.MasterUserPassword !== undefined) await op.saveState({ passwordChange: passwordTag! });
      return this.pending(`modifying RDS instance ${id}: ${modified.join(', ')}`);
    } catch (err) {
      if (awsErrorCode(err)?.startsWith('InvalidDBInstanceState')) return this.pending(`RDS instance ${id} is busy; retrying the modification`);
      throw toBackendError(err, 'ModifyDBInstance');
    }
  }

  async deleteServer(op: Op, s: ServerRequest): Promise<Progress> {
    const id = instanceIdentifier(this.cfg, s);
    const instance = await this.describe(op, id);
    if (!instance) return { state: 'gone' };
    const owner = ownership(await this.tagsOf(op, instance), s);
    if (owner !== 'ours') {
      op.warn('NotOwned', `RDS instance ${id} is not tagged as belonging to ${s.namespace}/${s.name}${typeof owner === 'object' ? ` (it belongs to ${owner.owner})` : ''}; it is left alone`);
      return { state: 'gone' };
    }
    const status = instance.DBInstanceStatus ?? 'unknown';
    if (status === 'deleting') return this.pending(`RDS instance ${id} is being deleted`);
    if (instance.DeletionProtection) {
      throw terminal('DeletionProtected', `RDS instance ${id} has deletion protection enabled, so the operator cannot delete it. Disable deletion protection in AWS (console or 'aws rds modify-db-instance --db-instance-identifier ${id} --no-deletion-protection --apply-immediately'), then the deletion continues.`);
    }
    const snapshot = this.cfg.final_snapshot ? finalSnapshotIdentifier(id, s.uid) : undefined;
    op.log.info({ identifier: id, finalSnapshot: snapshot ?? null }, 'deleting RDS instance');
    try {
      await this.client.send(
        new DeleteDBInstanceCommand({
          DBInstanceIdentifier: id,
          ...(snapshot ? { FinalDBSnapshotIdentifier: snapshot, SkipFinalSnapshot: false } : { SkipFinalSnapshot: true }),
          DeleteAutomatedBackups: false,
        }),
        { abortSignal: op.signal },
      );
    } catch (err) {
      if (isNotFound(err)) return { state: 'gone' };
      const code = awsErrorCode(err) ?? '';
      if (code.startsWith('InvalidDBInstanceState')) return this.pending(`RDS instance ${id} is ${status}; deleting once AWS accepts it`);
      if (code.startsWith('DBSnapshotAlreadyExists')) {
        throw terminal('FinalSnapshotExists', `the final snapshot ${snapshot} already exists, so RDS instance ${id} cannot be deleted with a final snapshot. Rename or delete that snapshot, or set final_snapshot: false.`, err);
      }
      throw toBackendError(err, 'DeleteDBInstance');
    }
    return this.pending(`deleting RDS instance ${id}${snapshot ? ` (final snapshot ${snapshot})` : ''}`);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  // ---------------------------------------------------------------------------------------

  private async describe(op: Op, id: string): Promise<DBInstance | undefined> {
    try {
      const out = await this.client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }), { abortSignal: op.signal });
      return out.DBInstances?.[0];
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toBackendError(err, 'DescribeDBInstances');
    }
  }

  /** TagList comes with DescribeDBInstances; older API answers lack it. */
  private async tagsOf(op: Op, instance: DBInstance): Promise<Record<string, string>> {
    if (instance.TagList !== undefined || !instance.DBInstanceArn) return fromTagList(instance.TagList);
    const out = await this.call('ListTagsForResource', () => this.client.send(new ListTagsForResourceCommand({ ResourceName: instance.DBInstanceArn }), { abortSignal: op.signal }));
    return fromTagList(out.TagList);
  }

  /** Refuses to touch an instance another PostgreSQLServer owns (name_pattern collisions). */
  private checkOwner(instance: DBInstance, s: ServerRequest): void {
    const owner = ownership(fromTagList(instance.TagList), s);
    if (typeof owner === 'object') {
      throw terminal('NameConflict', `RDS instance ${instance.DBInstanceIdentifier} already belongs to PostgreSQLServer ${owner.owner}; choose another name (or name_pattern)`);
    }
  }

  private async engineVersion(op: Op, desired: Pick<DesiredInstance, 'version'>): Promise<string> {
    const available = await this.versions.versions(ENGINE, (err) => op.log.warn({ err: awsErrorCode(err) }, 'DescribeDBEngineVersions failed'));
    const resolved = resolveVersion(desired.version, available);
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

  private endpointOf(instance: DBInstance): Endpoint | undefined {
    const status = instance.DBInstanceStatus ?? '';
    const address = instance.Endpoint?.Address;
    if (!USABLE.has(status) || !address) return undefined;
    return { host: address, port: instance.Endpoint?.Port ?? 5432, sslmode: 'require', adminUsername: instance.MasterUsername ?? this.cfg.admin_username, adminDatabase: 'postgres' };
  }

  private progressOf(instance: DBInstance): Progress {
    const endpoint = this.endpointOf(instance);
    if (endpoint) return { state: 'ready', endpoint };
    return this.pending(`RDS instance ${instance.DBInstanceIdentifier} is ${instance.DBInstanceStatus ?? 'unknown'}`);
  }

  private pending(message: string): Progress {
    return { state: 'pending', pollAfterMs: this.pollMs, message };
  }
}

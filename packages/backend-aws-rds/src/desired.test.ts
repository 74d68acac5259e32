import { describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import type { DBInstance } from '@aws-sdk/client-rds';
import type { ServerRequest, ServerSpec } from '@hybridcloud-postgresql/core';
import { TAG_NAME, TAG_NAMESPACE, TAG_UID, toTagList } from '@hybridcloud-postgresql/aws-common';
import { RdsConfigSchema, type RdsConfig } from './config.js';
import { changedFields, desiredInstance, diffInstance, validate } from './desired.js';

const cfg = (extra: Record<string, unknown> = {}) =>
  Value.Default(RdsConfigSchema, { region: 'eu-central-1', subnet_group: 'sn', vpc_security_group_ids: ['sg-1'], default_class: 'small', classes: { small: { instance_type: 'db.t4g.small' }, fast: { instance_type: 'db.m6g.large', storage_type: 'io1', iops: 3000 } }, ...extra }) as RdsConfig;
const req = (spec: Partial<ServerSpec> = {}, state: Record<string, string> = {}): ServerRequest => ({ namespace: 'ns', name: 'db', uid: 'uid-1', spec: { credentialsSecret: 's', ...spec }, state });

function liveFrom(d: ReturnType<typeof desiredInstance>['desired'], over: Partial<DBInstance> = {}): DBInstance {
  return {
    DBInstanceIdentifier: d.identifier, DBInstanceStatus: 'available', DBInstanceClass: d.instanceClass, AllocatedStorage: d.allocatedStorage, StorageType: d.storageType,
    BackupRetentionPeriod: d.backupRetention, MultiAZ: d.multiAz, PubliclyAccessible: d.publiclyAccessible, DeletionProtection: d.deletionProtection, EngineVersion: '16.4',
    VpcSecurityGroups: d.vpcSecurityGroupIds.map((id) => ({ VpcSecurityGroupId: id, Status: 'active' })), PreferredMaintenanceWindow: 'sun:05:00-sun:05:30', TagList: toTagList(d.tags),
    ...over,
  };
}

describe('awsrds desired state', () => {
  it('validates identifiers, storage, limits and versions', () => {
    expect(validate(cfg(), req())).toEqual([]);
    expect(validate(cfg({ name_pattern: '{namespace}--{name}' }), req()).map((p) => p.field)).toEqual(['metadata.name']);
    expect(validate(cfg(), req({ size: { storageGB: 10 } })).map((p) => p.field)).toEqual(['spec.size.storageGB']);
    expect(validate(cfg({ storage_limit_gb: 100 }), req({ size: { storageGB: 200 } })).map((p) => p.field)).toEqual(['spec.size.storageGB']);
    expect(validate(cfg(), req({ size: { class: 'fast', storageGB: 50 } })).map((p) => p.message)).toEqual(['storage type io1 needs at least 100 GB']);
    expect(validate(cfg(), req({ version: '16.x' })).map((p) => p.field)).toEqual(['spec.version']);
    // The identifier recorded on the CR wins over a changed pattern.
    expect(validate(cfg({ name_pattern: '{namespace}--{name}' }), req({}, { identifier: 'ns-db' }))).toEqual([]);
  });

  it('resolves class, tags, window and HA', () => {
    const { desired } = desiredInstance(cfg({ availability_zone: 'eu-central-1b', tags: { env: '{namespace}' } }), req({ size: { class: 'fast', storageGB: 200 }, highavailability: { enabled: true }, maintenance: { window: { weekday: 'Thu', starttime: '22:30' } } }));
    expect(desired).toMatchObject({ identifier: 'ns-db', instanceClass: 'db.m6g.large', storageType: 'io1', iops: 3000, allocatedStorage: 200, multiAz: true, maintenanceWindow: 'thu:22:30-thu:23:30', backupRetention: 7 });
    expect(desired.availabilityZone).toBeUndefined(); // Multi-AZ: AWS places both
    expect(desired.tags).toEqual({ env: 'ns', [TAG_NAMESPACE]: 'ns', [TAG_NAME]: 'db', [TAG_UID]: 'uid-1' });
  });

  it('finds no difference for a matching instance, ignoring an unset window and minor upgrades', () => {
    const { desired } = desiredInstance(cfg(), req({ version: '16' }));
    const diff = diffInstance(desired, liveFrom(desired, { EngineVersion: '16.9' }));
    expect(changedFields(diff)).toEqual([]);
  });

  it('lists only what differs; pending modifications count as requested', () => {
    const { desired } = desiredInstance(cfg(), req({ size: { storageGB: 50 }, backup: { retentionDays: 1 } }));
    const live = liveFrom(desired, { AllocatedStorage: 20, BackupRetentionPeriod: 7, DBInstanceClass: 'db.t3.small', PendingModifiedValues: { DBInstanceClass: 'db.t4g.small' }, VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-old', Status: 'active' }], TagList: [] });
    const diff = diffInstance(desired, live);
    expect(diff.modify).toEqual({ AllocatedStorage: 50, BackupRetentionPeriod: 1, VpcSecurityGroupIds: ['sg-1'] });
    expect(changedFields(diff)).toEqual(['AllocatedStorage', 'BackupRetentionPeriod', 'VpcSecurityGroupIds', 'Tags']);
  });

  it('never shrinks storage and never downgrades', () => {
    const { desired } = desiredInstance(cfg(), req({ size: { storageGB: 20 }, version: '15' }));
    const diff = diffInstance(desired, liveFrom(desired, { AllocatedStorage: 100, EngineVersion: '16.2' }));
    expect(diff.modify).toEqual({});
    expect(diff.version.kind).toBe('downgrade-refused');
    expect(diff.warnings.map((w) => w.reason)).toEqual(['StorageShrinkUnsupported', 'VersionDowngradeRefused']);
  });
});

import { describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import type { DBCluster, DBInstance } from '@aws-sdk/client-rds';
import type { ServerRequest, ServerSpec } from '@hybridcloud-postgresql/core';
import { toTagList } from '@hybridcloud-postgresql/aws-common';
import { AuroraConfigSchema, type AuroraConfig } from './config.js';
import { capacityOf, changedFields, desiredCluster, diffCluster, validate } from './desired.js';

const cfg = (extra: Record<string, unknown> = {}) =>
  Value.Default(AuroraConfigSchema, { region: 'eu-central-1', subnet_group: 'sn', default_class: 'sl', classes: { sl: { instance_type: 'db.serverless', scaling_configuration: { min_capacity: 0.5, max_capacity: 4 } }, big: { instance_type: 'db.r6g.xlarge', storage_type: 'aurora-iopt1' } }, ...extra }) as AuroraConfig;
const req = (spec: Partial<ServerSpec> = {}): ServerRequest => ({ namespace: 'ns', name: 'db', uid: 'uid-1', spec: { credentialsSecret: 's', ...spec }, state: {} });

describe('awsaurora desired state', () => {
  it('validates the cluster identifier with room for -primary and Aurora backup limits', () => {
    expect(validate(cfg(), req())).toEqual([]);
    expect(validate(cfg({ name_pattern: `${'x'.repeat(53)}-{name}` }), req()).map((p) => p.field)).toEqual(['metadata.name']);
    expect(validate(cfg(), req({ backup: { retentionDays: 0 } })).map((p) => p.field)).toEqual(['spec.backup.retentionDays']);
  });

  it('derives serverless capacity for sizing', () => {
    expect(capacityOf({ instance_type: 'db.serverless', scaling_configuration: { min_capacity: 0.5, max_capacity: 16 } })).toEqual({ cpu: 4, memoryMb: 32768 });
    expect(capacityOf({ instance_type: 'db.r6g.large' })).toEqual({ cpu: 2, memoryMb: 16384 });
    const { desired } = desiredCluster(cfg(), req({ size: { cpu: 4, memoryMB: 20000 } }));
    expect(desired.className).toBe('big');
  });

  it('diffs the cluster and the writer separately; standard storage may be reported as absent', () => {
    const { desired } = desiredCluster(cfg(), req());
    const cluster: DBCluster = { DBClusterIdentifier: 'ns-db', Status: 'available', BackupRetentionPeriod: 1, DeletionProtection: false, EngineVersion: '16.4', ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 2 }, TagList: toTagList(desired.tags) };
    const writer: DBInstance = { DBInstanceIdentifier: 'ns-db-primary', DBInstanceClass: 'db.r6g.large', PubliclyAccessible: false };
    const diff = diffCluster(desired, cluster, writer);
    expect(diff.cluster).toEqual({ ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 } });
    expect(diff.instance).toEqual({ DBInstanceClass: 'db.serverless' });
    expect(changedFields(diffCluster(desired, cluster, undefined))).toContain('WriterInstance');
  });
});

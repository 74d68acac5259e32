/**
 * awsaurora against the real AWS SDK and moto_server (through the RDS proxy for engine versions,
 * injected errors and lost answers). Assertions read clusters, instances and snapshots back.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { DeleteDBInstanceCommand, DescribeDBClusterSnapshotsCommand, DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient, type DBCluster, type DBInstance } from '@aws-sdk/client-rds';
import { BackendError, silentLogger, type Backend, type ServerRequest, type ServerSpec } from '@hybridcloud-postgresql/core';
import { startMoto, type Moto } from '@hybridcloud-postgresql/testenv';
import { TAG_NAME, TAG_NAMESPACE, fromTagList } from '@hybridcloud-postgresql/aws-common';
import { fakeOp, peakRequests, prepareMotoNetwork, setElement, startRdsProxy, type FakeOp, type RdsProxy } from '@hybridcloud-postgresql/aws-common/testing';
import definition from './index.js';
import { AuroraConfigSchema, type AuroraConfig } from './config.js';

process.env['AWS_ACCESS_KEY_ID'] = 'testing';
process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';
process.env['AWS_EC2_METADATA_DISABLED'] = 'true';

const REGION = 'eu-central-1';
let moto: Moto;
let proxy: RdsProxy;
let rds: RDSClient;
let securityGroupId = '';

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startRdsProxy(moto.endpoint);
  rds = new RDSClient({ region: REGION, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
});
afterAll(async () => {
  rds?.destroy();
  await proxy?.stop();
  await moto?.stop();
});
beforeEach(async () => {
  await moto.reset();
  ({ securityGroupId } = await prepareMotoNetwork(moto.endpoint, REGION, 'db-subnets'));
  proxy.clear();
});

function config(overrides: Record<string, unknown> = {}): AuroraConfig {
  const raw = {
    region: REGION,
    endpoint: proxy.endpoint,
    subnet_group: 'db-subnets',
    vpc_security_group_ids: [securityGroupId],
    availability_zones: [`${REGION}a`, `${REGION}b`],
    default_class: 'serverless',
    classes: {
      serverless: { instance_type: 'db.serverless', scaling_configuration: { min_capacity: 0.5, max_capacity: 2 } },
      'serverless-big': { instance_type: 'db.serverless', scaling_configuration: { min_capacity: 1, max_capacity: 8 } },
      provisioned: { instance_type: 'db.r6g.large', storage_type: 'aurora-iopt1' },
    },
    poll_interval_seconds: 1,
    ...overrides,
  };
  const cfg = Value.Default(AuroraConfigSchema, structuredClone(raw)) as AuroraConfig;
  expect([...Value.Errors(AuroraConfigSchema, cfg)].map((e) => `${e.path} ${e.message}`)).toEqual([]);
  return deepFreeze(cfg); // core hands backends a deeply frozen config section
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

async function backend(cfg = config()): Promise<Backend> {
  return definition.create({ config: cfg, operatorConfig: {}, log: silentLogger, kubeConfig: {} as never, operatorNamespace: 'operator', generatePassword: () => 'x' });
}

function request(spec: Partial<ServerSpec> = {}, op?: FakeOp, name = 'pg1'): ServerRequest {
  return { namespace: 'team-b', name, uid: 'a1b2c3d4-0000-1111-2222-333333333333', spec: { credentialsSecret: 's', ...spec }, state: op?.state ?? {} };
}

async function cluster(id = 'team-b-pg1'): Promise<DBCluster | undefined> {
  try {
    return (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters?.[0];
  } catch (err) {
    if ((err as Error).name === 'DBClusterNotFoundFault') return undefined;
    throw err;
  }
}
async function instance(id = 'team-b-pg1-primary'): Promise<DBInstance | undefined> {
  try {
    return (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
  } catch (err) {
    if ((err as Error).name === 'DBInstanceNotFoundFault') return undefined;
    throw err;
  }
}
const count = (action: string) => proxy.requests.filter((r) => r.action === action).length;

async function converge(b: Backend, op: FakeOp, req: () => ServerRequest, password = 'Secret-Pass-1') {
  for (let i = 0; i < 20; i++) {
    const seen = await b.observeServer(op, req());
    if (!seen.exists) await b.createServer(op, req(), password);
    else if (!seen.upToDate) await b.updateServer(op, req(), seen);
    else if (seen.ready) return seen;
  }
  throw new Error('did not converge');
}

async function deleteUntilGone(b: Backend, op: FakeOp, req: ServerRequest) {
  for (let i = 0; i < 10; i++) if ((await b.deleteServer(op, req)).state === 'gone') return i + 1;
  throw new Error('not gone');
}

describe('awsaurora against moto', { timeout: 180_000 }, () => {
  it('creates the cluster, then the writer, then reports the cluster endpoint', async () => {
    const b = await backend();
    const op = fakeOp();
    const spec: Partial<ServerSpec> = { version: '16', maintenance: { window: { weekday: 'Tue', starttime: '04:00' } } };
    expect(b.validateServer(request(spec, op))).toEqual([]);
    expect((await b.createServer(op, request(spec, op), 'Secret-Pass-1')).state).toBe('pending');
    expect(op.state['clusterIdentifier']).toBe('team-b-pg1');
    expect(await instance()).toBeUndefined(); // the writer waits for the cluster
    const seen = await converge(b, op, () => request(spec, op));

    const c = (await cluster())!;
    expect(c).toMatchObject({ Engine: 'aurora-postgresql', EngineVersion: '16.6', EngineMode: 'provisioned', DatabaseName: 'postgres', MasterUsername: 'postgres', BackupRetentionPeriod: 1, StorageEncrypted: true, DeletionProtection: false, PreferredMaintenanceWindow: 'tue:04:00-tue:05:00' });
    expect(c.StorageType).not.toBe('aurora-iopt1'); // standard storage (moto reports it as gp2, AWS as aurora)
    expect(c.ServerlessV2ScalingConfiguration).toMatchObject({ MinCapacity: 0.5, MaxCapacity: 2 });
    expect(c.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId)).toEqual([securityGroupId]);
    expect(c.AvailabilityZones).toEqual(expect.arrayContaining([`${REGION}a`, `${REGION}b`]));
    expect(fromTagList(c.TagList)).toMatchObject({ [TAG_NAMESPACE]: 'team-b', [TAG_NAME]: 'pg1' });
    expect(c.DBClusterMembers).toEqual([expect.objectContaining({ DBInstanceIdentifier: 'team-b-pg1-primary', IsClusterWriter: true })]);
    expect(await instance()).toMatchObject({ DBInstanceClass: 'db.serverless', DBClusterIdentifier: 'team-b-pg1', Engine: 'aurora-postgresql', PubliclyAccessible: false });
    expect(seen.endpoint).toEqual({ host: c.Endpoint, port: 5432, sslmode: 'require', adminUsername: 'postgres', adminDatabase: 'postgres' });
    expect(proxy.requests.find((r) => r.action === 'CreateDBCluster')?.params.get('MasterUserPassword')).toBe('Secret-Pass-1');
    expect(proxy.requests.find((r) => r.action === 'CreateDBInstance')?.params.has('MasterUserPassword')).toBe(false);
    expect(count('CreateDBCluster')).toBe(1);
    expect(count('CreateDBInstance')).toBe(1);
  });

  it('survives a crash right after CreateDBCluster and after CreateDBInstance', async () => {
    proxy.fail({ action: 'CreateDBCluster', times: 1, error: 'InternalFailure', afterForward: true });
    proxy.fail({ action: 'CreateDBInstance', times: 1, error: 'InternalFailure', afterForward: true });
    const first = await backend(config({ max_attempts: 1 }));
    const op = fakeOp();
    await expect(first.createServer(op, request({}, op), 'Secret-Pass-1')).rejects.toMatchObject({ kind: 'retryable' });
    const second = await backend(config({ max_attempts: 1 }));
    await expect(converge(second, op, () => request({}, op))).rejects.toMatchObject({ kind: 'retryable' });
    const third = await backend();
    expect((await converge(third, op, () => request({}, op))).ready).toBe(true);
    expect((await rds.send(new DescribeDBClustersCommand({}))).DBClusters?.map((c) => c.DBClusterIdentifier)).toEqual(['team-b-pg1']);
    expect((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances?.map((i) => i.DBInstanceIdentifier)).toEqual(['team-b-pg1-primary']);
  });

  it('updates scaling on the cluster, the class on the writer, and the password on the cluster', async () => {
    const b = await backend();
    const op = fakeOp();
    await converge(b, op, () => request({}, op));
    proxy.clear();
    await converge(b, op, () => request({}, op));
    expect(count('ModifyDBCluster') + count('ModifyDBInstance')).toBe(0);

    await converge(b, op, () => request({ size: { class: 'serverless-big' } }, op));
    expect((await cluster())!.ServerlessV2ScalingConfiguration).toMatchObject({ MinCapacity: 1, MaxCapacity: 8 });
    await converge(b, op, () => request({ size: { class: 'provisioned' }, backup: { retentionDays: 7 } }, op));
    expect(await instance()).toMatchObject({ DBInstanceClass: 'db.r6g.large' });
    expect(await cluster()).toMatchObject({ BackupRetentionPeriod: 7, StorageType: 'aurora-iopt1' });

    proxy.clear();
    const req = request({ size: { class: 'provisioned' }, backup: { retentionDays: 7 } }, op);
    const seen = await b.observeServer(op, req);
    expect(seen.upToDate).toBe(true);
    await b.updateServer(op, req, seen, 'New-Pass-2');
    const modifies = proxy.requests.filter((r) => r.action === 'ModifyDBCluster');
    expect(modifies).toHaveLength(1);
    expect(modifies[0]!.params.get('MasterUserPassword')).toBe('New-Pass-2');
    expect(count('ModifyDBInstance')).toBe(0);
  });

  it('falls back to the default class with a warning for an unknown class', async () => {
    const b = await backend();
    const op = fakeOp();
    await converge(b, op, () => request({ size: { class: 'nope' } }, op));
    expect(op.warnings.map((w) => w.reason)).toContain('UnknownClass');
    expect((await cluster())!.ServerlessV2ScalingConfiguration).toMatchObject({ MaxCapacity: 2 });
  });

  it('deletes the writer, then the cluster with a final snapshot', async () => {
    const b = await backend();
    const op = fakeOp();
    await converge(b, op, () => request({}, op));
    const first = await b.deleteServer(op, request({}, op));
    expect(first.state).toBe('pending');
    expect(await instance()).toBeUndefined();
    expect(await cluster()).toBeDefined();
    expect(await deleteUntilGone(b, op, request({}, op))).toBeGreaterThanOrEqual(2);
    expect(await cluster()).toBeUndefined();
    const snaps = (await rds.send(new DescribeDBClusterSnapshotsCommand({ SnapshotType: 'manual' }))).DBClusterSnapshots ?? [];
    expect(snaps.map((s) => s.DBClusterSnapshotIdentifier)).toEqual(['team-b-pg1-final-a1b2c3d4']);
    expect(count('DeleteDBInstance')).toBe(1);
    expect(count('DeleteDBCluster')).toBe(1);
  });

  it('finishes a delete interrupted between instance and cluster', async () => {
    const b = await backend(config({ final_snapshot: false, max_attempts: 1 }));
    const op = fakeOp();
    await converge(b, op, () => request({}, op));
    // The previous attempt deleted the writer and then died before the cluster.
    await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'team-b-pg1-primary', SkipFinalSnapshot: true }));
    // And the next DeleteDBCluster fails once with a 500.
    proxy.fail({ action: 'DeleteDBCluster', times: 1, error: 'InternalFailure' });
    const err = await b.deleteServer(op, request({}, op)).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'retryable' });
    expect(await deleteUntilGone(b, op, request({}, op))).toBeGreaterThanOrEqual(1);
    expect(await cluster()).toBeUndefined();
    expect(count('DeleteDBInstance')).toBe(0); // never tried to delete the missing writer
  });

  it('refuses to delete a protected cluster, before touching the writer', async () => {
    const b = await backend(config({ deletion_protection: true }));
    const op = fakeOp();
    await converge(b, op, () => request({}, op));
    const err = await b.deleteServer(op, request({}, op)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err).toMatchObject({ kind: 'terminal', reason: 'DeletionProtected' });
    expect(await instance()).toBeDefined();
    expect(await cluster()).toBeDefined();
  });

  it('places everything in the region of its own config section', async () => {
    const b = await backend(config({ region: 'eu-west-3', availability_zones: [] }));
    await prepareMotoNetwork(moto.endpoint, 'eu-west-3', 'db-subnets').catch(() => undefined);
    const op = fakeOp();
    await converge(b, op, () => request({}, op), 'Secret-Pass-1').catch(() => undefined);
    expect(await cluster()).toBeUndefined(); // not in eu-central-1
    const paris = new RDSClient({ region: 'eu-west-3', endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    expect((await paris.send(new DescribeDBClustersCommand({}))).DBClusters?.map((c) => c.DBClusterIdentifier)).toEqual(['team-b-pg1']);
    paris.destroy();
  });

  it('waits for a creating cluster before the writer, and for a deleting writer before the cluster', async () => {
    const b = await backend();
    const op = fakeOp();
    await b.createServer(op, request({}, op), 'Secret-Pass-1');
    proxy.rewrite({ action: 'DescribeDBClusters', times: 1, rewrite: (x) => setElement(x, 'Status', 'creating') });
    expect((await b.createServer(op, request({}, op), 'Secret-Pass-1')).state).toBe('pending');
    expect(count('CreateDBInstance')).toBe(0);
    await converge(b, op, () => request({}, op));
    expect(count('CreateDBInstance')).toBe(1);
    // The writer is still being deleted (AWS keeps it listed for minutes): no cluster delete yet.
    proxy.rewrite({ action: 'DescribeDBInstances', times: 1, rewrite: (x) => setElement(x, 'DBInstanceStatus', 'deleting') });
    expect((await b.deleteServer(op, request({}, op))).state).toBe('pending');
    expect(count('DeleteDBInstance')).toBe(0);
    expect(count('DeleteDBCluster')).toBe(0);
    await deleteUntilGone(b, op, request({}, op));
    expect(count('DeleteDBInstance')).toBe(1);
    expect(count('DeleteDBCluster')).toBe(1);
  });

  it('converges through throttling and 5xx errors at every step without exceeding the budget', async () => {
    const b = await backend(config({ requests_per_second: 3, max_attempts: 2 }));
    const op = fakeOp();
    proxy.fail({ action: 'DescribeDBClusters', times: 2, error: 'Throttling' });
    proxy.fail({ action: 'CreateDBCluster', times: 2, error: 'ServiceUnavailable' });
    proxy.fail({ action: 'CreateDBInstance', times: 2, error: 'InternalFailure' });
    proxy.fail({ action: 'DescribeDBInstances', times: 3, error: 'Throttling' });
    let errors = 0;
    let ready = false;
    for (let i = 0; i < 30 && !ready; i++) {
      try {
        ready = (await converge(b, op, () => request({}, op))).ready;
      } catch (err) {
        expect(err).toBeInstanceOf(BackendError);
        expect(['throttled', 'retryable']).toContain((err as BackendError).kind);
        errors++;
      }
    }
    expect(ready).toBe(true);
    expect(errors).toBeGreaterThan(0);
    expect((await rds.send(new DescribeDBClustersCommand({}))).DBClusters).toHaveLength(1);
    expect((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances).toHaveLength(1);
    expect(peakRequests(proxy.requests)).toBeLessThanOrEqual(9); // 3/s + burst 3, + up to 1 s of arrival jitter
  });
});


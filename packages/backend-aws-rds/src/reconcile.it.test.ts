/**
 * awsrds and awsaurora through core's reconcilers: CRs on a real kube-apiserver, the real AWS SDK
 * against moto, and a real TLS PostgreSQL standing in for the instances (moto's endpoints are not
 * connectable), reached through core's ConnectionResolver. The SQL really runs.
 */
import { Value } from '@sinclair/typebox/value';
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, ModifyDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKubeAccess, createReconcilers, decodeSecret, generatePassword, GROUP, LoadedBackendRegistry, silentLogger, VERSION,
  type Backend, type KubeAccess, type PostgreSQLServer,
} from '@hybridcloud-postgresql/core';
import { reconcileUntil, TestEventRecorder } from '@hybridcloud-postgresql/core/testing';
import { applyCrds, createTestNamespace, startMoto, startPostgres, useControlPlane, type ControlPlane, type Moto, type Postgres } from '@hybridcloud-postgresql/testenv';
import { TAG_UID, fromTagList } from '@hybridcloud-postgresql/aws-common';
import { enableTls, playMasterUser, prepareMotoNetwork, standInResolver, startRdsProxy, type RdsProxy } from '@hybridcloud-postgresql/aws-common/testing';
import aurora, { AuroraConfigSchema } from '@hybridcloud-postgresql/backend-aws-aurora';
import rds from './index.js';
import { RdsConfigSchema } from './config.js';

process.env['AWS_ACCESS_KEY_ID'] = 'testing';
process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';
process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
const REGION = 'eu-central-1';

let cp: ControlPlane;
let kube: KubeAccess;
let ns: string;
let moto: Moto;
let proxy: RdsProxy;
let pgs: Postgres;
let aws: RDSClient;
let backends: Backend[] = [];
let rec: ReturnType<typeof createReconcilers>;
let events: TestEventRecorder;
let common: Record<string, unknown>;
let ctx: Omit<Parameters<typeof rds.create>[0], 'config'>;

beforeAll(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
  ns = await createTestNamespace(cp, 'aws-reconcile');
  const kc = cp.kubeConfig();
  kube = createKubeAccess(kc);
  [moto, pgs] = await Promise.all([startMoto(), startPostgres()]);
  await enableTls(pgs);
  proxy = await startRdsProxy(moto.endpoint);
  playMasterUser(proxy, pgs);
  const { subnetGroup, securityGroupId } = await prepareMotoNetwork(moto.endpoint, REGION);
  aws = new RDSClient({ region: REGION, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });

  common = { region: REGION, endpoint: proxy.endpoint, subnet_group: subnetGroup, vpc_security_group_ids: [securityGroupId], poll_interval_seconds: 1, tags: { team: '{namespace}' } };
  const gen = () => generatePassword({ length: 20, specialCharacters: true });
  ctx = { operatorConfig: {}, log: silentLogger, kubeConfig: kc, operatorNamespace: 'default', generatePassword: gen };
  const r = await rds.create({ ...ctx, config: Value.Default(RdsConfigSchema, { ...common, admin_username: 'rdsmaster', default_class: 'small', classes: { small: { instance_type: 'db.t4g.small' }, large: { instance_type: 'db.m6g.large', storage_type: 'gp3' } } }) as never });
  const a = await aurora.create({ ...ctx, config: Value.Default(AuroraConfigSchema, { ...common, admin_username: 'auroramaster', default_class: 'serverless', classes: { serverless: { instance_type: 'db.serverless', scaling_configuration: { min_capacity: 0.5, max_capacity: 2 } } } }) as never });
  backends = [r, a];
  events = new TestEventRecorder(kc);
  rec = createReconcilers({
    kubeConfig: kc,
    registry: new LoadedBackendRegistry('awsrds', ['awsrds', 'awsaurora'], new Map([['awsrds', r], ['awsaurora', a]])),
    events,
    log: silentLogger,
    generatePassword: gen,
    resyncMs: 300_000,
    resolver: standInResolver(pgs),
  });
});

afterAll(async () => {
  await rec?.sql.close();
  for (const b of backends) await b.close?.();
  aws?.destroy();
  await proxy?.stop();
  await Promise.all([moto?.stop(), pgs?.stop()]);
});

const getServer = async (name: string) => (await kube.getServer(ns, name)) as PostgreSQLServer;
const ready = (o: PostgreSQLServer | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
const secretData = async (name: string) => decodeSecret(await kube.getSecret(ns, name));
const kubectlCreate = (kind: string, name: string, spec: Record<string, unknown>) =>
  cp.kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name, namespace: ns }, spec }) });

/** Logs in with a credentials Secret over TLS to the stand-in, as an application would reach RDS. */
async function login(data: Record<string, string>): Promise<string> {
  expect(data['sslmode']).toBe('require');
  const out = await pgs.psql("SELECT current_user || ' ' || (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())", { user: data['username']!, password: data['password']!, database: data['dbname']! });
  const [user, ssl] = out.stdout.trim().split(' ');
  expect(ssl).toBe('true');
  return user!;
}

async function createServer(name: string, spec: Record<string, unknown>) {
  await kubectlCreate('PostgreSQLServer', name, { credentialsSecret: `${name}-admin`, ...spec });
  await reconcileUntil(rec.server, { namespace: ns, name }, async () => ready(await getServer(name)), { timeoutMs: 90_000, maxDelayMs: 500 });
}

describe.each([
  { backend: 'awsrds', server: 'orders', admin: 'rdsmaster', spec: { size: { class: 'large', storageGB: 30 }, version: '16' } },
  { backend: 'awsaurora', server: 'billing', admin: 'auroramaster', spec: { version: '16' } },
])('$backend through core reconcilers', ({ backend, server, admin, spec }) => {
  // Login, databases, resync without changes, unsupported fields, errors and deletes of both
  // backends: the testkit's conformance suites (conformance.it.test.ts of each package).
  it('server: its Secret logs in over TLS; the instance carries the CR identity', { timeout: 180_000 }, async () => {
    await createServer(server, { backend, ...spec });
    const cr = (await getServer(server))!;
    expect(cr.status?.backend).toBe(backend);
    const adminCreds = await secretData(`${server}-admin`);
    expect(adminCreds['host']).toMatch(/\.rds\.amazonaws\.com$/);
    expect(adminCreds['port']).toBe('5432');
    expect(adminCreds['username']).toBe(admin);
    expect(await login(adminCreds)).toBe(admin);

    const id = `${ns}-${server}`;
    if (backend === 'awsrds') {
      const db = (await aws.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!;
      expect(db).toMatchObject({ DBInstanceClass: 'db.m6g.large', AllocatedStorage: 30, EngineVersion: '16.8' });
      expect(db.Endpoint?.Address).toBe(adminCreds['host']);
      expect(fromTagList(db.TagList)).toMatchObject({ [TAG_UID]: cr.metadata.uid, team: ns });
    } else {
      const c = (await aws.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters![0]!;
      expect(c).toMatchObject({ EngineVersion: '16.6', Endpoint: adminCreds['host'] });
      expect(fromTagList(c.TagList)).toMatchObject({ [TAG_UID]: cr.metadata.uid, team: ns });
    }
    // The identifier is kept on the CR, so a restarted operator finds the server again.
    expect(Object.entries(cr.metadata.annotations ?? {}).some(([k, v]) => k.startsWith(`${backend}.`) && v === id)).toBe(true);
  });

  it('reset-password of the server reaches AWS: the new master password works, the old one fails', { timeout: 120_000 }, async () => {
    const old = await secretData(`${server}-admin`);
    await cp.kubectl(['label', '-n', ns, 'postgresqlserver', server, 'operator/action=reset-password']);
    await reconcileUntil(rec.server, { namespace: ns, name: server }, async () => {
      const o = await getServer(server);
      return o?.metadata.labels?.['operator/action'] === undefined && ready(o);
    }, { timeoutMs: 60_000, maxDelayMs: 500 });
    const now = await secretData(`${server}-admin`);
    expect(now['password']).not.toBe(old['password']);
    await expect(login(old)).rejects.toThrow(/password authentication failed/);
    expect(await login(now)).toBe(admin);
    const id = `${ns}-${server}`;
    const modify = proxy.requests.filter((r) => (r.params.get('DBInstanceIdentifier') ?? r.params.get('DBClusterIdentifier')) === id && r.params.has('MasterUserPassword') && r.action.startsWith('Modify'));
    expect(modify).toHaveLength(1);
  });

  it('delete: AWS resources are gone, a final snapshot is kept', { timeout: 120_000 }, async () => {
    await cp.kubectl(['delete', '-n', ns, 'postgresqlserver', server, '--wait=false']);
    await reconcileUntil(rec.server, { namespace: ns, name: server }, async () => (await getServer(server)) === undefined, { timeoutMs: 60_000, maxDelayMs: 500 });
    const id = `${ns}-${server}`;
    if (backend === 'awsrds') {
      await expect(aws.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).rejects.toMatchObject({ name: 'DBInstanceNotFoundFault' });
      const snaps = (await aws.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: id, SnapshotType: 'manual' }))).DBSnapshots ?? [];
      expect(snaps).toHaveLength(1);
    } else {
      await expect(aws.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).rejects.toMatchObject({ name: 'DBClusterNotFoundFault' });
      await expect(aws.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: `${id}-primary` }))).rejects.toMatchObject({ name: 'DBInstanceNotFoundFault' });
    }
  });
});

describe('a class that does not exist', () => {
  it('uses the default class and posts a Warning Event', { timeout: 120_000 }, async () => {
    await createServer('odd', { backend: 'awsrds', size: { class: 'enormous' } });
    const db = (await aws.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: `${ns}-odd` }))).DBInstances![0]!;
    expect(db.DBInstanceClass).toBe('db.t4g.small');
    expect(events.reasons('odd')).toContain('UnknownClass');
  });
});

describe('deletion protection', () => {
  it('keeps the CR with Ready=False DeletionProtected until protection is lifted in AWS, then deletes', { timeout: 180_000 }, async () => {
    const guarded = await rds.create({ ...ctx, config: Value.Default(RdsConfigSchema, { ...common, admin_username: 'keepmaster', deletion_protection: true, final_snapshot: false }) as never });
    const rec2 = createReconcilers({
      kubeConfig: cp.kubeConfig(),
      registry: new LoadedBackendRegistry('awsrds', ['awsrds'], new Map([['awsrds', guarded]])),
      events,
      log: silentLogger,
      generatePassword: () => generatePassword({ length: 20, specialCharacters: true }),
      resyncMs: 300_000,
      resolver: standInResolver(pgs),
    });
    try {
      await kubectlCreate('PostgreSQLServer', 'keep', { credentialsSecret: 'keep-admin' });
      await reconcileUntil(rec2.server, { namespace: ns, name: 'keep' }, async () => ready(await getServer('keep')), { timeoutMs: 90_000, maxDelayMs: 500 });
      const id = `${ns}-keep`;
      expect((await aws.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!.DeletionProtection).toBe(true);

      await cp.kubectl(['delete', '-n', ns, 'postgresqlserver', 'keep', '--wait=false']);
      const protectedCondition = async () => (await getServer('keep'))?.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False' && c.reason === 'DeletionProtected');
      await reconcileUntil(rec2.server, { namespace: ns, name: 'keep' }, async () => (await protectedCondition()) !== undefined, { timeoutMs: 30_000, maxDelayMs: 500 });
      expect((await protectedCondition())!.message).toMatch(/deletion protection/);
      expect((await aws.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances).toHaveLength(1);

      // The admin lifts the protection in AWS; the next reconcile (resync) finishes the deletion.
      await aws.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: id, DeletionProtection: false, ApplyImmediately: true }));
      await reconcileUntil(rec2.server, { namespace: ns, name: 'keep' }, async () => (await getServer('keep')) === undefined, { timeoutMs: 60_000, maxDelayMs: 500 });
      await expect(aws.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).rejects.toMatchObject({ name: 'DBInstanceNotFoundFault' });
    } finally {
      await rec2.sql.close();
      await guarded.close?.();
    }
  });
});


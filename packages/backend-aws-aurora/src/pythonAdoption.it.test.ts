/**
 * Upgrading from the Python operator (issue 15), awsaurora: what it left behind — the Aurora
 * cluster and its writer `{cluster}-primary` created the way aws_aurora.py created them
 * (identifier `{namespace}-{name}`, its two tags and no uid tag, EngineVersion 15.2, 1 day of
 * backups, storage type aurora, the default class's instance type and serverless v2 scaling for a
 * spec without size.class; the writer without tags), its credentials Secret (six keys), the CR
 * with kopf's finalizer, last-handled annotation and status.deployment — taken over by core's real controller and reconcilers
 * (startKitOperator). Asserted: zero mutating backend calls and zero mutating RDS requests, the
 * Secret's values unchanged, the old password logs in, one AdoptedValueKept Warning and the status
 * note; then one spec change, which is applied.
 */
import { CreateDBClusterCommand, CreateDBInstanceCommand, DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallLog, eventually, isReady, psqlWith, readyOf, startKitOperator, World, type KitOperator, pythonOperatorSecret, pythonOperatorServer } from '@hybridcloud-postgresql/testkit';
import { applyCrds, createTestNamespace, useControlPlane, usePostgres, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { fromTagList, TAG_NAME, TAG_NAMESPACE, TAG_UID } from '@hybridcloud-postgresql/aws-common';
import { startMotoStandIns, type MotoStandIns, type RdsProxy, type StandInFleet } from '@hybridcloud-postgresql/aws-common/testing';
import aurora from './index.js';

const REGION = 'eu-central-1';
const NAME = 'pyaur';
const PW = 'Py7auroraAdmin-x';
const READ_ONLY = /^(Describe|List)/;

let cp: ControlPlane;
let ns: string;
let stand: MotoStandIns | undefined;
let proxy: RdsProxy;
let fleet: StandInFleet;
let aws: RDSClient;
let world: World;
let psql: string;
let config: Record<string, unknown>;
let op: KitOperator | undefined;
const log = new CallLog();

beforeAll(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
  ns = await createTestNamespace(cp, 'py-aurora');
  psql = `${(await usePostgres()).binDir}/psql`;
  stand = await startMotoStandIns(REGION);
  ({ proxy, fleet, aws } = stand);
  const { subnetGroup, securityGroupId } = stand;
  world = new World(cp.kubeConfig(), ns);
  // The Python operator's config file (plus what the test needs: the proxy, fast polling).
  config = {
    backend: 'awsaurora',
    backends: {
      awsaurora: {
        region: REGION, subnet_group: subnetGroup, vpc_security_group_ids: [securityGroupId], admin_username: 'auroramaster',
        default_class: 'serverless',
        classes: { serverless: { instance_type: 'db.serverless', scaling_configuration: { min_capacity: 0.5, max_capacity: 2 } }, large: { instance_type: 'db.r6g.large' } },
        tags: { team: '{namespace}' },
        endpoint: proxy.endpoint, poll_interval_seconds: 1, requests_per_second: 10,
      },
    },
  };
}, 600_000);

afterAll(async () => {
  await op?.stop();
  await stand?.close();
}, 120_000);

const liveCluster = async (id: string) => (await aws.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters![0]!;
const liveInstance = async (id: string) => (await aws.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!;

const pythonServer = (name: string, spec: Record<string, unknown>, backend: string) => pythonOperatorServer(cp, ns, name, spec, backend);
const pythonSecret = (name: string, data: Record<string, string>) => pythonOperatorSecret(cp, ns, name, data);

describe('awsaurora: a cluster of the Python operator', () => {
  const id = () => `${ns}-${NAME}`;
  // cpu/memoryMB the Python operator ignored: this operator would choose db.r6g.large (2 CPUs, 16 GB).
  const spec = { credentialsSecret: `${NAME}-credentials`, version: '15', size: { storageGB: 20, cpu: 2, memoryMB: 16384 } };
  let creds: Record<string, string>;

  it('is adopted with zero mutating calls: no backend mutation, no RDS write, Secret values kept, old password logs in, AdoptedValueKept', { timeout: 300_000 }, async () => {
    // create_db_cluster and create_db_instance as aws_aurora.py sent them (through the proxy: the fleet
    // starts the cluster's stand-in). Left out because moto answers them with a 500: StorageType
    // 'aurora' (AWS's default, so the same cluster) and the cluster-level AutoMinorVersionUpgrade.
    const py = new RDSClient({ region: REGION, endpoint: proxy.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const cfg = (config['backends'] as { awsaurora: { subnet_group: string; vpc_security_group_ids: string[] } }).awsaurora;
    await py.send(new CreateDBClusterCommand({
      DBClusterIdentifier: id(), BackupRetentionPeriod: 1, // AvailabilityZones: [] (the config's default) sends no zone DatabaseName: 'postgres',
      VpcSecurityGroupIds: cfg.vpc_security_group_ids, DBSubnetGroupName: cfg.subnet_group, Engine: 'aurora-postgresql', EngineVersion: '15.2', Port: 5432,
      MasterUsername: 'auroramaster', MasterUserPassword: PW,
      Tags: [{ Key: TAG_NAMESPACE, Value: ns }, { Key: TAG_NAME, Value: NAME }, { Key: 'team', Value: ns }],
      StorageEncrypted: true, EngineMode: 'provisioned', DeletionProtection: false, CopyTagsToSnapshot: true,
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 2 },
    })).catch((e: Error) => { throw new Error(`CreateDBCluster: ${e.message}`); });
    await py.send(new CreateDBInstanceCommand({ DBClusterIdentifier: id(), DBInstanceIdentifier: `${id()}-primary`, DBInstanceClass: 'db.serverless', PubliclyAccessible: false, Engine: 'aurora-postgresql' })).catch((e: Error) => { throw new Error(`CreateDBInstance: ${e.message}`); });
    py.destroy();
    const snapshot = async () => {
      const c = await liveCluster(id());
      const w = await liveInstance(`${id()}-primary`);
      return { retention: c.BackupRetentionPeriod, version: c.EngineVersion, scaling: c.ServerlessV2ScalingConfiguration, tags: fromTagList(c.TagList), writer: w.DBInstanceClass, writerTags: fromTagList(w.TagList) };
    };
    const before = await snapshot();
    expect(before.tags[TAG_UID]).toBeUndefined();
    creds = { username: 'auroramaster', password: PW, dbname: 'postgres', host: (await liveCluster(id())).Endpoint!, port: '5432', sslmode: 'require' };
    await pythonSecret(spec.credentialsSecret, creds);
    await pythonServer(NAME, spec, 'awsaurora');
    proxy.clear();

    op = await startKitOperator({ kubeConfig: cp.kubeConfig(), definition: aurora, config, namespace: ns, env: process.env, resolver: fleet.resolver, log });
    await eventually(`server ${NAME} Ready`, async () => isReady(await world.get('server', NAME)), 120_000, async () => JSON.stringify(readyOf(await world.get('server', NAME))));
    // One Warning per difference (per operator process: a restarted operator names it once more).
    const kept = await eventually('the AdoptedValueKept Warning', async () => {
      const e = (await world.events(NAME)).filter((x) => x.reason === 'AdoptedValueKept');
      return e.length > 0 && e;
    }, 10_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await world.events(NAME)).filter((x) => x.reason === 'AdoptedValueKept')).toHaveLength(1);
    expect(kept[0]!.type).toBe('Warning');
    expect(kept[0]!.message).toMatch(/selects db.r6g.large .*class 'serverless' \(db.serverless\).*backends.awsaurora.python_objects: apply/);

    // a restart: its first reconciles must not act either
    const object = `${ns}/${NAME}`;
    const observed = log.of('observeServer', object).length;
    await op.stop();
    op = await startKitOperator({ kubeConfig: cp.kubeConfig(), definition: aurora, config, namespace: ns, env: process.env, resolver: fleet.resolver, log });
    await eventually('a reconcile after the restart', async () => log.of('observeServer', object).length > observed, 60_000);
    await new Promise((r) => setTimeout(r, 1_000));

    expect(proxy.requests.filter((r) => !READ_ONLY.test(r.action)).map((r) => `${r.action} ${[...r.params.keys()].filter((k) => !/^(Action|Version|DBInstanceIdentifier|DBClusterIdentifier|ResourceName)$/.test(k)).join(',')}`)).toEqual([]);
    expect(log.mutating(object).map((c) => c.method)).toEqual([]);
    expect(await snapshot()).toEqual(before);

    const data = (await world.secret(spec.credentialsSecret))!;
    expect(data).toMatchObject(creds);
    const login = await psqlWith(psql, data, 'SELECT current_user', fleet.resolver, { namespace: ns, name: NAME, backend: 'awsaurora' });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe('auroramaster');

    const srv = (await world.get('server', NAME))!;
    expect(srv.metadata.finalizers).toEqual(['hybridcloud.maibornwolff.de/finalizer']);
    expect(srv.status?.deployment?.status).toBe('finished');
    expect(readyOf(srv)?.message).toContain('AdoptedValueKept');
  });

  it('a spec change afterwards is applied (sized by this operator\'s rules), with the old password still working', { timeout: 300_000 }, async () => {
    expect(op, 'the adoption case ran').toBeDefined();
    proxy.clear();
    await world.patch('server', NAME, { spec: { backup: { retentionDays: 7 } } });
    await eventually('the change applied', async () => {
      const c = await liveCluster(id());
      const w = await liveInstance(`${id()}-primary`);
      const cr = await world.get('server', NAME);
      return c.BackupRetentionPeriod === 7 && w.DBInstanceClass === 'db.r6g.large' && isReady(cr) && readyOf(cr)?.message?.includes('AdoptedValueKept') === false;
    }, 120_000, async () => JSON.stringify(readyOf(await world.get('server', NAME))));
    expect(proxy.requests.filter((r) => r.action === 'ModifyDBCluster')).toHaveLength(1);
    expect(proxy.requests.filter((r) => r.action === 'ModifyDBInstance')).toHaveLength(1);
    // the uid tag it lacked goes with the first write
    expect(fromTagList((await liveCluster(id())).TagList)[TAG_UID]).toBe((await world.get('server', NAME))!.metadata.uid);
    const data = (await world.secret(spec.credentialsSecret))!;
    expect(data).toMatchObject(creds);
    const login = await psqlWith(psql, data, 'SELECT current_user', fleet.resolver, { namespace: ns, name: NAME, backend: 'awsaurora' });
    expect(login.code, login.stderr).toBe(0);
  });
});

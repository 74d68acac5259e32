/**
 * Upgrading from the Python operator (issue 15), awsrds: what it left behind — the RDS instance
 * created the way aws_rds.py created it (identifier `{namespace}-{name}`, its two tags and no uid
 * tag, the default class for a spec without size.class, EngineVersion 15.3, gp2, 7 days of
 * backups), its credentials Secret (six keys), the CR with kopf's finalizer, last-handled
 * annotation and status.deployment — taken over by core's real controller and reconcilers
 * (startKitOperator). Asserted: zero mutating backend calls and zero mutating RDS requests, the
 * Secret's values unchanged, the old password logs in, one AdoptedValueKept Warning and the status
 * note; then one spec change, which is applied.
 */
import { CreateDBInstanceCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallLog, eventually, isReady, psqlWith, readyOf, startKitOperator, World, type KitOperator, pythonOperatorSecret, pythonOperatorServer } from '@hybridcloud-postgresql/testkit';
import { applyCrds, createTestNamespace, useControlPlane, usePostgres, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { fromTagList, TAG_NAME, TAG_NAMESPACE, TAG_UID } from '@hybridcloud-postgresql/aws-common';
import { startMotoStandIns, type MotoStandIns, type RdsProxy, type StandInFleet } from '@hybridcloud-postgresql/aws-common/testing';
import rds from './index.js';

const REGION = 'eu-central-1';
const NAME = 'pyrds';
const PW = 'Py7rdsAdminPw-x';
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
  ns = await createTestNamespace(cp, 'py-rds');
  psql = `${(await usePostgres()).binDir}/psql`;
  stand = await startMotoStandIns(REGION);
  ({ proxy, fleet, aws } = stand);
  const { subnetGroup, securityGroupId } = stand;
  world = new World(cp.kubeConfig(), ns);
  // The Python operator's config file (plus what the test needs: the proxy, fast polling).
  config = {
    backend: 'awsrds',
    backends: {
      awsrds: {
        region: REGION, subnet_group: subnetGroup, vpc_security_group_ids: [securityGroupId], admin_username: 'rdsmaster',
        default_class: 'small', classes: { small: { instance_type: 'db.t4g.small' }, large: { instance_type: 'db.m6g.large' } },
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

const liveInstance = async (id: string) => (await aws.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!;

const pythonServer = (name: string, spec: Record<string, unknown>, backend: string) => pythonOperatorServer(cp, ns, name, spec, backend);
const pythonSecret = (name: string, data: Record<string, string>) => pythonOperatorSecret(cp, ns, name, data);

describe('awsrds: an instance of the Python operator', () => {
  const id = () => `${ns}-${NAME}`;
  // cpu/memoryMB the Python operator ignored: this operator would choose db.m6g.large (2 CPUs, 8 GB).
  const spec = { credentialsSecret: `${NAME}-credentials`, version: '15', size: { storageGB: 20, cpu: 2, memoryMB: 8192 } };
  let creds: Record<string, string>;

  it('is adopted with zero mutating calls: no backend mutation, no RDS write, Secret values kept, old password logs in, AdoptedValueKept', { timeout: 300_000 }, async () => {
    // create_db_instance exactly as aws_rds.py sent it (through the proxy: the fleet starts the instance's stand-in).
    const py = new RDSClient({ region: REGION, endpoint: proxy.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const cfg = (config['backends'] as { awsrds: { subnet_group: string; vpc_security_group_ids: string[] } }).awsrds;
    await py.send(new CreateDBInstanceCommand({
      DBInstanceIdentifier: id(), AllocatedStorage: 20, DBInstanceClass: 'db.t4g.small', Engine: 'postgres',
      MasterUsername: 'rdsmaster', MasterUserPassword: PW, VpcSecurityGroupIds: cfg.vpc_security_group_ids, DBSubnetGroupName: cfg.subnet_group,
      BackupRetentionPeriod: 7, Port: 5432, MultiAZ: false, EngineVersion: '15.3', AutoMinorVersionUpgrade: true, PubliclyAccessible: false,
      Tags: [{ Key: TAG_NAMESPACE, Value: ns }, { Key: TAG_NAME, Value: NAME }, { Key: 'team', Value: ns }],
      StorageType: 'gp2', StorageEncrypted: true, CopyTagsToSnapshot: true, DeletionProtection: false, AvailabilityZone: 'eu-central-1a',
    }));
    py.destroy();
    const before = await liveInstance(id());
    expect(fromTagList(before.TagList)[TAG_UID]).toBeUndefined();
    creds = { username: 'rdsmaster', password: PW, dbname: 'postgres', host: before.Endpoint!.Address!, port: '5432', sslmode: 'require' };
    await pythonSecret(spec.credentialsSecret, creds);
    await pythonServer(NAME, spec, 'awsrds');
    proxy.clear();

    op = await startKitOperator({ kubeConfig: cp.kubeConfig(), definition: rds, config, namespace: ns, env: process.env, resolver: fleet.resolver, log });
    await eventually(`server ${NAME} Ready`, async () => isReady(await world.get('server', NAME)), 120_000, async () => JSON.stringify(readyOf(await world.get('server', NAME))));
    // One Warning per difference (per operator process: a restarted operator names it once more).
    const kept = await eventually('the AdoptedValueKept Warning', async () => {
      const e = (await world.events(NAME)).filter((x) => x.reason === 'AdoptedValueKept');
      return e.length > 0 && e;
    }, 10_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await world.events(NAME)).filter((x) => x.reason === 'AdoptedValueKept')).toHaveLength(1);
    expect(kept[0]!.type).toBe('Warning');
    expect(kept[0]!.message).toMatch(/selects db.m6g.large .*class 'small' \(db.t4g.small\).*backends.awsrds.python_objects: apply/);

    // a restart: its first reconciles must not act either
    const object = `${ns}/${NAME}`;
    const observed = log.of('observeServer', object).length;
    await op.stop();
    op = await startKitOperator({ kubeConfig: cp.kubeConfig(), definition: rds, config, namespace: ns, env: process.env, resolver: fleet.resolver, log });
    await eventually('a reconcile after the restart', async () => log.of('observeServer', object).length > observed, 60_000);
    await new Promise((r) => setTimeout(r, 1_000));

    expect(proxy.requests.filter((r) => !READ_ONLY.test(r.action)).map((r) => `${r.action} ${[...r.params.keys()].filter((k) => !/^(Action|Version|DBInstanceIdentifier|ResourceName)$/.test(k)).join(',')}`)).toEqual([]);
    expect(log.mutating(object).map((c) => c.method)).toEqual([]);
    const after = await liveInstance(id());
    expect({ cls: after.DBInstanceClass, storage: after.AllocatedStorage, version: after.EngineVersion, tags: fromTagList(after.TagList) })
      .toEqual({ cls: before.DBInstanceClass, storage: before.AllocatedStorage, version: before.EngineVersion, tags: fromTagList(before.TagList) });

    const data = (await world.secret(spec.credentialsSecret))!;
    expect(data).toMatchObject(creds);
    const login = await psqlWith(psql, data, 'SELECT current_user', fleet.resolver, { namespace: ns, name: NAME, backend: 'awsrds' });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe('rdsmaster');

    const srv = (await world.get('server', NAME))!;
    expect(srv.metadata.finalizers).toEqual(['hybridcloud.maibornwolff.de/finalizer']);
    expect(srv.status?.deployment?.status).toBe('finished');
    expect(readyOf(srv)?.message).toContain('AdoptedValueKept');
  });

  it('a spec change afterwards is applied (sized by this operator\'s rules), with the old password still working', { timeout: 300_000 }, async () => {
    expect(op, 'the adoption case ran').toBeDefined();
    proxy.clear();
    await world.patch('server', NAME, { spec: { size: { storageGB: 30, cpu: 2, memoryMB: 8192 } } });
    await eventually('the change applied', async () => {
      const i = await liveInstance(id());
      const cr = await world.get('server', NAME);
      return i.AllocatedStorage === 30 && i.DBInstanceClass === 'db.m6g.large' && isReady(cr) && readyOf(cr)?.message?.includes('AdoptedValueKept') === false;
    }, 120_000, async () => JSON.stringify(readyOf(await world.get('server', NAME))));
    expect(proxy.requests.filter((r) => r.action === 'ModifyDBInstance')).toHaveLength(1);
    // the uid tag it lacked goes with the first write
    expect(fromTagList((await liveInstance(id())).TagList)[TAG_UID]).toBe((await world.get('server', NAME))!.metadata.uid);
    const data = (await world.secret(spec.credentialsSecret))!;
    expect(data).toMatchObject(creds);
    const login = await psqlWith(psql, data, 'SELECT current_user', fleet.resolver, { namespace: ns, name: NAME, backend: 'awsrds' });
    expect(login.code, login.stderr).toBe(0);
  });
});

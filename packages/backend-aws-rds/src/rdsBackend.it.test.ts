/**
 * awsrds against the real AWS SDK and moto_server (through a small proxy that adds what moto
 * lacks: DescribeDBEngineVersions, error injection and intermediate states). Assertions read the
 * world back from moto, not the calls made.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, ModifyDBInstanceCommand, RDSClient, type DBInstance } from '@aws-sdk/client-rds';
import { Writable } from 'node:stream';
import { BackendError, createLogger, silentLogger, type Backend, type ServerRequest, type ServerSpec } from '@hybridcloud-postgresql/core';
import { startMoto, type Moto } from '@hybridcloud-postgresql/testenv';
import { TAG_NAME, TAG_NAMESPACE, TAG_UID, fromTagList } from '@hybridcloud-postgresql/aws-common';
import { fakeOp, peakRequests, prepareMotoNetwork, setElement, dropElement, startRdsProxy, type FakeOp, type RdsProxy } from '@hybridcloud-postgresql/aws-common/testing';
import definition from './index.js';
import { RdsConfigSchema, type RdsConfig } from './config.js';

process.env['AWS_ACCESS_KEY_ID'] = 'testing';
process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';
process.env['AWS_EC2_METADATA_DISABLED'] = 'true';

let moto: Moto;
let proxy: RdsProxy;
let rds: RDSClient;
const REGION = 'eu-west-1';

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
let securityGroupId = '';
beforeEach(async () => {
  await moto.reset();
  ({ securityGroupId } = await prepareMotoNetwork(moto.endpoint, REGION, 'db-subnets'));
  proxy.clear();
});

function config(overrides: Record<string, unknown> = {}): RdsConfig {
  const raw = {
    region: REGION,
    endpoint: proxy.endpoint,
    subnet_group: 'db-subnets',
    vpc_security_group_ids: [securityGroupId],
    availability_zone: 'eu-west-1b',
    tags: { team: '{namespace}', app: 'pg-{name}' },
    default_class: 'small',
    classes: {
      small: { instance_type: 'db.t4g.small' },
      medium: { instance_type: 'db.m5.large', storage_type: 'gp3' },
      big: { instance_type: 'db.m5.xlarge', storage_type: 'gp3' },
    },
    poll_interval_seconds: 1,
    requests_per_second: 8,
    ...overrides,
  };
  const cfg = Value.Default(RdsConfigSchema, structuredClone(raw)) as RdsConfig;
  expect([...Value.Errors(RdsConfigSchema, cfg)].map((e) => `${e.path} ${e.message}`)).toEqual([]);
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
  return { namespace: 'team-a', name, uid: '0f1e2d3c-aaaa-bbbb-cccc-000000000001', spec: { credentialsSecret: 's', ...spec }, state: op?.state ?? {} };
}

async function live(id: string): Promise<DBInstance | undefined> {
  try {
    return (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
  } catch (err) {
    if ((err as Error).name === 'DBInstanceNotFoundFault') return undefined;
    throw err;
  }
}

const count = (action: string) => proxy.requests.filter((r) => r.action === action).length;

/** Drives a backend like core does until the server is ready (bounded). */
async function converge(b: Backend, op: FakeOp, req: () => ServerRequest, password = 'Secret-Pass-1') {
  for (let i = 0; i < 20; i++) {
    const seen = await b.observeServer(op, req());
    if (!seen.exists) {
      await b.createServer(op, req(), password);
      continue;
    }
    if (!seen.upToDate) {
      await b.updateServer(op, req(), seen);
      continue;
    }
    if (seen.ready) return seen;
  }
  throw new Error('did not converge');
}

describe('awsrds against moto', { timeout: 180_000 }, () => {
  it('creates the instance with everything from config and spec, then reports it ready', async () => {
    const b = await backend();
    const op = fakeOp();
    const spec: Partial<ServerSpec> = { size: { class: 'medium', storageGB: 30 }, backup: { retentionDays: 3 }, maintenance: { window: { weekday: 'Sat', starttime: '23:30' } } };
    // (moto rejects windows that wrap from Sunday to Monday, which AWS accepts; that case is a unit test.)
    expect(b.validateServer(request(spec, op))).toEqual([]);
    expect((await b.observeServer(op, request(spec, op))).exists).toBe(false);
    const progress = await b.createServer(op, request(spec, op), 'Secret-Pass-1');
    expect(['pending', 'ready']).toContain(progress.state);
    expect(op.state['identifier']).toBe('team-a-pg1');

    const db = await live('team-a-pg1');
    expect(db).toBeDefined();
    expect(db!.Engine).toBe('postgres');
    expect(db!.EngineVersion).toBe('17.4'); // newest in the catalogue
    expect(db!.DBInstanceClass).toBe('db.m5.large');
    expect(db!.StorageType).toBe('gp3');
    expect(db!.AllocatedStorage).toBe(30);
    expect(db!.BackupRetentionPeriod).toBe(3);
    expect(db!.PreferredMaintenanceWindow).toBe('sat:23:30-sun:00:30');
    expect(db!.MasterUsername).toBe('postgres');
    expect(db!.PubliclyAccessible).toBe(false);
    expect(db!.AvailabilityZone).toBe('eu-west-1b');
    expect(db!.MultiAZ).toBe(false);
    expect(db!.StorageEncrypted).toBe(true);
    expect(db!.DeletionProtection).toBe(false);
    expect(db!.DBSubnetGroup?.DBSubnetGroupName ?? 'db-subnets').toBe('db-subnets');
    expect(db!.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId)).toEqual([securityGroupId]);
    expect(fromTagList(db!.TagList)).toMatchObject({ [TAG_NAMESPACE]: 'team-a', [TAG_NAME]: 'pg1', [TAG_UID]: request().uid, team: 'team-a', app: 'pg-pg1' });
    // The password went to AWS once, in CreateDBInstance.
    const create = proxy.requests.find((r) => r.action === 'CreateDBInstance');
    expect(create?.params.get('MasterUserPassword')).toBe('Secret-Pass-1');

    const seen = await b.observeServer(op, request(spec, op));
    expect(seen).toMatchObject({ exists: true, upToDate: true, ready: true });
    expect(seen.endpoint).toMatchObject({ host: db!.Endpoint!.Address, port: 5432, sslmode: 'require', adminUsername: 'postgres' });
    expect(op.warnings).toEqual([]);
  });

  it('resolves a major version to its newest minor', async () => {
    const b = await backend();
    const op = fakeOp();
    await converge(b, op, () => request({ version: '16' }, op));
    expect((await live('team-a-pg1'))!.EngineVersion).toBe('16.8');
  });

  it('falls back to the default class with a warning for an unknown class', async () => {
    const b = await backend();
    const op = fakeOp();
    await converge(b, op, () => request({ size: { class: 'gigantic' } }, op));
    expect((await live('team-a-pg1'))!.DBInstanceClass).toBe('db.t4g.small');
    expect(op.warnings.map((w) => w.reason)).toContain('UnknownClass');
  });

  it('sizes by cpu and memory: smallest fitting class, else the instance table; limits are enforced', async () => {
    const b = await backend(config({ cpu_limit: 8 }));
    const op = fakeOp();
    await converge(b, op, () => request({ size: { cpu: 3, memoryMB: 8000 } }, op));
    expect((await live('team-a-pg1'))!.DBInstanceClass).toBe('db.m5.xlarge'); // class "big"
    const op2 = fakeOp();
    await converge(b, op2, () => request({ size: { cpu: 2, memoryMB: 12000 } }, op2, 'pg2'));
    expect((await live('team-a-pg2'))!.DBInstanceClass).toBe('db.m5.xlarge'); // 2 CPUs, 12 GB: big (4/16) beats nothing smaller configured
    expect(b.validateServer(request({ size: { cpu: 16 } }))).toEqual([expect.objectContaining({ field: 'spec.size.cpu' })]);
    const noBig = await backend(config({ classes: { small: { instance_type: 'db.t4g.small' } } }));
    const op3 = fakeOp();
    await converge(noBig, op3, () => request({ size: { cpu: 2, memoryMB: 12000 } }, op3, 'pg3'));
    expect((await live('team-a-pg3'))!.DBInstanceClass).toBe('db.r6g.large');
  });

  it('adopted from the Python operator: keeps the class it ran (it ignored cpu/memoryMB) while the spec is unchanged; python_objects: apply sizes at once', async () => {
    const b = await backend();
    const op = fakeOp();
    // The Python operator ran the default class for any spec without size.class.
    await converge(b, op, () => request({}, op));
    expect((await live('team-a-pg1'))!.DBInstanceClass).toBe('db.t4g.small');
    proxy.clear();
    const adopted = () => {
      const r = request({ size: { cpu: 4, memoryMB: 16000 } }, op);
      return { ...r, pythonOperatorSpec: structuredClone(r.spec) };
    };
    await converge(b, op, adopted);
    expect(count('ModifyDBInstance')).toBe(0);
    expect((await live('team-a-pg1'))!.DBInstanceClass).toBe('db.t4g.small');
    expect(op.warnings).toContainEqual(expect.objectContaining({ reason: 'AdoptedValueKept', message: expect.stringMatching(/selects db.m5.xlarge .*class 'small' \(db.t4g.small\).*backends.awsrds.python_objects: apply/) }));
    // the opt-in: this operator's sizing for adopted objects too
    await converge(await backend(config({ python_objects: 'apply' })), fakeOp(op.state), adopted);
    expect(count('ModifyDBInstance')).toBe(1);
    expect((await live('team-a-pg1'))!.DBInstanceClass).toBe('db.m5.xlarge');
  });

  it('updates only what differs, once, and never on a reconcile without changes', async () => {
    const b = await backend();
    const op = fakeOp();
    await converge(b, op, () => request({ version: '16', size: { class: 'small', storageGB: 20 } }, op));
    proxy.clear();
    // Nothing changed: observe says up to date, nothing is modified.
    await converge(b, op, () => request({ version: '16', size: { class: 'small', storageGB: 20 } }, op));
    expect(count('ModifyDBInstance')).toBe(0);
    expect(count('AddTagsToResource')).toBe(0);

    const changed = () => request({ version: '16', size: { class: 'medium', storageGB: 50 }, backup: { retentionDays: 14 }, maintenance: { window: { weekday: 'Wed', starttime: '03:00' } } }, op);
    await converge(b, op, changed);
    expect(count('ModifyDBInstance')).toBe(1);
    const modify = proxy.requests.find((r) => r.action === 'ModifyDBInstance')!.params;
    expect(modify.get('ApplyImmediately')).toBe('true');
    expect(modify.has('MasterUserPassword')).toBe(false);
    expect(modify.has('EngineVersion')).toBe(false);
    const db = (await live('team-a-pg1'))!;
    expect(db).toMatchObject({ DBInstanceClass: 'db.m5.large', AllocatedStorage: 50, StorageType: 'gp3', BackupRetentionPeriod: 14, PreferredMaintenanceWindow: 'wed:03:00-wed:04:00' });
    expect((await b.observeServer(op, changed())).upToDate).toBe(true);
  });

  it('never downgrades, upgrades a major on request, and syncs config drift', async () => {
    const b = await backend();
    const op = fakeOp();
    await converge(b, op, () => request({ version: '16' }, op));
    // An automatic minor upgrade happened in AWS: not a difference.
    await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'team-a-pg1', EngineVersion: '16.9', ApplyImmediately: true }));
    expect((await b.observeServer(op, request({ version: '16' }, op))).upToDate).toBe(true);
    expect((await b.observeServer(op, request({ version: '16.3' }, op))).upToDate).toBe(true);
    // Downgrade request: refused with a warning, nothing sent.
    proxy.clear();
    const down = await b.observeServer(op, request({ version: '15' }, op));
    expect(down.upToDate).toBe(true);
    expect(op.warnings.map((w) => w.reason)).toContain('VersionDowngradeRefused');
    expect(count('ModifyDBInstance')).toBe(0);
    // Major upgrade: newest 17 minor with AllowMajorVersionUpgrade.
    await converge(b, op, () => request({ version: '17' }, op));
    const up = proxy.requests.find((r) => r.action === 'ModifyDBInstance')!.params;
    expect(up.get('EngineVersion')).toBe('17.4');
    expect(up.get('AllowMajorVersionUpgrade')).toBe('true');
    expect((await live('team-a-pg1'))!.EngineVersion).toBe('17.4');
    // Drift: someone made it public in the console; the next reconcile puts it back.
    await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'team-a-pg1', PubliclyAccessible: true, ApplyImmediately: true }));
    await converge(b, op, () => request({ version: '17' }, op));
    expect((await live('team-a-pg1'))!.PubliclyAccessible).toBe(false);
  });

  it('sends a new master password on reset-password and nothing else', async () => {
    const b = await backend();
    const op = fakeOp();
    await converge(b, op, () => request({}, op));
    proxy.clear();
    const seen = await b.observeServer(op, request({}, op));
    const progress = await b.updateServer(op, request({}, op), seen, 'New-Pass-2');
    expect(progress.state).toBe('pending');
    const modifies = proxy.requests.filter((r) => r.action === 'ModifyDBInstance');
    expect(modifies).toHaveLength(1);
    expect(modifies[0]!.params.get('MasterUserPassword')).toBe('New-Pass-2');
    expect([...modifies[0]!.params.keys()].sort()).toEqual(['Action', 'ApplyImmediately', 'DBInstanceIdentifier', 'MasterUserPassword', 'Version']);
  });

  it('survives a crash right after CreateDBInstance: no second instance, then ready', async () => {
    // CreateDBInstance reaches AWS but its answer is lost (the operator "crashed").
    proxy.fail({ action: 'CreateDBInstance', times: 1, error: 'InternalFailure', afterForward: true });
    const first = await backend(config({ max_attempts: 1 }));
    const op = fakeOp();
    await expect(first.createServer(op, request({}, op), 'Secret-Pass-1')).rejects.toMatchObject({ kind: 'retryable' });
    expect(op.state['identifier']).toBe('team-a-pg1'); // intent was recorded before the call
    // A new operator process with the state from the CR.
    const second = await backend();
    const seen = await converge(second, op, () => request({}, op));
    expect(seen.ready).toBe(true);
    expect(count('CreateDBInstance')).toBe(1);
    const all = (await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? [];
    expect(all.map((d) => d.DBInstanceIdentifier)).toEqual(['team-a-pg1']);
  });

  it('keeps using the recorded identifier after name_pattern changes', async () => {
    const op = fakeOp();
    await converge(await backend(), op, () => request({}, op));
    const renamed = await backend(config({ name_pattern: 'pg-{namespace}-{name}' }));
    const seen = await renamed.observeServer(op, request({}, op));
    expect(seen.exists).toBe(true);
    expect((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances).toHaveLength(1);
  });

  it('refuses an instance that belongs to another PostgreSQLServer', async () => {
    const cfg = config({ name_overrides: [{ namespace: 'team-a', name: 'other', aws_identifier: 'team-a-pg1' }] });
    const b = await backend(cfg);
    const op = fakeOp();
    await converge(b, op, () => request({}, op));
    const otherOp = fakeOp();
    await expect(b.observeServer(otherOp, request({}, otherOp, 'other'))).rejects.toMatchObject({ kind: 'terminal', reason: 'NameConflict' });
    // And deleting the other CR leaves the instance alone.
    expect(await b.deleteServer(otherOp, request({}, otherOp, 'other'))).toEqual({ state: 'gone' });
    expect(await live('team-a-pg1')).toBeDefined();
  });

  it('deletes idempotently with a deterministic final snapshot', async () => {
    const b = await backend();
    const op = fakeOp();
    await converge(b, op, () => request({}, op));
    const first = await b.deleteServer(op, request({}, op));
    expect(first.state).toBe('pending');
    expect(await live('team-a-pg1')).toBeUndefined();
    const snaps = (await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'team-a-pg1', SnapshotType: 'manual' }))).DBSnapshots ?? [];
    expect(snaps.map((s) => s.DBSnapshotIdentifier)).toEqual(['team-a-pg1-final-0f1e2d3c']);
    // Retries after the instance is gone (or a restarted operator) just report gone.
    expect(await b.deleteServer(op, request({}, op))).toEqual({ state: 'gone' });
    expect(await (await backend()).deleteServer(op, request({}, op))).toEqual({ state: 'gone' });
    expect(count('DeleteDBInstance')).toBe(1);
  });

  it('skips the final snapshot when configured', async () => {
    const b = await backend(config({ final_snapshot: false }));
    const op = fakeOp();
    await converge(b, op, () => request({}, op));
    await b.deleteServer(op, request({}, op));
    expect(await live('team-a-pg1')).toBeUndefined();
    expect((await rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: 'manual' }))).DBSnapshots ?? []).toEqual([]);
  });

  it('reports deletion protection as a terminal error and keeps the instance', async () => {
    const b = await backend(config({ deletion_protection: true }));
    const op = fakeOp();
    await converge(b, op, () => request({}, op));
    expect((await live('team-a-pg1'))!.DeletionProtection).toBe(true);
    const err = await b.deleteServer(op, request({}, op)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err).toMatchObject({ kind: 'terminal', reason: 'DeletionProtected' });
    expect((err as Error).message).toContain('deletion protection');
    expect(await live('team-a-pg1')).toBeDefined();
    expect(count('DeleteDBInstance')).toBe(0);
  });

  it('waits through states moto never shows: creating, modifying, deleting', async () => {
    const b = await backend();
    const op = fakeOp();
    await b.createServer(op, request({}, op), 'Secret-Pass-1');
    // creating: no endpoint yet
    proxy.rewrite({ action: 'DescribeDBInstances', times: 1, rewrite: (x) => dropElement(setElement(x, 'DBInstanceStatus', 'creating'), 'Endpoint') });
    const creating = await b.observeServer(op, request({}, op));
    expect(creating).toMatchObject({ exists: true, ready: false });
    expect(creating.endpoint).toBeUndefined();
    // modifying while a change is due: no ModifyDBInstance until it is available again
    proxy.rewrite({ action: 'DescribeDBInstances', times: 1, rewrite: (x) => setElement(x, 'DBInstanceStatus', 'rebooting') });
    const bigger = request({ size: { storageGB: 40 } }, op);
    const seen = await b.observeServer(op, bigger);
    expect(seen.upToDate).toBe(false);
    const waiting = await b.updateServer(op, bigger, seen);
    expect(waiting).toMatchObject({ state: 'pending', pollAfterMs: 1000 });
    expect(count('ModifyDBInstance')).toBe(0);
    // deleting: a delete in progress is waited for, not repeated
    proxy.rewrite({ action: 'DescribeDBInstances', times: 1, rewrite: (x) => setElement(x, 'DBInstanceStatus', 'deleting') });
    expect((await b.deleteServer(op, request({}, op))).state).toBe('pending');
    expect(count('DeleteDBInstance')).toBe(0);
  });

  it('converges through throttling and 5xx errors without exceeding the request budget', async () => {
    const b = await backend(config({ requests_per_second: 3, max_attempts: 3 }));
    const op = fakeOp();
    proxy.fail({ times: 3, error: 'Throttling' });
    proxy.fail({ action: 'CreateDBInstance', times: 1, error: 'ServiceUnavailable' });
    proxy.fail({ action: 'DescribeDBInstances', times: 2, error: 'InternalFailure' });
    let errors = 0;
    for (let i = 0; i < 30; i++) {
      try {
        const seen = await b.observeServer(op, request({}, op));
        if (!seen.exists) await b.createServer(op, request({}, op), 'Secret-Pass-1');
        else if (seen.ready) break;
      } catch (err) {
        expect(err).toBeInstanceOf(BackendError);
        expect(['throttled', 'retryable']).toContain((err as BackendError).kind);
        errors++;
      }
    }
    expect((await live('team-a-pg1'))?.DBInstanceStatus).toBe('available');
    expect(count('CreateDBInstance')).toBeGreaterThanOrEqual(2); // the 503 was retried
    expect(proxy.requests.filter((r) => r.status >= 400).length).toBeGreaterThanOrEqual(6);
    // 3 tokens per second with a burst of 3: at most 6 requests leave in any second; arrival
    // times at the proxy may jitter by up to a second on a busy machine (+3). Below RDS's 12.
    expect(peakRequests(proxy.requests)).toBeLessThanOrEqual(9);
    expect(errors).toBeLessThan(30);
  });

  it('never logs or reports a password', async () => {
    let logged = '';
    const sink = new Writable({ write(chunk, _enc, done) { logged += String(chunk); done(); } });
    const log = createLogger({ level: 'trace' }, sink);
    const b = await definition.create({ config: config(), operatorConfig: {}, log, kubeConfig: {} as never, operatorNamespace: 'operator', generatePassword: () => 'x' });
    const op = { ...fakeOp(), log };
    op.saveState = fakeOp(op.state).saveState;
    const messages: string[] = [];
    for (let i = 0; i < 10; i++) {
      const seen = await b.observeServer(op, request({}, op));
      messages.push(seen.message ?? '');
      const p = seen.exists ? await b.updateServer(op, request({}, op), seen, 'Reset-Secret-9') : await b.createServer(op, request({}, op), 'Create-Secret-8');
      if (p.state === 'pending') messages.push(p.message);
      if (p.state === 'ready' && seen.exists) break;
    }
    proxy.fail({ action: 'ModifyDBInstance', times: 1, error: 'Throttling' });
    const err = await b.updateServer(op, request({}, fakeOp()), await b.observeServer(op, request({}, op)), 'Third-Secret-7').catch((e: unknown) => e);
    messages.push(String((err as Error | undefined)?.message));
    expect(proxy.requests.some((r) => r.params.get('MasterUserPassword') === 'Reset-Secret-9')).toBe(true);
    expect(logged).toContain('modifying RDS instance');
    for (const secret of ['Create-Secret-8', 'Reset-Secret-9', 'Third-Secret-7']) {
      expect(logged).not.toContain(secret);
      expect(messages.join('\n')).not.toContain(secret);
      expect(JSON.stringify(op.state)).not.toContain(secret);
    }
  });
});

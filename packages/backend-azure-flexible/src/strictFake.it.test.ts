/**
 * azurepostgresflexible against the ARM fake's stricter behaviours (issue 17): one change per
 * server at a time, busy reported as failed operations, expiring operation URLs, lock permissions,
 * declared patterns and allowedValues, zones, capability status, provider registration, Retry-After.
 * Each test failed against the backend before the fix it covers; all assert the state in the fake.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArmFake } from '@hybridcloud-postgresql/azure-fake';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { armClientOptions, staticTokenCredential } from '@hybridcloud-postgresql/azure-common';
import { converge, fakeOp, serverRequest, type FakeOp } from '@hybridcloud-postgresql/azure-common/testing';
import { resolveConfig, type BackendError, type DatabaseRequest, type ServerSpec } from '@hybridcloud-postgresql/core';
import backendDefinition, { createFlexibleBackend, type FlexibleConfig } from './index.js';

const SUB = '00000000-0000-0000-0000-000000000017';
const RG = 'strict-rg';
const serverId = (name: string) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;

let fake: ArmFake;

function config(flexible: Record<string, unknown> = {}, azure: Record<string, unknown> = {}): FlexibleConfig {
  const doc = {
    backend: 'azurepostgresflexible',
    backends: {
      azure: { subscription_id: SUB, location: 'westeurope', resource_group: RG, resource_manager_endpoint: fake.url, ca_file: fake.caFile, poll_interval_seconds: 1, max_retries: 0, ...azure },
      azurepostgresflexible: { classes: { dev: { name: 'Standard_B1ms', tier: 'Burstable' } }, default_class: 'dev', ...flexible },
    },
  };
  const loaded = resolveConfig(doc, { backendSchemas: { azurepostgresflexible: { configSchema: backendDefinition.configSchema, configParent: 'azure' } }, env: {} });
  return loaded.config.backends['azurepostgresflexible'] as unknown as FlexibleConfig;
}
const backend = (cfg: FlexibleConfig = config()) => createFlexibleBackend(cfg, staticTokenCredential(), { pollIntervalMs: 10 });

beforeAll(async () => {
  fake = await ArmFake.start({ operationMs: 30 });
  fake.seedResourceGroup(SUB, RG);
});
afterAll(async () => fake?.stop());

let n = 0;
let op: FakeOp;
let name: string;
beforeEach(() => {
  fake.busyMode = 'conflict';
  fake.setRole('Owner');
  op = fakeOp();
  name = `strict${++n}`;
});
const req = (spec: Partial<ServerSpec> = {}) => serverRequest(op, spec, name, 'team-a');
const id = () => serverId(`team-a-${name}`);
const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as BackendError);
const dbReq = (dbName: string, database: { charset?: string; collation?: string } = {}): DatabaseRequest => ({ namespace: 'team-a', name: dbName.replace(/_/g, '-'), uid: `uid-${dbName}`, spec: { serverRef: name, database } as never, databaseName: dbName, userName: dbName });

describe('azurepostgresflexible against the strict ARM fake', () => {
  it('sends one change per server at a time: nothing meets a busy server (no 409, no busy failure)', async () => {
    fake.busyMode = 'failedOperation'; // a change sent to a busy server would be accepted and then fail
    const rules = ['a', 'b', 'c'].map((r, i) => ({ name: r, startIp: `10.0.0.${i + 1}`, endIp: `10.0.0.${i + 1}` }));
    await converge(backend(), op, req({ network: { firewallRules: rules }, serverParameters: { work_mem: '8192', log_min_duration_statement: '250', max_connections: '100' } }), 'pw-12345678');
    expect(fake.children(id(), 'firewallRules').map((r) => r['name']).sort()).toEqual(['AllowAllWindowsAzureIps', 'a', 'b', 'c']);
    const cfg = Object.fromEntries(fake.children(id(), 'configurations').map((c) => [c['name'], c['properties']]));
    expect([cfg['work_mem'].value, cfg['log_min_duration_statement'].value, cfg['max_connections'].value]).toEqual(['8192', '250', '100']);
    expect(cfg['max_connections'].isConfigPendingRestart).toBe(false);
    expect(fake.failedOperations().filter((e) => JSON.stringify(e).includes(`team-a-${name}`))).toEqual([]);
    expect(fake.requests.filter((r) => r.status === 409 && r.path.includes(`team-a-${name}`))).toEqual([]);
  });

  it('busy as a failed operation (ServerIsNotReady … Current Server State = Updating) is sent again, not terminal', async () => {
    const b = backend();
    await converge(b, op, req(), 'pw-12345678');
    fake.failNextOperation({ method: 'PATCH', path: new RegExp(`flexibleServers/team-a-${name}$`) }, 'ServerIsNotReady', `Server 'team-a-${name}' is not ready for the operation. Current Server State = Updating`);
    await converge(b, op, req({ backup: { retentionDays: 21 } }), 'pw-12345678');
    expect(fake.get(id())!['properties'].backup.backupRetentionDays).toBe(21);
    expect(fake.writes(new RegExp(`flexibleServers/team-a-${name}$`)).filter((w) => w.method === 'PATCH')).toHaveLength(2);
  });

  it('an expired operation status URL (404) clears the saved operation and the resource is observed again', async () => {
    const b = backend();
    fake.operationMs = 60_000;
    try {
      expect((await b.createServer(op, req(), 'pw-12345678')).state).toBe('pending');
      expect(op.state['operation']).toContain('create');
      fake.finishOperations();
      fake.expireOperations();
    } finally {
      fake.operationMs = 30;
    }
    await converge(b, op, req(), 'pw-12345678');
    expect(op.state['operation']).toBeUndefined();
    expect(fake.get(id())!['properties'].state).toBe('Ready');
  });

  it('a failed restart for static parameters is retried: the restart marker survives until a restart succeeded', async () => {
    const b = backend();
    await converge(b, op, req(), 'pw-12345678');
    fake.failNextOperation({ method: 'POST', path: /\/restart$/ }, 'InternalServerError', 'An unexpected error occured while processing the request.');
    const err = await errorOf(converge(b, op, req({ serverParameters: { max_connections: '200' } }), 'pw-12345678'));
    expect(err?.reason).toBe('AzureOperationFailed');
    expect(fake.get(`${id()}/configurations/max_connections`)!['properties'].isConfigPendingRestart).toBe(true);
    await converge(b, op, req({ serverParameters: { max_connections: '200' } }), 'pw-12345678');
    expect(fake.get(`${id()}/configurations/max_connections`)!['properties'].isConfigPendingRestart).toBe(false);
    expect(op.state['restartRequired']).toBeUndefined();
  });

  it('parameter values: raw booleans become on/off, values outside allowedValues are InvalidSpec naming the field, before any call', async () => {
    const b = backend();
    await converge(b, op, req({ serverParameters: { log_connections: 'false' } }), 'pw-12345678');
    expect(fake.get(`${id()}/configurations/log_connections`)!['properties'].value).toBe('off');
    const before = fake.writes(/configurations/).length;
    const err = await errorOf(converge(b, op, req({ serverParameters: { work_mem: '64', log_statement: 'everything' } }), 'pw-12345678'));
    expect(err).toMatchObject({ kind: 'terminal', reason: 'InvalidSpec' });
    expect(err!.message).toContain('spec.serverParameters.work_mem');
    expect(err!.message).toContain('4096-2097151');
    expect(err!.message).toContain('spec.serverParameters.log_statement');
    expect(fake.writes(/configurations/).length).toBe(before);
  });

  it('firewall rule names follow the spec pattern: a name with a dot is InvalidSpec on its field (spec and config)', () => {
    const b = backend(config({}, { parameters: { network: { firewall_rules: [{ name: 'office.vpn', startIp: '1.2.3.4', endIp: '1.2.3.4' }] } } }));
    const problems = b.validateServer(req({ network: { firewallRules: [{ name: 'home-', startIp: '1.1.1.1', endIp: '1.1.1.1' }] } }));
    expect(problems.map((p) => p.field).sort()).toEqual(['backends.azurepostgresflexible.parameters.network.firewall_rules[0].name', 'spec.network.firewallRules[0].name']);
  });

  it('databases: names, charset and collation checked before any call, with the accepted spelling in the message', async () => {
    const b = backend();
    await converge(b, op, req(), 'pw-12345678');
    const before = fake.writes(/databases/).length;
    const err = await errorOf(b.database.createDatabase!(op, req(), dbReq('app_db', { charset: 'UTF-8', collation: 'en_US.UTF-8' })));
    expect(err).toMatchObject({ kind: 'terminal', reason: 'InvalidSpec' });
    expect(err!.message).toContain("spec.database.charset: charset 'UTF-8' is not accepted by Azure (letters, digits and '_' only); write 'UTF8'");
    expect(err!.message).toContain("write 'en_US.utf8'");
    expect((await errorOf(b.database.createDatabase!(op, req(), dbReq('9lives'))))!.message).toContain('metadata.name');
    expect(fake.writes(/databases/).length).toBe(before);
    await b.database.createDatabase!(op, req(), dbReq('app_db', { charset: 'UTF8', collation: 'en_US.utf8' }));
    expect(fake.get(`${id()}/databases/app_db`)!['properties']).toEqual({ charset: 'UTF8', collation: 'en_US.utf8' });
  });

  it('database operations do not wait for a Retry-After beyond their bound, and a busy server is retried, not terminal', async () => {
    const b = backend();
    await converge(b, op, req(), 'pw-12345678');
    fake.retryAfterSeconds = 90;
    try {
      const started = Date.now();
      await b.database.createDatabase!(op, req(), dbReq('slow_db'));
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(fake.get(`${id()}/databases/slow_db`)).toBeDefined();
    } finally {
      fake.retryAfterSeconds = 0;
    }
    fake.busyMode = 'failedOperation';
    fake.operationMs = 60_000;
    try {
      await b.updateServer(op, req({ network: { firewallRules: [{ name: 'x', startIp: '1.1.1.1', endIp: '1.1.1.1' }] } }), await b.observeServer(op, req({ network: { firewallRules: [{ name: 'x', startIp: '1.1.1.1', endIp: '1.1.1.1' }] } })));
      const err = await errorOf(b.database.createDatabase!(op, req(), dbReq('busy_db')));
      expect(err).toMatchObject({ kind: 'retryable', reason: 'AzureBusy' });
    } finally {
      fake.operationMs = 30;
      fake.finishOperations();
    }
    await b.database.createDatabase!(op, req(), dbReq('busy_db'));
    expect(fake.get(`${id()}/databases/busy_db`)).toBeDefined();
  });

  it('lock_from_deletion with a Contributor identity: firewall rules and parameters still applied, the lock reported with the role it needs', async () => {
    fake.setRole('Contributor');
    const b = backend(config({ lock_from_deletion: true }));
    await converge(b, op, req({ network: { firewallRules: [{ name: 'home', startIp: '5.6.7.8', endIp: '5.6.7.8' }] }, serverParameters: { work_mem: '8192' } }), 'pw-12345678');
    expect(fake.children(id(), 'firewallRules').map((r) => r['name'])).toContain('home');
    expect(fake.get(`${id()}/configurations/work_mem`)!['properties'].value).toBe('8192');
    expect(fake.lockNames(id())).toEqual([]);
    const warning = op.warnings.find((w) => w.reason === 'LockPermissionDenied');
    expect(warning?.message).toContain('Owner');
    expect(warning?.message).toContain('User Access Administrator');
    fake.setRole('Owner');
  });

  it('the operator\'s own lock forbids deleting firewall rules: reported, and the rest still converges', async () => {
    const b = backend(config({ lock_from_deletion: true }));
    await converge(b, op, req({ network: { firewallRules: [{ name: 'old', startIp: '5.6.7.8', endIp: '5.6.7.8' }] } }), 'pw-12345678');
    expect(fake.lockNames(id())).toEqual(['DoNotDeleteLock']);
    await converge(b, op, req({ network: { firewallRules: [] }, serverParameters: { work_mem: '16384' } }), 'pw-12345678');
    expect(fake.get(`${id()}/configurations/work_mem`)!['properties'].value).toBe('16384');
    expect(fake.children(id(), 'firewallRules').map((r) => r['name'])).toContain('old');
    expect(op.warnings.map((w) => w.reason)).toContain('FirewallRuleDeleteLocked');
  });

  it('availability zone: none by default (Azure picks), a configured zone the SKU does not offer is left out with a warning', async () => {
    fake.zones = ['2', '3'];
    try {
      await converge(backend(config({ availability_zone: '1' })), op, req(), 'pw-12345678');
      expect(fake.get(id())!['properties'].availabilityZone).toBe('2');
      expect(op.warnings.map((w) => w.reason)).toContain('AvailabilityZoneUnavailable');
      name = `${name}b`;
      op = fakeOp();
      await converge(backend(), op, req(), 'pw-12345678');
      expect(fake.get(id())!['properties'].availabilityZone).toBe('2');
    } finally {
      fake.zones = ['1', '2', '3'];
    }
  });

  it('latest never picks a Disabled or Visible version (CapabilityStatus)', async () => {
    fake.versionStatus = { '17': 'Visible' };
    try {
      await converge(backend(), op, req({ version: 'latest' }), 'pw-12345678');
      expect(fake.get(id())!['properties'].version).toBe('16');
    } finally {
      fake.versionStatus = {};
    }
  });

  it('a database operation (server Updating in Azure) does not make the server look not ready', async () => {
    const b = backend();
    await converge(b, op, req(), 'pw-12345678');
    fake.operationMs = 60_000;
    try {
      // A database being created (as the database reconciler does), still running in Azure.
      const client = new PostgreSQLManagementFlexibleServerClient(staticTokenCredential(), SUB, armClientOptions({ resource_manager_endpoint: fake.url, ca_file: fake.caFile, max_retries: 0 }));
      await client.databases.beginCreate(RG, `team-a-${name}`, 'long_db', { charset: 'UTF8', collation: 'en_US.utf8' });
      expect(fake.get(id())!['properties'].state).toBe('Updating');
      expect(await b.observeServer(op, req())).toMatchObject({ exists: true, ready: true, upToDate: true, endpoint: { host: `team-a-${name}.postgres.database.azure.com` } });
    } finally {
      fake.operationMs = 30;
      fake.finishOperations();
    }
  });

  it('MissingSubscriptionRegistration is reported with the command that registers the provider', async () => {
    fake.unregisterProvider('Microsoft.DBforPostgreSQL');
    try {
      const err = await errorOf(backend().observeServer(op, req()));
      expect(err).toMatchObject({ kind: 'terminal', reason: 'AzureProviderNotRegistered' });
      expect(err!.message).toContain('az provider register --namespace microsoft.dbforpostgresql');
    } finally {
      fake.registerProvider('Microsoft.DBforPostgreSQL');
    }
  });
});

/**
 * The (legacy) single server backend with the real Azure SDKs (arm-postgresql, arm-network,
 * arm-privatedns, arm-locks) against the local ARM fake.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArmFake } from '@hybridcloud-postgresql/azure-fake';
import { staticTokenCredential } from '@hybridcloud-postgresql/azure-common';
import { converge, deleteUntilGone, fakeOp, serverRequest, type FakeOp } from '@hybridcloud-postgresql/azure-common/testing';
import { type BackendError, resolveConfig, type ServerSpec } from '@hybridcloud-postgresql/core';
import definition, { createSingleBackend, type SingleConfig } from './index.js';

const SUB = '00000000-0000-0000-0000-000000000002';
const RG = 'single-rg';
const serverId = (name: string) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/servers/${name}`;
const subnet = (vnet: string, sn: string) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/${vnet}/subnets/${sn}`;

let fake: ArmFake;

function config(single: Record<string, unknown> = {}, azure: Record<string, unknown> = {}): SingleConfig {
  const doc = {
    backend: 'azurepostgres',
    backends: {
      azure: { subscription_id: SUB, location: 'westeurope', resource_group: RG, resource_manager_endpoint: fake.url, ca_file: fake.caFile, poll_interval_seconds: 1, ...azure },
      azurepostgres: { ...single },
    },
  };
  const loaded = resolveConfig(doc, { backendSchemas: { azurepostgres: { configSchema: definition.configSchema, configParent: 'azure' } }, env: {} });
  return loaded.config.backends['azurepostgres'] as unknown as SingleConfig;
}
const backend = (cfg: SingleConfig) => createSingleBackend(cfg, staticTokenCredential(), { pollIntervalMs: 10 });

beforeAll(async () => {
  fake = await ArmFake.start({ operationMs: 30 });
  fake.seedResourceGroup(SUB, RG);
  fake.seed(subnet('apps', 'default'));
  fake.seed(subnet('dbnet', 'endpoints'));
  fake.seed(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/privateDnsZones/postgres.database.azure.com`, { location: 'global' });
});
afterAll(async () => fake?.stop());

let n = 0;
let op: FakeOp;
let name: string;
beforeEach(() => {
  n++;
  op = fakeOp();
  name = `s${n}`;
});
const req = (spec: Partial<ServerSpec> = {}) => serverRequest(op, { size: { storageGB: 100 }, ...spec }, name, 'team-b');

describe('azurepostgres (legacy single server) against the ARM fake', () => {
  it('creates with SSL enforced, autogrow, infrastructure encryption, VNet and firewall rules, preload; warns that the service is retired', async () => {
    const b = backend(config({ network: { vnets: [{ vnet: 'apps', subnet: 'default' }] }, parameters: { infrastructure_encryption: 'Enabled' } }, { parameters: { network: { firewall_rules: [{ name: 'office', startIp: '1.2.3.4', endIp: '1.2.3.4' }] } } }));
    const spec: Partial<ServerSpec> = { version: 'latest', size: { cpu: 3, storageGB: 200, storageAutoGrow: true }, backup: { retentionDays: 10 }, extensions: ['pg_stat_statements', 'postgis', 'pg_stat_statements'] };
    const r = await converge(b, op, req(spec), 'pw-single-1');
    expect(r.endpoint).toMatchObject({ host: `team-b-${name}.postgres.database.azure.com`, adminUsername: `postgres@team-b-${name}`, sslmode: 'require' });
    expect(op.warnings.map((w) => w.reason)).toContain('LegacyBackend');
    const id = serverId(`team-b-${name}`);
    const s = fake.get(id)!;
    expect(s['sku']).toEqual({ name: 'GP_Gen5_4', tier: 'GeneralPurpose', family: 'Gen5', capacity: 4 });
    expect(s['properties']).toMatchObject({
      version: '11', sslEnforcement: 'Enabled', infrastructureEncryption: 'Enabled', publicNetworkAccess: 'Enabled', userVisibleState: 'Ready',
      storageProfile: { storageMB: 200 * 1024, storageAutogrow: 'Enabled', backupRetentionDays: 10, geoRedundantBackup: 'Disabled' },
    });
    expect(fake.adminPassword(id)).toBe('pw-single-1');
    expect(fake.children(id, 'firewallRules').map((f) => f['name']).sort()).toEqual(['AllowAllWindowsAzureIps', 'office']);
    expect(fake.children(id, 'virtualNetworkRules').map((v) => [v['name'], v['properties'].virtualNetworkSubnetId])).toEqual([['apps-default', subnet('apps', 'default')]]);
    expect(fake.get(`${id}/configurations/shared_preload_libraries`)!['properties'].value).toBe('pg_stat_statements');
    expect(fake.writes(new RegExp(`servers/team-b-${name}/restart$`))).toHaveLength(1);
    expect(b.database.loginName!(req(), 'app', r.endpoint)).toBe(`app@team-b-${name}`);

    const before = fake.writes().length;
    await converge(b, op, req(spec), 'pw-single-1');
    expect(fake.writes().length).toBe(before);
  });

  it('creates a private endpoint with its DNS A record, and deletes both with the server', async () => {
    const b = backend(config({ network: { create_private_endpoint: true, public_access: false } }, { virtual_network: 'dbnet', subnet: 'endpoints' }));
    await converge(b, op, req(), 'pw-single-2');
    const server = `team-b-${name}`;
    const pe = fake.get(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/privateEndpoints/${server}`)!;
    expect(pe['properties'].subnet.id).toBe(subnet('dbnet', 'endpoints'));
    expect(pe['properties'].privateLinkServiceConnections[0].properties).toMatchObject({ privateLinkServiceId: serverId(server), groupIds: ['postgresqlServer'] });
    const ip = pe['properties'].customDnsConfigs[0].ipAddresses[0];
    const record = fake.get(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/privateDnsZones/postgres.database.azure.com/A/${server}`)!;
    expect(record['properties']).toMatchObject({ ttl: 30, aRecords: [{ ipv4Address: ip }] });
    expect(fake.get(serverId(server))!['properties'].publicNetworkAccess).toBe('Disabled');
    expect(fake.children(serverId(server), 'firewallRules')).toEqual([]);

    await deleteUntilGone(b, op, req());
    expect(fake.get(serverId(server))).toBeUndefined();
    expect(fake.get(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/privateEndpoints/${server}`)).toBeUndefined();
    expect(fake.get(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/privateDnsZones/postgres.database.azure.com/A/${server}`)).toBeUndefined();
  });

  it('a lock blocks deletion (DeletionLocked); server_delete_fake only tags', async () => {
    const locked = backend(config({ lock_from_deletion: true }));
    await converge(locked, op, req(), 'pw-single-3');
    const id = serverId(`team-b-${name}`);
    expect(fake.lockNames(id)).toEqual(['DoNotDeleteLock']);
    const err = await locked.deleteServer(op, req()).catch((e: unknown) => e);
    expect((err as BackendError).reason).toBe('DeletionLocked');
    fake.removeLock(id, 'DoNotDeleteLock');
    fake.mutate(id, { tags: { ...fake.get(id)!['tags'], costcenter: '7' } });
    await deleteUntilGone(backend(config({ server_delete_fake: true })), op, req());
    expect(fake.get(id)!['tags']).toMatchObject({ costcenter: '7', 'hybridcloud-postgresql-operator:marked-for-deletion': 'yes' });
  });

  it('a failed creation is reported with Azure\'s message; a restarted operator resumes a running one', async () => {
    fake.failNextOperation({ method: 'PUT', path: new RegExp(`servers/team-b-${name}$`) }, 'InternalServerError', 'An unexpected error occured while processing the request.');
    const err = await converge(backend(config()), op, req(), 'pw-single-4').catch((e: unknown) => e);
    expect((err as BackendError).reason, String((err as Error)?.stack)).toBe('AzureOperationFailed');
    expect((err as BackendError).message).toContain('unexpected error occured');

    fake.operationMs = 1500;
    try {
      const p = await backend(config()).createServer(op, req(), 'pw-single-4');
      expect(p.state).toBe('pending');
      const seen = await backend(config()).observeServer(fakeOp(op.state), { ...req(), state: op.state });
      expect(seen).toMatchObject({ exists: true, ready: false });
      await converge(backend(config()), fakeOp(op.state), req(), 'pw-single-4');
      expect(fake.writes(new RegExp(`servers/team-b-${name}$`)).filter((w) => w.method === 'PUT')).toHaveLength(2); // the failed one and this one
    } finally {
      fake.operationMs = 30;
    }
  });

  it('creates and deletes databases through ARM (single server defaults)', async () => {
    const b = backend(config());
    await converge(b, op, req(), 'pw-single-5');
    const id = serverId(`team-b-${name}`);
    const db = { namespace: 'team-b', name: 'app', uid: 'u', spec: { serverRef: { name }, credentialsSecret: 'c' }, databaseName: 'app', userName: 'app' };
    await b.database.createDatabase!(op, req(), db);
    expect(fake.get(`${id}/databases/app`)!['properties']).toEqual({ charset: 'UTF8', collation: 'English_United States.1252' });
    expect(await b.database.deleteDatabase!(op, req(), db)).toBe(true);
    expect(fake.get(`${id}/databases/app`)).toBeUndefined();
  });

  it('database operations poll at their own interval whatever Retry-After asks (90 s, more than their 60 s bound)', async () => {
    const b = backend(config());
    await converge(b, op, req(), 'pw-single-6');
    const id = serverId(`team-b-${name}`);
    const db = { namespace: 'team-b', name: 'slow', uid: 'u', spec: { serverRef: { name }, credentialsSecret: 'c' }, databaseName: 'slow', userName: 'slow' };
    fake.retryAfterSeconds = 90;
    try {
      const started = Date.now();
      await b.database.createDatabase!(op, req(), db);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      fake.retryAfterSeconds = 0;
    }
    expect(fake.get(`${id}/databases/slow`)).toBeDefined();
  });

  it('server parameters: raw booleans sent as on/off, values outside allowedValues are InvalidSpec naming the field before any call', async () => {
    const b = backend(config());
    await converge(b, op, req({ serverParameters: { log_connections: 'false' } }), 'pw-single-7');
    const id = serverId(`team-b-${name}`);
    expect(fake.get(`${id}/configurations/log_connections`)!['properties'].value).toBe('off');
    const before = fake.writes(/configurations/).length;
    const err = await converge(b, op, req({ serverParameters: { work_mem: '1' } }), 'pw-single-7').then(() => undefined, (e: unknown) => e as { kind?: string; reason?: string; message: string });
    expect(err).toMatchObject({ kind: 'terminal', reason: 'InvalidSpec' });
    expect(err!.message).toContain('spec.serverParameters.work_mem');
    expect(fake.writes(/configurations/).length).toBe(before);
  });

  it('validates the 100 GB minimum and limits', () => {
    const b = backend(config({ cpu_limit: 4 }));
    expect(b.validateServer(req({ size: { storageGB: 50 } }))[0]?.message).toContain('at least 100');
    expect(b.validateServer(req({ size: { cpu: 8, storageGB: 100 } }))[0]?.field).toBe('spec.size.cpu');
  });
});

/**
 * The flexible backend with the real Azure SDK against the local ARM fake (HTTPS, LROs, locks,
 * throttling). Each test drives the backend the way core does and asserts what exists in "Azure".
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArmFake } from '@hybridcloud-postgresql/azure-fake';
import { staticTokenCredential } from '@hybridcloud-postgresql/azure-common';
import { converge, deleteUntilGone, fakeOp, serverRequest, type FakeOp } from '@hybridcloud-postgresql/azure-common/testing';
import { BackendError, resolveConfig, type ServerSpec } from '@hybridcloud-postgresql/core';
import backendDefinition, { createFlexibleBackend, type FlexibleConfig } from './index.js';

const SUB = '00000000-0000-0000-0000-000000000001';
const RG = 'db-rg';
const serverId = (name: string, rg = RG) => `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;

let fake: ArmFake;

/** Config as an admin writes it: shared keys under backends.azure, merged by core's loader. */
function config(flexible: Record<string, unknown> = {}, azure: Record<string, unknown> = {}): FlexibleConfig {
  const doc = {
    backend: 'azurepostgresflexible',
    backends: {
      azure: {
        subscription_id: SUB,
        location: 'westeurope',
        resource_group: RG,
        name_pattern: '{namespace}-{name}',
        resource_manager_endpoint: fake.url,
        ca_file: fake.caFile,
        poll_interval_seconds: 1,
        tags: { team: '{namespace}', 'owner-{name}': 'x' },
        parameters: { network: { firewall_rules: [{ name: 'office', startIp: '1.2.3.4', endIp: '1.2.3.4' }] } },
        ...azure,
      },
      azurepostgresflexible: {
        classes: { dev: { name: 'Standard_B1ms', tier: 'Burstable' }, small: { name: 'Standard_D2ds_v4', tier: 'GeneralPurpose' } },
        ...flexible,
      },
    },
  };
  const loaded = resolveConfig(doc, { backendSchemas: { azurepostgresflexible: { configSchema: backendDefinition.configSchema, configParent: 'azure' } }, env: {} });
  return loaded.config.backends['azurepostgresflexible'] as unknown as FlexibleConfig;
}

const backend = (cfg: FlexibleConfig) => createFlexibleBackend(cfg, staticTokenCredential(), { pollIntervalMs: 10 });

beforeAll(async () => {
  fake = await ArmFake.start({ operationMs: 30, flexibleVersions: ['14', '15', '16', '17'] });
  fake.seedResourceGroup(SUB, RG);
});
afterAll(async () => fake?.stop());

let n = 0;
let op: FakeOp;
let name: string;
beforeEach(() => {
  n++;
  op = fakeOp();
  name = `srv${n}`;
});
const req = (spec: Partial<ServerSpec> = {}) => serverRequest(op, spec, name, 'team-a');

describe('azurepostgresflexible against the ARM fake', () => {
  it('creates a server with everything the spec asks for, then changes nothing on resync', async () => {
    const b = backend(config({ lock_from_deletion: true }));
    const spec: Partial<ServerSpec> = {
      version: 'latest',
      size: { cpu: 4, memoryMB: 20000, storageGB: 100, storageAutoGrow: true },
      backup: { retentionDays: 14, geoRedundant: true },
      highavailability: { enabled: true },
      maintenance: { window: { weekday: 'Wed', starttime: '03:30' } },
      network: { firewallRules: [{ name: 'home', startIp: '5.6.7.8', endIp: '5.6.7.9' }] },
      extensions: ['pg_cron', 'PostGIS', 'timescaledb', 'pg_cron'],
      serverParameters: { work_mem: '8192' },
    };
    const r = await converge(b, op, req(spec), 'Secret-Pw-1');
    expect(r.endpoint).toEqual({ host: `team-a-${name}.postgres.database.azure.com`, port: 5432, sslmode: 'require', adminUsername: 'postgres', adminDatabase: 'postgres' });

    const id = serverId(`team-a-${name}`);
    const s = fake.get(id)!;
    expect(s['sku']).toEqual({ name: 'Standard_E4ds_v4', tier: 'MemoryOptimized' }); // 20000 MB > 4 × 4 GB
    expect(s['properties']).toMatchObject({
      version: '17', // newest the capabilities API offers
      state: 'Ready',
      administratorLogin: 'postgres',
      storage: { storageSizeGB: 128, autoGrow: 'Enabled' },
      backup: { backupRetentionDays: 14, geoRedundantBackup: 'Enabled' },
      highAvailability: { mode: 'ZoneRedundant', standbyAvailabilityZone: '2' },
      maintenanceWindow: { customWindow: 'Enabled', dayOfWeek: 3, startHour: 3, startMinute: 30 }, // ARM: Sunday = 0
      availabilityZone: '1',
      network: { publicNetworkAccess: 'Enabled' },
    });
    expect(s['properties']['administratorLoginPassword']).toBeUndefined();
    expect(fake.adminPassword(id)).toBe('Secret-Pw-1');
    expect(s['tags']).toEqual({ team: 'team-a', [`owner-${name}`]: 'x', 'hybridcloud-postgresql-operator:namespace': 'team-a', 'hybridcloud-postgresql-operator:name': name });

    const rules = Object.fromEntries(fake.children(id, 'firewallRules').map((f) => [f['name'], f['properties']]));
    expect(rules).toEqual({
      AllowAllWindowsAzureIps: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' },
      office: { startIpAddress: '1.2.3.4', endIpAddress: '1.2.3.4' },
      home: { startIpAddress: '5.6.7.8', endIpAddress: '5.6.7.9' },
    });
    const cfg = Object.fromEntries(fake.children(id, 'configurations').map((c) => [c['name'], c['properties']]));
    expect(cfg['azure.extensions'].value).toBe('pg_cron,postgis,timescaledb');
    expect(cfg['shared_preload_libraries'].value).toBe('pg_cron,pg_stat_statements,timescaledb'); // no duplicates
    expect(cfg['work_mem'].value).toBe('8192');
    expect(cfg['shared_preload_libraries'].isConfigPendingRestart).toBe(false);
    expect(fake.writes(new RegExp(`/flexibleServers/team-a-${name}/restart$`))).toHaveLength(1);
    expect(fake.lockNames(id)).toEqual(['DoNotDeleteLock']);

    // Resync: nothing is written.
    const before = fake.writes().length;
    await converge(b, op, req(spec), 'Secret-Pw-1');
    expect(fake.writes().length).toBe(before);
  });

  it('adopted from the Python operator with an unchanged spec: keeps its SKU, shifted maintenance day and added extensions; zero writes', async () => {
    // What the Python operator left for the spec below: cpu sizing (default 2 → D2ds_v4, it used a
    // class only with size.class), Wednesday sent as day 2 (Tuesday in ARM), pg_cron and
    // pg_stat_statements appended to the extensions. Made here with the same values spelled out.
    const leftover: Partial<ServerSpec> = { size: { cpu: 2 }, highavailability: { enabled: true }, maintenance: { window: { weekday: 'Tue', starttime: '03:00' } }, extensions: ['postgis', 'pg_cron', 'pg_stat_statements'] };
    await converge(backend(config()), op, req(leftover), 'Py-Secret-1');
    const id = serverId(`team-a-${name}`);
    const writes = fake.writes().length;

    const spec: Partial<ServerSpec> = { highavailability: { enabled: true }, maintenance: { window: { weekday: 'Wed', starttime: '03:00' } }, extensions: ['postgis'] };
    const adopted = { ...req(spec), pythonOperatorSpec: req(spec).spec };
    const withDefault = config({ default_class: 'dev' }); // Burstable: this operator's reading of a spec without size
    const b = backend(withDefault);
    expect(b.validateServer(adopted)).toEqual([]);
    await converge(b, op, adopted, 'Py-Secret-1');
    expect(fake.writes().length).toBe(writes);
    const s = fake.get(id)!;
    expect(s['sku']).toEqual({ name: 'Standard_D2ds_v4', tier: 'GeneralPurpose' });
    expect(s['properties']['maintenanceWindow']).toMatchObject({ dayOfWeek: 2, startHour: 3 });
    const cfg = Object.fromEntries(fake.children(id, 'configurations').map((c) => [c['name'], c['properties']]));
    expect(cfg['azure.extensions'].value).toBe('pg_cron,pg_stat_statements,postgis');
    const kept = op.warnings.filter((w) => w.reason === 'AdoptedValueKept').map((w) => w.message).join('\n');
    expect(kept).toMatch(/would run Standard_B1ms .*Python operator chose Standard_D2ds_v4/);
    expect(kept).toMatch(/stays on Tue .*weekday says Wed/);
    expect(kept).toMatch(/pg_cron and pg_stat_statements stay in azure.extensions/);
    expect(kept).toContain('python_objects: apply');
    // With the opt-in the new reading applies: HA on the Burstable default class is refused before any call.
    expect(backend(config({ default_class: 'dev', python_objects: 'apply' })).validateServer(adopted)).toEqual([expect.objectContaining({ field: 'spec.highavailability.enabled' })]);
  });

  it('diffs firewall rules: writes and deletes only what differs', async () => {
    const b = backend(config());
    const rules = [
      { name: 'a', startIp: '10.1.0.1', endIp: '10.1.0.1' },
      { name: 'b', startIp: '10.2.0.1', endIp: '10.2.0.9' },
      { name: 'c', startIp: '10.3.0.1', endIp: '10.3.0.1' },
    ];
    await converge(b, op, req({ network: { firewallRules: rules } }), 'pw-12345678');
    const id = serverId(`team-a-${name}`);
    fake.requests.length = 0;
    await converge(b, op, req({ network: { firewallRules: [rules[0]!, { name: 'b', startIp: '10.2.0.1', endIp: '10.2.0.200' }] } }), 'pw-12345678');
    const writes = fake.writes(/firewallRules/).map((w) => `${w.method} ${w.path.split('/').pop()}`);
    expect(writes.sort()).toEqual(['DELETE c', 'PUT b']);
    expect(fake.children(id, 'firewallRules').map((r) => r['name']).sort()).toEqual(['AllowAllWindowsAzureIps', 'a', 'b', 'office']);
  });

  it('sets named server parameters, restarts only for static ones, resets others only when the admin opts in', async () => {
    const b = backend(config());
    await converge(b, op, req({ serverParameters: { work_mem: '16384' } }), 'pw-12345678');
    const id = serverId(`team-a-${name}`);
    expect(fake.writes(/\/restart$/).filter((w) => w.path.includes(name))).toHaveLength(0); // dynamic only
    fake.mutate(`${id}/configurations/log_min_duration_statement`, { properties: { value: '250' } }); // set outside the operator
    await converge(b, op, req({ serverParameters: { work_mem: '16384', max_connections: '200' } }), 'pw-12345678');
    expect(fake.writes(new RegExp(`${name}/restart$`))).toHaveLength(1);
    expect(fake.get(`${id}/configurations/max_connections`)!['properties'].value).toBe('200');
    expect(fake.get(`${id}/configurations/log_min_duration_statement`)!['properties'].value).toBe('250'); // kept

    const resetting = backend(config({ reset_unlisted_server_parameters: true }));
    await converge(resetting, op, req({ serverParameters: { max_connections: '200' } }), 'pw-12345678');
    expect(fake.get(`${id}/configurations/log_min_duration_statement`)!['properties'].value).toBe('-1');
    expect(fake.get(`${id}/configurations/work_mem`)!['properties'].value).toBe('4096');
    expect(fake.get(`${id}/configurations/max_connections`)!['properties'].value).toBe('200');
    expect(fake.writes(new RegExp(`${name}/restart$`))).toHaveLength(1); // both reset parameters are dynamic
    expect(op.warnings.filter((w) => w.reason === 'UnknownServerParameter')).toEqual([]);
  });

  it('reports a failed creation with Azure\'s message and creates again afterwards', async () => {
    const b = backend(config());
    fake.failNextOperation({ method: 'PUT', path: new RegExp(`flexibleServers/team-a-${name}$`) }, 'QuotaExceeded', 'Operation could not be completed as it results in exceeding approved Total Regional Cores quota.');
    const err = await converge(b, op, req(), 'pw-12345678').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).kind).toBe('terminal');
    expect((err as BackendError).reason).toBe('AzureOperationFailed');
    expect((err as BackendError).message).toContain('exceeding approved Total Regional Cores quota');
    expect(fake.get(serverId(`team-a-${name}`))).toBeUndefined();
    expect(op.state['operation']).toBeUndefined();
    await converge(b, op, req(), 'pw-12345678');
    expect(fake.get(serverId(`team-a-${name}`))!['properties'].state).toBe('Ready');
  });

  it('continues an operation after a restart of the operator instead of creating twice', async () => {
    fake.operationMs = 1500;
    try {
      const first = backend(config());
      const r = req();
      const seen = await first.observeServer(op, r);
      expect(seen.exists).toBe(false);
      const p = await first.createServer(op, r, 'pw-12345678');
      expect(p.state).toBe('pending');
      expect(op.state['operation']).toContain('create');
      // "Restart": a new backend with only the state kept on the CR.
      const restarted = backend(config());
      const seenAgain = await restarted.observeServer(fakeOp(op.state), { ...r, state: op.state });
      expect(seenAgain).toMatchObject({ exists: true, ready: false });
      expect(seenAgain.message).toContain('still working on the create');
      await converge(restarted, fakeOp(op.state), r, 'pw-12345678');
      expect(fake.writes(new RegExp(`flexibleServers/team-a-${name}$`)).filter((w) => w.method === 'PUT')).toHaveLength(1);
    } finally {
      fake.operationMs = 30;
    }
  });

  it('falls back to the default version with a warning for a version Azure does not offer', async () => {
    const b = backend(config({ default_version: '16' }));
    await converge(b, op, req({ version: '9.6' }), 'pw-12345678');
    expect(fake.get(serverId(`team-a-${name}`))!['properties'].version).toBe('16');
    expect(op.warnings.map((w) => w.reason)).toContain('UnsupportedVersion');
  });

  it('changes the admin password only when asked, and only once', async () => {
    const b = backend(config());
    await converge(b, op, req(), 'first-pw-123');
    const id = serverId(`team-a-${name}`);
    fake.requests.length = 0;
    await converge(b, op, req(), 'first-pw-123', { newPassword: 'second-pw-456' });
    expect(fake.adminPassword(id)).toBe('second-pw-456');
    expect(fake.writes(new RegExp(`flexibleServers/team-a-${name}$`)).map((w) => w.method)).toEqual(['PATCH']);
  });

  it('a lock blocks deletion with a clear reason; after the lock is removed the server is deleted', async () => {
    const b = backend(config({ lock_from_deletion: true }));
    await converge(b, op, req(), 'pw-12345678');
    const id = serverId(`team-a-${name}`);
    const err = await b.deleteServer(op, req()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).reason).toBe('DeletionLocked');
    expect((err as BackendError).message).toContain(`az lock delete --ids '${id}/providers/Microsoft.Authorization/locks/DoNotDeleteLock'`);
    expect(fake.get(id)).toBeDefined();
    fake.removeLock(id, 'DoNotDeleteLock');
    await deleteUntilGone(b, op, req());
    expect(fake.get(id)).toBeUndefined();
  });

  it('a lock on the resource group also blocks, reported the same way', async () => {
    const b = backend(config());
    await converge(b, op, req(), 'pw-12345678');
    const rg = `/subscriptions/${SUB}/resourceGroups/${RG}`;
    fake.addLock(rg, 'rg-lock');
    try {
      const err = await b.deleteServer(op, req()).catch((e: unknown) => e);
      expect((err as BackendError).reason).toBe('DeletionLocked');
      expect((err as BackendError).message).toContain('rg-lock');
    } finally {
      fake.removeLock(rg, 'rg-lock');
    }
    await deleteUntilGone(b, op, req());
  });

  it('server_delete_fake only tags the server and keeps the user\'s tags', async () => {
    const b = backend(config({ server_delete_fake: true }));
    await converge(b, op, req(), 'pw-12345678');
    const id = serverId(`team-a-${name}`);
    fake.mutate(id, { tags: { costcenter: '42' } });
    await deleteUntilGone(b, op, req());
    fake.finishOperations();
    const s = fake.get(id)!;
    expect(s['properties'].state).toBe('Ready');
    expect(s['tags']).toMatchObject({ costcenter: '42', team: 'team-a', 'hybridcloud-postgresql-operator:marked-for-deletion': 'yes' });
    expect(fake.writes(new RegExp(`flexibleServers/team-a-${name}$`)).filter((w) => w.method === 'DELETE')).toHaveLength(0);
  });

  it('converges through throttling (429 with Retry-After)', async () => {
    const b = backend(config({ max_retries: 3 }));
    fake.throttle(2, 1);
    await converge(b, op, req(), 'pw-12345678');
    expect(fake.requests.filter((r) => r.status === 429)).toHaveLength(2);
    expect(fake.get(serverId(`team-a-${name}`))!['properties'].state).toBe('Ready');
  });

  it('reports throttling that outlasts the SDK retries as throttled with the Retry-After', async () => {
    const b = backend(config({ max_retries: 0 }));
    fake.throttle(1, 7);
    const err = await b.observeServer(op, req()).catch((e: unknown) => e);
    expect((err as BackendError).kind).toBe('throttled');
    expect((err as BackendError).retryAfterMs).toBe(7000);
  });

  it('integrates into a virtual network when public_access is false (DNS zone in another resource group) and reports a later change', async () => {
    fake.seedResourceGroup(SUB, 'net-rg');
    fake.seed(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/db`, { properties: { delegations: [{ properties: { serviceName: 'Microsoft.DBforPostgreSQL/flexibleServers' } }] } });
    const zoneId = `/subscriptions/${SUB}/resourceGroups/net-rg/providers/Microsoft.Network/privateDnsZones/team.postgres.database.azure.com`;
    fake.seed(zoneId, { location: 'global' });
    const vnet = config({ dns_zone: { name: 'team.postgres.database.azure.com', resource_group: 'net-rg' } }, { network: { public_access: false }, virtual_network: 'vnet1', subnet: 'db' });
    await converge(backend(vnet), op, req({ network: { firewallRules: [{ name: 'x', startIp: '1.1.1.1', endIp: '1.1.1.1' }] } }), 'pw-12345678');
    const id = serverId(`team-a-${name}`);
    expect(fake.get(id)!['properties'].network).toEqual({
      publicNetworkAccess: 'Disabled',
      delegatedSubnetResourceId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/db`,
      privateDnsZoneArmResourceId: zoneId,
    });
    expect(fake.children(id, 'firewallRules')).toEqual([]); // no firewall in a virtual network

    // The admin flips the config back to public access: reported, not attempted.
    await converge(backend(config()), op, req(), 'pw-12345678');
    expect(op.warnings.find((w) => w.reason === 'NetworkModeImmutable')?.message).toContain('cannot change this after creation');
    expect(fake.get(id)!['properties'].network.publicNetworkAccess).toBe('Disabled');
  });

  it('the dns_zone string form means a zone in the server resource group', async () => {
    fake.seed(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet2/subnets/db`);
    fake.seed(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/privateDnsZones/privatelink.postgres.database.azure.com`, { location: 'global' });
    const cfg = config({ dns_zone: 'privatelink.postgres.database.azure.com' }, { network: { public_access: false }, virtual_network: 'vnet2', subnet: 'db' });
    await converge(backend(cfg), op, req(), 'pw-12345678');
    expect(fake.get(serverId(`team-a-${name}`))!['properties'].network.privateDnsZoneArmResourceId).toBe(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/privateDnsZones/privatelink.postgres.database.azure.com`);
  });

  it('validates limits, minimum storage and names', () => {
    const b = backend(config({ cpu_limit: 8, storage_limit_gb: 512 }));
    const problems = b.validateServer(req({ size: { cpu: 16, storageGB: 1024 } }));
    expect(problems.map((p) => p.field).sort()).toEqual(['spec.size.cpu', 'spec.size.storageGB']);
    expect(b.validateServer(req({ size: { storageGB: 10 } }))[0]?.message).toContain('at least 32');
    expect(b.validateServer(serverRequest(op, {}, 'x'.repeat(60), 'team-a'))[0]?.field).toBe('metadata.name');
    expect(b.validateServer(req({ size: { class: 'dev' }, highavailability: { enabled: true } }))[0]?.field).toBe('spec.highavailability.enabled');
  });
});

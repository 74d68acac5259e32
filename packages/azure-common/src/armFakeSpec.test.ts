/**
 * The ARM fake follows Microsoft.DBforPostgreSQL 2025-08-01 (azure-rest-api-specs:
 * specification/postgresql/resource-manager/Microsoft.DBforPostgreSQL/PostgreSQL/stable/2025-08-01/openapi.json)
 * and Microsoft.Authorization locks 2020-05-01 for what the backends call. One test per behaviour;
 * each names the part of the spec (or of ARM's documented behaviour) it follows.
 */
import { request } from 'node:https';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArmFake } from '@hybridcloud-postgresql/azure-fake';

const SUB = '00000000-0000-0000-0000-0000000000f1';
const v = '?api-version=2025-08-01';
let fake: ArmFake;

beforeAll(async () => {
  fake = await ArmFake.start({ operationMs: 60_000 }); // operations end only when a test says so
  fake.seedResourceGroup(SUB, 'rg');
});
afterAll(async () => fake?.stop());

type Answer = { status: number; headers: Record<string, unknown>; body: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
function call(method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${path.startsWith('https:') ? '' : fake.url}${path}`, { method, headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, ca: fake.caPem }, (res) => {
      let data = '';
      res.on('data', (c: Buffer) => (data += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data ? JSON.parse(data) : undefined }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
const opStatus = async (a: Answer) => (await call('GET', String(a.headers['azure-asyncoperation']))).body;

let n = 0;
let server: string;
const createBody = (props: Record<string, unknown> = {}) => ({ location: 'westeurope', sku: { name: 'Standard_B1ms', tier: 'Burstable' }, properties: { administratorLogin: 'a', administratorLoginPassword: 'pw-1234567', version: '16', ...props } });
beforeEach(async () => {
  fake.busyMode = 'conflict';
  fake.setRole('Owner');
  server = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/spec${++n}`;
  expect((await call('PUT', `${server}${v}`, createBody())).status).toBe(201);
  fake.finishOperations();
});

describe('ARM fake: Microsoft.DBforPostgreSQL 2025-08-01', () => {
  it('FirewallRules_CreateOrUpdate / Configurations_Put / Databases_Create: the server is Updating while a child operation runs, a parallel change gets 409 ServerBusy', async () => {
    const fw = await call('PUT', `${server}/firewallRules/a${v}`, { properties: { startIpAddress: '1.1.1.1', endIpAddress: '1.1.1.1' } });
    expect([200, 201, 202]).toContain(fw.status);
    expect(fake.get(server)!['properties'].state).toBe('Updating');
    expect(await call('PUT', `${server}/firewallRules/b${v}`, { properties: { startIpAddress: '2.2.2.2', endIpAddress: '2.2.2.2' } })).toMatchObject({ status: 409, body: { error: { code: 'ServerBusy' } } });
    expect(await call('PUT', `${server}/configurations/work_mem${v}`, { properties: { value: '8192', source: 'user-override' } })).toMatchObject({ status: 409, body: { error: { code: 'ServerBusy' } } });
    expect(await call('PUT', `${server}/databases/db1${v}`, { properties: { charset: 'UTF8', collation: 'en_US.utf8' } })).toMatchObject({ status: 409 });
    fake.finishOperations();
    expect(fake.get(server)!['properties'].state).toBe('Ready');
    expect((await opStatus(fw)).status).toBe('Succeeded');
    expect([200, 201, 202]).toContain((await call('PUT', `${server}/firewallRules/b${v}`, { properties: { startIpAddress: '2.2.2.2', endIpAddress: '2.2.2.2' } })).status);
  });

  it('busy as a failed long-running operation: ResourceDeploymentFailure with a ServerBusy detail (child), ServerIsNotReady … Current Server State = Updating (server)', async () => {
    fake.busyMode = 'failedOperation';
    await call('PUT', `${server}/configurations/work_mem${v}`, { properties: { value: '8192', source: 'user-override' } });
    const second = await call('PUT', `${server}/configurations/log_min_duration_statement${v}`, { properties: { value: '100', source: 'user-override' } });
    expect(second.status).toBe(202); // accepted …
    const patch = await call('PATCH', `${server}${v}`, { properties: { backup: { backupRetentionDays: 9 } } });
    expect(patch.status).toBe(202);
    fake.finishOperations();
    const failed = await opStatus(second); // … and failed
    expect(failed).toMatchObject({ status: 'Failed', error: { code: 'ResourceDeploymentFailure', details: [{ code: 'ServerBusy' }] } });
    expect(await opStatus(patch)).toMatchObject({ status: 'Failed', error: { code: 'ServerIsNotReady', message: expect.stringContaining('Current Server State = Updating') } });
    expect(fake.get(`${server}/configurations/log_min_duration_statement`)!['properties'].value).toBe('-1'); // nothing changed
    expect(fake.get(server)!['properties'].backup.backupRetentionDays).toBe(7);
  });

  it('operation status URLs (Azure-AsyncOperation, Location) expire: 404 once the operation is forgotten', async () => {
    const fw = await call('PUT', `${server}/firewallRules/x${v}`, { properties: { startIpAddress: '1.1.1.1', endIpAddress: '1.1.1.1' } });
    fake.finishOperations();
    expect((await opStatus(fw)).status).toBe('Succeeded');
    fake.expireOperations();
    expect(await call('GET', String(fw.headers['azure-asyncoperation']))).toMatchObject({ status: 404, body: { error: { code: 'OperationNotFound' } } });
    expect((await call('GET', String(fw.headers['location']))).status).toBe(404);
  });

  it('long-running operations answer 202 with Azure-AsyncOperation, Location and Retry-After (FirewallRules_CreateOrUpdate, Databases_Create, Configurations_Put: 202 only)', async () => {
    fake.retryAfterSeconds = 30;
    try {
      for (const [path, body] of [[`${server}/firewallRules/ra`, { properties: { startIpAddress: '1.1.1.1', endIpAddress: '1.1.1.1' } }], [`${server}/databases/ra`, { properties: { charset: 'UTF8', collation: 'en_US.utf8' } }]] as const) {
        const a = await call('PUT', `${path}${v}`, body);
        expect(a.status).toBe(202);
        expect(a.body).toBeUndefined();
        expect(a.headers['retry-after']).toBe('30');
        fake.finishOperations();
      }
      const put = await call('PUT', `${server}/configurations/work_mem${v}`, { properties: { value: '8192', source: 'user-override' } });
      expect(put.status).toBe(202);
      expect(put.body).toBeUndefined();
      expect(put.headers['retry-after']).toBe('30');
      expect(put.headers['azure-asyncoperation']).toBeDefined();
      expect(put.headers['location']).toBeDefined();
    } finally {
      fake.retryAfterSeconds = 0;
    }
  });

  it('firewallRuleName ^[a-zA-Z0-9][-_a-zA-Z0-9]{0,79}(?<!-)$ (FirewallRules paths)', async () => {
    const put = (name: string) => call('PUT', `${server}/firewallRules/${encodeURIComponent(name)}${v}`, { properties: { startIpAddress: '1.1.1.1', endIpAddress: '1.1.1.1' } });
    for (const bad of ['office.vpn', '-a', 'a-', '_a', 'x'.repeat(81)]) expect((await put(bad)).body?.error?.code, bad).toBe('InvalidResourceName');
    expect((await put('AllowAll_Office-1')).status).toBeLessThan(300);
  });

  it('databaseName ^[a-zA-Z_][\\w\\-]{0,62}$, DatabaseProperties.charset ^[a-zA-Z]+\\w*$ and collation ^[a-zA-Z\\-]+([. ]|\\w)*$', async () => {
    const put = (name: string, properties: Record<string, string> = { charset: 'UTF8', collation: 'en_US.utf8' }) => call('PUT', `${server}/databases/${encodeURIComponent(name)}${v}`, { properties });
    expect((await put('1db')).body.error.code).toBe('InvalidResourceName');
    expect((await put('a.b')).body.error.code).toBe('InvalidResourceName');
    expect((await put('x'.repeat(64))).body.error.code).toBe('InvalidResourceName');
    expect((await put('ok_db', { charset: 'UTF-8', collation: 'en_US.utf8' })).body.error).toMatchObject({ code: 'InvalidParameterValue', message: expect.stringContaining('charset') });
    expect((await put('ok_db', { charset: 'UTF8', collation: 'en_US.UTF-8' })).body.error).toMatchObject({ code: 'InvalidParameterValue', message: expect.stringContaining('collation') });
    expect((await put('_ok-db', { charset: 'UTF8', collation: 'English_United States.1252' })).status).toBeLessThan(300);
  });

  it('ConfigurationProperties.allowedValues: ranges for Integer/Numeric, lists for Boolean/Enumeration', async () => {
    const put = (name: string, value: string) => call('PUT', `${server}/configurations/${name}${v}`, { properties: { value, source: 'user-override' } });
    expect((await put('work_mem', '64')).body.error).toMatchObject({ code: 'InvalidParameterValue', message: expect.stringContaining('4096-2097151') });
    expect((await put('work_mem', '8MB')).body.error.code).toBe('InvalidParameterValue');
    expect((await put('log_connections', 'true')).body.error).toMatchObject({ code: 'InvalidParameterValue', message: expect.stringContaining('on,off') });
    expect((await put('log_statement', 'everything')).body.error.code).toBe('InvalidParameterValue');
    expect((await put('log_connections', 'off')).status).toBe(202);
  });

  it('CapabilitiesByLocation_List: versions carry CapabilityStatus; Disabled and Visible versions cannot be created', async () => {
    const f = await ArmFake.start({ flexibleVersions: ['15', '16', '17', '18'], versionStatus: { '18': 'Visible', '15': 'Disabled' } });
    try {
      f.seedResourceGroup(SUB, 'rg');
      const get = (p: string, body?: unknown, method = 'GET') => new Promise<Answer>((resolve, reject) => {
        const req = request(`${f.url}${p}`, { method, headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, ca: f.caPem }, (res) => {
          let data = '';
          res.on('data', (c: Buffer) => (data += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data ? JSON.parse(data) : undefined }));
        });
        req.on('error', reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });
      const caps = await get(`/subscriptions/${SUB}/providers/Microsoft.DBforPostgreSQL/locations/westeurope/capabilities${v}`);
      expect(Object.fromEntries(caps.body.value[0].supportedServerVersions.map((x: { name: string; status: string }) => [x.name, x.status]))).toEqual({ '15': 'Disabled', '16': 'Available', '17': 'Default', '18': 'Visible' });
      const s = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/caps1`;
      expect((await get(`${s}${v}`, createBody({ version: '18' }), 'PUT')).body.error.code).toBe('InvalidServerVersion');
      expect((await get(`${s}${v}`, createBody({ version: '15' }), 'PUT')).body.error.code).toBe('InvalidServerVersion');
      expect((await get(`${s}${v}`, createBody({ version: '17' }), 'PUT')).status).toBe(201);
    } finally {
      await f.stop();
    }
  });

  it('availabilityZone must be one of the SKU\'s supportedZones; without one Azure picks', async () => {
    fake.zones = ['2', '3'];
    try {
      const s = `${server}z`;
      expect((await call('PUT', `${s}${v}`, createBody({ availabilityZone: '1' }))).body.error.code).toBe('AvailabilityZoneNotAvailable');
      expect((await call('PUT', `${s}${v}`, createBody())).status).toBe(201);
      expect(fake.get(s)!['properties'].availabilityZone).toBe('2');
    } finally {
      fake.zones = ['1', '2', '3'];
    }
  });

  it('maintenanceWindow is x-ms-mutability read/update: ignored at creation, taken by an update', async () => {
    const s = `${server}m`;
    const window = { customWindow: 'Enabled', dayOfWeek: 3, startHour: 2, startMinute: 0 };
    await call('PUT', `${s}${v}`, createBody({ maintenanceWindow: window }));
    fake.finishOperations();
    expect(fake.get(s)!['properties'].maintenanceWindow.customWindow).toBe('Disabled');
    expect((await call('PATCH', `${s}${v}`, { properties: { maintenanceWindow: window } })).status).toBe(202);
    expect(fake.get(s)!['properties'].maintenanceWindow).toEqual(window);
  });

  it('MissingSubscriptionRegistration (ARM) for a namespace the subscription is not registered for', async () => {
    fake.unregisterProvider('Microsoft.DBforPostgreSQL');
    try {
      expect(await call('GET', `${server}${v}`)).toMatchObject({ status: 409, body: { error: { code: 'MissingSubscriptionRegistration', message: expect.stringContaining('microsoft.dbforpostgresql') } } });
    } finally {
      fake.registerProvider('Microsoft.DBforPostgreSQL');
    }
    expect((await call('GET', `${server}${v}`)).status).toBe(200);
  });
});

describe('ARM fake: Microsoft.Authorization locks 2020-05-01', () => {
  it('ManagementLocks_CreateOrUpdateByScope / DeleteByScope need Microsoft.Authorization/locks/write|delete: Owner yes, Contributor 403 AuthorizationFailed, reading is allowed', async () => {
    const lock = `${server}/providers/Microsoft.Authorization/locks/DoNotDeleteLock?api-version=2020-05-01`;
    fake.setRole('Contributor');
    expect(await call('PUT', lock, { properties: { level: 'CanNotDelete' } })).toMatchObject({ status: 403, body: { error: { code: 'AuthorizationFailed', message: expect.stringContaining('Microsoft.Authorization/locks/write') } } });
    expect(fake.lockNames(server)).toEqual([]);
    fake.setRole('Owner');
    expect((await call('PUT', lock, { properties: { level: 'CanNotDelete' } })).status).toBe(201);
    fake.setRole('Contributor');
    expect((await call('GET', lock)).status).toBe(200);
    expect((await call('DELETE', lock)).status).toBe(403);
    fake.setRole('User Access Administrator');
    expect((await call('DELETE', lock)).status).toBe(200);
  });

  it('a CanNotDelete lock on the server also blocks deleting its firewall rules (child scope), not writing them', async () => {
    await call('PUT', `${server}/firewallRules/r1${v}`, { properties: { startIpAddress: '1.1.1.1', endIpAddress: '1.1.1.1' } });
    fake.finishOperations();
    fake.addLock(server, 'DoNotDeleteLock');
    expect((await call('PUT', `${server}/firewallRules/r1${v}`, { properties: { startIpAddress: '1.1.1.2', endIpAddress: '1.1.1.2' } })).status).toBeLessThan(300);
    fake.finishOperations();
    expect(await call('DELETE', `${server}/firewallRules/r1${v}`)).toMatchObject({ status: 409, body: { error: { code: 'ScopeLocked' } } });
    fake.removeLock(server, 'DoNotDeleteLock');
  });
});

/**
 * azurepostgresflexible through core's reconcilers: CRs on the real apiserver, the real Azure SDK
 * against the ARM fake, and a real PostgreSQL standing in for the fake's servers (reached through
 * core's ConnectionResolver). Databases are created through ARM and really exist in PostgreSQL.
 */
import pg from 'pg';
import { CoreV1Api, CustomObjectsApi, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createReconcilers, decodeSecret, generatePassword, GROUP, LoadedBackendRegistry, resolveConfig, silentLogger, VERSION,
  type PostgreSQLDatabase, type PostgreSQLServer,
} from '@hybridcloud-postgresql/core';
import { reconcileUntil, TestEventRecorder } from '@hybridcloud-postgresql/core/testing';
import { applyCrds, createTestNamespace, startPostgres, useControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import { ArmFake } from '@hybridcloud-postgresql/azure-fake';
import { staticTokenCredential } from '@hybridcloud-postgresql/azure-common';
import { azureStandIn, enableTls } from '@hybridcloud-postgresql/azure-common/testing';
import definition, { createFlexibleBackend, type FlexibleBackend, type FlexibleConfig } from './index.js';

const SUB = '00000000-0000-0000-0000-0000000000aa';
const RG = 'rg-e2e';

let fake: ArmFake;
let postgres: Postgres;
let backend: FlexibleBackend;
let rec: ReturnType<typeof createReconcilers>;
let co: CustomObjectsApi;
let core: CoreV1Api;
let ns: string;
let resolver: ReturnType<typeof azureStandIn>;

beforeAll(async () => {
  const cp = await useControlPlane();
  await applyCrds(cp);
  ns = await createTestNamespace(cp, 'azflex');
  const kc = cp.kubeConfig();
  co = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  fake = await ArmFake.start({ operationMs: 50 });
  fake.seedResourceGroup(SUB, RG);
  postgres = await startPostgres();
  await enableTls(postgres);
  resolver = azureStandIn(fake, postgres);
  const loaded = resolveConfig(
    {
      backend: 'azurepostgresflexible',
      backends: {
        azure: { subscription_id: SUB, location: 'westeurope', resource_group: RG, name_pattern: 'e2e-{namespace}-{name}', resource_manager_endpoint: fake.url, ca_file: fake.caFile, poll_interval_seconds: 1, lock_from_deletion: true, admin_username: 'azadmin' },
        azurepostgresflexible: {},
      },
    },
    { backendSchemas: { azurepostgresflexible: { configSchema: definition.configSchema, configParent: 'azure' } }, env: {} },
  );
  backend = createFlexibleBackend(loaded.config.backends['azurepostgresflexible'] as unknown as FlexibleConfig, staticTokenCredential(), { pollIntervalMs: 20 });
  const gen = () => generatePassword({ length: 20, specialCharacters: true });
  rec = createReconcilers({
    kubeConfig: kc,
    registry: new LoadedBackendRegistry('azurepostgresflexible', ['azurepostgresflexible'], new Map([['azurepostgresflexible', backend]])),
    events: new TestEventRecorder(kc),
    log: silentLogger,
    generatePassword: gen,
    resyncMs: 300_000,
    resolver,
  });
}, 300_000);

afterAll(async () => {
  await rec?.sql.close();
  await postgres?.stop();
  await fake?.stop();
});

const ref = (plural: string) => ({ group: GROUP, version: VERSION, namespace: ns, plural });
const getServer = async (name: string) => (await co.getNamespacedCustomObject({ ...ref('postgresqlservers'), name })) as PostgreSQLServer;
const getDb = async (name: string) => (await co.getNamespacedCustomObject({ ...ref('postgresqldatabases'), name })) as PostgreSQLDatabase;
const readyOf = (o: PostgreSQLServer | PostgreSQLDatabase) => o.status?.conditions?.find((c) => c.type === 'Ready');
const secretData = async (name: string) => decodeSecret(await core.readNamespacedSecret({ namespace: ns, name }).catch(() => undefined));
const gone = async (fn: () => Promise<unknown>) => fn().then(() => false, () => true);

async function login(data: Record<string, string>): Promise<string> {
  const addr = await resolver.resolve({ namespace: ns, name: '', backend: '' }, { host: data['host']!, port: Number(data['port']), sslmode: 'require', adminUsername: '' });
  const c = new pg.Client({ host: addr.host, port: addr.port, user: data['username'], password: data['password'], database: data['dbname'], ssl: { rejectUnauthorized: false }, connectionTimeoutMillis: 3000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
  } finally {
    await c.end().catch(() => undefined);
  }
}

const azureName = () => `e2e-${ns}-flex`;
const serverId = () => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${azureName()}`;
const createDbCr = (name: string) => co.createNamespacedCustomObject({ ...ref('postgresqldatabases'), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLDatabase', metadata: { name, namespace: ns }, spec: { serverRef: { name: 'flex' }, credentialsSecret: `${name}-creds`, database: { charset: 'UTF8', collation: 'C.utf8' } } } });

describe('azurepostgresflexible through core reconcilers', { timeout: 240_000 }, () => {
  it('server: created in Azure, credentials Secret logs in, reset-password reaches Azure', async () => {
    await co.createNamespacedCustomObject({ ...ref('postgresqlservers'), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLServer', metadata: { name: 'flex', namespace: ns }, spec: { credentialsSecret: 'flex-admin', size: { storageGB: 32 }, network: { firewallRules: [{ name: 'ci', startIp: '10.0.0.1', endIp: '10.0.0.2' }] } } } });
    await reconcileUntil(rec.server, { namespace: ns, name: 'flex' }, async () => readyOf(await getServer('flex'))?.status === 'True', { timeoutMs: 60_000, maxDelayMs: 200 });
    const id = serverId();
    const admin = await secretData('flex-admin');
    expect(admin).toMatchObject({ host: `${azureName()}.postgres.database.azure.com`, port: '5432', username: 'azadmin', dbname: 'postgres', sslmode: 'require' });
    expect(fake.adminPassword(id)).toBe(admin['password']);
    expect(await login(admin)).toBe('azadmin');
    expect(fake.children(id, 'firewallRules').map((r) => r['name']).sort()).toEqual(['AllowAllWindowsAzureIps', 'ci']);
    expect(fake.lockNames(id)).toEqual(['DoNotDeleteLock']);
    // The resume token is gone from the CR once the creation finished; the Azure name stays.
    const annotations = (await getServer('flex')).metadata.annotations ?? {};
    expect(Object.keys(annotations).filter((k) => k.endsWith('/operation'))).toEqual([]);
    expect(annotations['azurepostgresflexible.backends.hybridcloud.maibornwolff.de/serverName']).toBe(azureName());

    const before = admin['password'];
    await co.patchNamespacedCustomObject({ ...ref('postgresqlservers'), name: 'flex', body: { metadata: { labels: { 'operator/action': 'reset-password' } } } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'));
    await reconcileUntil(rec.server, { namespace: ns, name: 'flex' }, async () => {
      const o = await getServer('flex');
      return o.metadata.labels?.['operator/action'] === undefined && readyOf(o)?.status === 'True';
    }, { timeoutMs: 60_000, maxDelayMs: 200 });
    const after = await secretData('flex-admin');
    expect(after['password']).not.toBe(before);
    expect(fake.adminPassword(id)).toBe(after['password']);
    expect(await login(after)).toBe('azadmin');
  });

  it('database: created through ARM (charset, collation), really present in PostgreSQL, its Secret logs in; deleted through ARM', async () => {
    await createDbCr('orders-db');
    const id = serverId();
    await reconcileUntil(rec.database, { namespace: ns, name: 'orders-db' }, async () => readyOf(await getDb('orders-db'))?.status === 'True', { timeoutMs: 30_000, maxDelayMs: 200 });
    expect(fake.get(`${id}/databases/orders_db`)?.['properties']).toEqual({ charset: 'UTF8', collation: 'C.utf8' });
    expect((await postgres.psql("SELECT pg_encoding_to_char(encoding) || ' ' || datcollate FROM pg_database WHERE datname = 'orders_db'")).stdout.trim()).toBe('UTF8 C.utf8');
    const creds = await secretData('orders-db-creds');
    expect(creds).toMatchObject({ username: 'orders_db', dbname: 'orders_db', host: `${azureName()}.postgres.database.azure.com`, sslmode: 'require' });
    expect(await login(creds)).toBe('orders_db');

    fake.removeLock(id, 'DoNotDeleteLock'); // (the next test covers deletion under the lock)
    await co.deleteNamespacedCustomObject({ ...ref('postgresqldatabases'), name: 'orders-db' });
    await reconcileUntil(rec.database, { namespace: ns, name: 'orders-db' }, () => gone(() => getDb('orders-db')), { timeoutMs: 60_000, maxDelayMs: 200 });
    expect(fake.get(`${id}/databases/orders_db`)).toBeUndefined();
    expect((await postgres.psql("SELECT count(*) FROM pg_database WHERE datname = 'orders_db'")).stdout.trim()).toBe('0');
    expect(fake.writes(/databases\/orders_db$/).map((w) => w.method)).toEqual(['PUT', 'DELETE']);
  });

  it('database under the server lock: ARM refuses the delete (ScopeLocked), the database is dropped over SQL instead', async () => {
    const id = serverId();
    await reconcileUntil(rec.server, { namespace: ns, name: 'flex' }, async () => fake.lockNames(id).length === 1, { timeoutMs: 30_000, maxDelayMs: 200 });
    await createDbCr('shop-db');
    await reconcileUntil(rec.database, { namespace: ns, name: 'shop-db' }, async () => readyOf(await getDb('shop-db'))?.status === 'True', { timeoutMs: 30_000, maxDelayMs: 200 });
    expect(await login(await secretData('shop-db-creds'))).toBe('shop_db');
    await co.deleteNamespacedCustomObject({ ...ref('postgresqldatabases'), name: 'shop-db' });
    await reconcileUntil(rec.database, { namespace: ns, name: 'shop-db' }, () => gone(() => getDb('shop-db')), { timeoutMs: 60_000, maxDelayMs: 200 });
    expect(fake.requests.some((r) => r.method === 'DELETE' && r.path.endsWith('/databases/shop_db') && r.status === 409)).toBe(true);
    expect((await postgres.psql("SELECT count(*) FROM pg_database WHERE datname = 'shop_db'")).stdout.trim()).toBe('0');
  });

  it('deleting the server meets the lock: Ready=False DeletionLocked with the command; after removing the lock it is deleted', async () => {
    const id = serverId();
    await reconcileUntil(rec.server, { namespace: ns, name: 'flex' }, async () => fake.lockNames(id).length === 1, { timeoutMs: 30_000, maxDelayMs: 200 });
    await co.deleteNamespacedCustomObject({ ...ref('postgresqlservers'), name: 'flex' });
    await reconcileUntil(rec.server, { namespace: ns, name: 'flex' }, async () => readyOf(await getServer('flex'))?.reason === 'DeletionLocked', { timeoutMs: 30_000, maxDelayMs: 200 });
    const cond = readyOf(await getServer('flex'))!;
    expect(cond.status).toBe('False');
    expect(cond.message).toContain(`az lock delete --ids '${id}/providers/Microsoft.Authorization/locks/DoNotDeleteLock'`);
    expect(fake.get(id)).toBeDefined();
    fake.removeLock(id, 'DoNotDeleteLock');
    await reconcileUntil(rec.server, { namespace: ns, name: 'flex' }, () => gone(() => getServer('flex')), { timeoutMs: 60_000, maxDelayMs: 200 });
    expect(fake.get(id)).toBeUndefined();
  });
  it('a server and its databases changed at the same time while Azure fails changes to a busy server: everything converges, one change per server at a time', async () => {
    fake.busyMode = 'failedOperation';
    try {
      const id = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/e2e-${ns}-busy`;
      const rules = ['a', 'b', 'c'].map((r, i) => ({ name: r, startIp: `10.9.0.${i + 1}`, endIp: `10.9.0.${i + 1}` }));
      await co.createNamespacedCustomObject({ ...ref('postgresqlservers'), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLServer', metadata: { name: 'busy', namespace: ns }, spec: { credentialsSecret: 'busy-admin', network: { firewallRules: rules }, serverParameters: { work_mem: '8192', log_connections: 'false' } } } });
      await reconcileUntil(rec.server, { namespace: ns, name: 'busy' }, async () => readyOf(await getServer('busy'))?.status === 'True', { timeoutMs: 60_000, maxDelayMs: 200 });
      const dbs = ['busy-one', 'busy-two'];
      for (const d of dbs) await co.createNamespacedCustomObject({ ...ref('postgresqldatabases'), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLDatabase', metadata: { name: d, namespace: ns }, spec: { serverRef: { name: 'busy' }, credentialsSecret: `${d}-creds`, database: { charset: 'UTF8', collation: 'C.utf8' } } } });
      // The server's spec changes while the databases are being created: both reconcilers work at once.
      await co.patchNamespacedCustomObject({ ...ref('postgresqlservers'), name: 'busy', body: { spec: { network: { firewallRules: [...rules, { name: 'd', startIp: '10.9.0.4', endIp: '10.9.0.4' }] }, serverParameters: { work_mem: '16384', log_connections: 'false' } } } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'));
      await Promise.all([
        reconcileUntil(rec.server, { namespace: ns, name: 'busy' }, async () => fake.get(`${id}/configurations/work_mem`)?.['properties'].value === '16384' && readyOf(await getServer('busy'))?.status === 'True', { timeoutMs: 90_000, maxDelayMs: 200 }),
        ...dbs.map((d) => reconcileUntil(rec.database, { namespace: ns, name: d }, async () => readyOf(await getDb(d))?.status === 'True', { timeoutMs: 90_000, maxDelayMs: 200 })),
      ]);
      expect(fake.children(id, 'firewallRules').map((r) => r['name']).sort()).toEqual(['AllowAllWindowsAzureIps', 'a', 'b', 'c', 'd']);
      expect(fake.get(`${id}/configurations/log_connections`)!['properties'].value).toBe('off');
      expect(fake.children(id, 'databases').map((d) => d['name']).sort()).toEqual(['busy_one', 'busy_two']);
      for (const d of dbs) expect(await login(await secretData(`${d}-creds`))).toBe(d.replace('-', '_'));
    } finally {
      fake.busyMode = 'conflict';
    }
  });
});

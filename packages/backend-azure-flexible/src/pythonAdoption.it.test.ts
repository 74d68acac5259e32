/**
 * Upgrading from the Python operator (issue 15), azurepostgresflexible: what it left behind — the
 * flexible server PUT the way azure_postgresqlflexible.py sent it (name `{namespace}-{name}`, its
 * two tags, Standard_D{cpu}ds_v4 for a spec without size.class, version 13, zone-redundant HA with
 * standby zone 2, availability zone 1), the maintenance window it PATCHed with Python's weekday
 * (Wed → day 2, Tuesday in ARM), azure.extensions with pg_cron and pg_stat_statements it always
 * added, its DoNotDeleteLock and AllowAllWindowsAzureIps rule, its credentials Secret (six keys),
 * the CR with kopf's finalizer, last-handled annotation and status.deployment — taken over by core's
 * real controller and reconcilers (startKitOperator) against the ARM fake, the harness's
 * PostgreSQL behind the stand-in gateway. Asserted: zero mutating backend calls and zero ARM writes, the
 * Secret's values unchanged, the old password logs in, one AdoptedValueKept Warning per
 * difference and the status note; then one spec change, which is applied.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineBackend } from '@hybridcloud-postgresql/core';
import { CallLog, eventually, isReady, psqlWith, readyOf, startKitOperator, World, type KitOperator, pythonOperatorSecret, pythonOperatorServer } from '@hybridcloud-postgresql/testkit';
import { applyCrds, createTestNamespace, useControlPlane, usePostgres, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import type { ArmFake } from '@hybridcloud-postgresql/azure-fake';
import { staticTokenCredential, TAG_NAME, TAG_NAMESPACE } from '@hybridcloud-postgresql/azure-common';
import { perServerAdminRole, startArmStandIns, type ArmStandIns } from '@hybridcloud-postgresql/azure-common/testing';
import flexible, { createFlexibleBackend, type FlexibleConfig } from './index.js';

const SUB = '00000000-0000-0000-0000-0000000000d1';
const RG = 'rg-py-flexible';
const NAME = 'pyflex';
const PW = 'Py7FlexAdmin-x';
const definition = defineBackend<FlexibleConfig>({ ...flexible, create: (ctx) => createFlexibleBackend(ctx.config, staticTokenCredential(), { pollIntervalMs: 50 }) });

let cp: ControlPlane;
let ns: string;
let fake: ArmFake;
let stand: ArmStandIns | undefined;
let world: World;
let psql: string;
let config: Record<string, unknown>;
let op: KitOperator | undefined;
const log = new CallLog();

beforeAll(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
  ns = await createTestNamespace(cp, 'py-flexible');
  const postgres = await usePostgres();
  psql = `${postgres.binDir}/psql`;
  stand = await startArmStandIns(postgres, { kind: 'flexible', subscription: SUB, resourceGroup: RG });
  fake = stand.fake;
  world = new World(cp.kubeConfig(), ns);
  // The Python operator's config file: a default class it applied only with size.class (Burstable:
  // this operator's reading of a spec without size), Azure services allowed, the deletion lock;
  // plus what the test needs (the fake's endpoint and CA).
  config = {
    backend: 'azurepostgresflexible',
    backends: {
      azure: {
        subscription_id: SUB, location: 'westeurope', resource_group: RG, name_pattern: '{namespace}-{name}', admin_username: 'azadmin',
        network: { allow_azure_services: true }, lock_from_deletion: true,
        resource_manager_endpoint: fake.url, ca_file: fake.caFile, poll_interval_seconds: 1,
      },
      azurepostgresflexible: { default_class: 'dev', classes: { dev: { name: 'Standard_B1ms', tier: 'Burstable' }, gp: { name: 'Standard_D4ds_v4', tier: 'GeneralPurpose' } } },
    },
  };
}, 600_000);

afterAll(async () => {
  await op?.stop();
  await stand?.close();
}, 120_000);

/** One ARM request as the Python SDK sent it (bearer token, azure-mgmt-rdbms 10.2.0b17's api-version). */
async function arm(method: string, path: string, body: unknown): Promise<number> {
  const url = new URL(`${path}?api-version=2022-12-01`, fake.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca: readFileSync(fake.caFile), headers: { authorization: 'Bearer python', 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const pythonServer = (name: string, spec: Record<string, unknown>, backend: string) => pythonOperatorServer(cp, ns, name, spec, backend);
const pythonSecret = (name: string, data: Record<string, string>) => pythonOperatorSecret(cp, ns, name, data);

describe('azurepostgresflexible: a flexible server of the Python operator', () => {
  const server = () => `${ns}-${NAME}`;
  const serverId = () => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${server()}`;
  // No size (the Python operator: cpu default 2 → D2ds_v4; this operator: the Burstable default
  // class, on which HA would be invalid), a window on Wednesday, one extension.
  const spec = { credentialsSecret: `${NAME}-credentials`, highavailability: { enabled: true }, maintenance: { window: { weekday: 'Wed', starttime: '03:00' } }, extensions: ['postgis'] };
  let creds: Record<string, string>;
  const configuration = (name: string) => fake.children(serverId(), 'configurations').find((c) => c['name'] === name)?.['properties']?.['value'];

  it('is adopted with zero mutating calls: no backend mutation, no ARM write, Secret values kept, old password logs in, AdoptedValueKept', { timeout: 300_000 }, async () => {
    // servers.begin_create as azure_postgresqlflexible.py sent it (Azure ignores the window at creation) ...
    expect(await arm('PUT', serverId(), {
      location: 'westeurope',
      sku: { name: 'Standard_D2ds_v4', tier: 'GeneralPurpose' },
      tags: { [TAG_NAMESPACE]: ns, [TAG_NAME]: NAME },
      properties: {
        administratorLogin: 'azadmin', administratorLoginPassword: PW, version: '13',
        storage: { storageSizeGB: 32 }, backup: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled' },
        highAvailability: { mode: 'ZoneRedundant', standbyAvailabilityZone: '2' },
        maintenanceWindow: { customWindow: 'Enabled', dayOfWeek: 2, startHour: 3, startMinute: 0 }, availabilityZone: '1',
      },
    })).toBeLessThan(300);
    fake.finishOperations(); // (its poller waited for the LRO)
    await eventually('the Python server Ready', async () => fake.get(serverId())?.['properties']?.['state'] === 'Ready', 30_000);
    // ... then its update with the window (Python's weekday: Wed = 2, Tuesday in ARM), the extensions with
    // pg_cron and pg_stat_statements appended (allow-list and preload), a restart, the firewall rule and the lock.
    expect(await arm('PATCH', serverId(), { properties: { maintenanceWindow: { customWindow: 'Enabled', dayOfWeek: 2, startHour: 3, startMinute: 0 } } })).toBeLessThan(300);
    fake.finishOperations();
    expect(await arm('PUT', `${serverId()}/configurations/azure.extensions`, { properties: { value: 'pg_cron,pg_stat_statements,postgis', source: 'user-override' } })).toBeLessThan(300);
    fake.finishOperations();
    expect(await arm('PUT', `${serverId()}/configurations/shared_preload_libraries`, { properties: { value: 'pg_cron,pg_stat_statements', source: 'user-override' } })).toBeLessThan(300);
    fake.finishOperations();
    expect(await arm('POST', `${serverId()}/restart`, {})).toBeLessThan(300);
    fake.finishOperations();
    expect(await arm('PUT', `${serverId()}/firewallRules/AllowAllWindowsAzureIps`, { properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' } })).toBeLessThan(300);
    fake.finishOperations();
    fake.addLock(serverId(), 'DoNotDeleteLock');
    await eventually('the Python server Ready again', async () => fake.get(serverId())?.['properties']?.['state'] === 'Ready', 30_000);
    const before = fake.get(serverId())!;
    expect(before['properties']['maintenanceWindow']).toMatchObject({ dayOfWeek: 2, startHour: 3 });
    expect(configuration('azure.extensions')).toBe('pg_cron,pg_stat_statements,postgis');
    creds = { username: 'azadmin', password: PW, dbname: 'postgres', host: String(before['properties']['fullyQualifiedDomainName']), port: '5432', sslmode: 'require' };
    await pythonSecret(spec.credentialsSecret, creds);
    await pythonServer(NAME, spec, 'azurepostgresflexible');
    fake.requests.length = 0;

    op = await startKitOperator({ kubeConfig: cp.kubeConfig(), definition, config, namespace: ns, env: process.env, resolver: stand!.gateway, log });
    await eventually(`server ${NAME} Ready`, async () => isReady(await world.get('server', NAME)), 120_000, async () => JSON.stringify(readyOf(await world.get('server', NAME))));
    // One Warning per difference (per operator process: a restarted operator names them once more).
    const kept = await eventually('the AdoptedValueKept Warnings', async () => {
      const e = (await world.events(NAME)).filter((x) => x.reason === 'AdoptedValueKept');
      return e.length >= 3 && e;
    }, 10_000, async () => JSON.stringify((await world.events(NAME)).map((e) => `${e.reason}: ${e.message}`)));
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await world.events(NAME)).filter((x) => x.reason === 'AdoptedValueKept')).toHaveLength(3);
    expect(kept.every((e) => e.type === 'Warning')).toBe(true);
    const messages = kept.map((e) => e.message).join('\n');
    expect(messages).toMatch(/would run Standard_B1ms .*Python operator chose Standard_D2ds_v4.*python_objects: apply/);
    expect(messages).toMatch(/stays on Tue .*weekday says Wed.*python_objects: apply/);
    expect(messages).toMatch(/pg_cron and pg_stat_statements stay in azure.extensions.*python_objects: apply/);

    // a restart: its first reconciles must not act either
    const object = `${ns}/${NAME}`;
    const observed = log.of('observeServer', object).length;
    await op.stop();
    op = await startKitOperator({ kubeConfig: cp.kubeConfig(), definition, config, namespace: ns, env: process.env, resolver: stand!.gateway, log });
    await eventually('a reconcile after the restart', async () => log.of('observeServer', object).length > observed, 60_000);
    await new Promise((r) => setTimeout(r, 1_000));

    expect(fake.writes().map((w) => `${w.method} ${w.path}`)).toEqual([]);
    expect(log.mutating(object).map((c) => c.method)).toEqual([]);
    const after = fake.get(serverId())!;
    const shape = (s: NonNullable<ReturnType<typeof fake.get>>) => ({ sku: s['sku'], tags: s['tags'], storage: s['properties']['storage'], ha: s['properties']['highAvailability'], window: s['properties']['maintenanceWindow'] });
    expect(shape(after)).toEqual(shape(before));
    expect(configuration('azure.extensions')).toBe('pg_cron,pg_stat_statements,postgis');

    const data = (await world.secret(spec.credentialsSecret))!;
    expect(data).toMatchObject(creds);
    const login = await psqlWith(psql, data, 'SELECT current_user', stand!.gateway, { namespace: ns, name: NAME, backend: 'azurepostgresflexible' });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe(perServerAdminRole(server(), 'azadmin'));

    const srv = (await world.get('server', NAME))!;
    expect(srv.metadata.finalizers).toEqual(['hybridcloud.maibornwolff.de/finalizer']);
    expect(srv.status?.deployment?.status).toBe('finished');
    const note = readyOf(srv)?.message ?? '';
    expect(note).toContain('AdoptedValueKept');
    expect(note).toMatch(/Standard_D2ds_v4[\s\S]*stays on Tue[\s\S]*pg_cron and pg_stat_statements/);
  });

  it('a spec change afterwards is applied (this operator\'s reading), with the old password still working', { timeout: 300_000 }, async () => {
    expect(op, 'the adoption case ran').toBeDefined();
    fake.requests.length = 0;
    await world.patch('server', NAME, { spec: { size: { class: 'gp', storageGB: 64 } } });
    await eventually('the change applied', async () => {
      const s = fake.get(serverId());
      const cr = await world.get('server', NAME);
      return s?.['sku']?.['name'] === 'Standard_D4ds_v4' && s?.['properties']?.['storage']?.['storageSizeGB'] === 64 && s?.['properties']?.['maintenanceWindow']?.['dayOfWeek'] === 3
        && configuration('azure.extensions') === 'postgis' && isReady(cr) && readyOf(cr)?.message?.includes('AdoptedValueKept') === false;
    }, 120_000, async () => JSON.stringify(readyOf(await world.get('server', NAME))));
    expect(fake.writes().filter((w) => w.method === 'PATCH' && w.path.endsWith(server()))).toHaveLength(1);
    const data = (await world.secret(spec.credentialsSecret))!;
    expect(data).toMatchObject(creds);
    const login = await psqlWith(psql, data, 'SELECT current_user', stand!.gateway, { namespace: ns, name: NAME, backend: 'azurepostgresflexible' });
    expect(login.code, login.stderr).toBe(0);
  });
});

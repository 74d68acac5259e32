/**
 * Upgrading from the Python operator (issue 15), azurepostgres (single server): what it left
 * behind — the server PUT the way azure_postgresql.py sent it (name `{namespace}-{name}`, its two
 * tags, GP_Gen5_{cpu} for a spec without size.class, version 11, storage 10 GB when the spec has no
 * storageGB, 7 days of backups), its DoNotDeleteLock and AllowAllWindowsAzureIps rule, its
 * credentials Secret (six keys, `admin@server`), the CR with kopf's finalizer, last-handled
 * annotation and status.deployment — taken over by core's real controller and reconcilers
 * (startKitOperator) against the ARM fake, the harness's PostgreSQL behind the single-server
 * gateway (md5, `user@server`). Asserted: zero mutating backend calls and zero ARM writes, the
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
import single, { createSingleBackend, type SingleConfig } from './index.js';

const SUB = '00000000-0000-0000-0000-0000000000d2';
const RG = 'rg-py-single';
const NAME = 'pysingle';
const PW = 'Py7SingleAdmin-x';
const definition = defineBackend<SingleConfig>({ ...single, create: (ctx) => createSingleBackend(ctx.config, staticTokenCredential(), { pollIntervalMs: 50 }) });

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
  ns = await createTestNamespace(cp, 'py-single');
  const postgres = await usePostgres();
  psql = `${postgres.binDir}/psql`;
  stand = await startArmStandIns(postgres, { kind: 'single', subscription: SUB, resourceGroup: RG });
  fake = stand.fake;
  world = new World(cp.kubeConfig(), ns);
  // The Python operator's config file: a default class it applied only with size.class, Azure
  // services allowed, the deletion lock; plus what the test needs (the fake's endpoint and CA).
  config = {
    backend: 'azurepostgres',
    backends: {
      azure: {
        subscription_id: SUB, location: 'westeurope', resource_group: RG, name_pattern: '{namespace}-{name}', admin_username: 'azadmin',
        network: { allow_azure_services: true }, lock_from_deletion: true,
        resource_manager_endpoint: fake.url, ca_file: fake.caFile, poll_interval_seconds: 1,
      },
      azurepostgres: { default_class: 'small', classes: { small: { name: 'GP_Gen5_4', tier: 'GeneralPurpose', family: 'Gen5', capacity: 4 } } },
    },
  };
}, 600_000);

afterAll(async () => {
  await op?.stop();
  await stand?.close();
}, 120_000);

/** One ARM request as the Python SDK sent it (bearer token, api-version 2017-12-01). */
async function arm(method: string, path: string, body: unknown): Promise<number> {
  const url = new URL(`${path}?api-version=2017-12-01`, fake.url);
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

describe('azurepostgres: a single server of the Python operator', () => {
  const server = () => `${ns}-${NAME}`;
  const serverId = () => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/servers/${server()}`;
  // No size (so the Python operator sized by its cpu default, this operator by default_class) and
  // no storageGB (the Python operator validated it as 100 GB but created 10 GB).
  const spec = { credentialsSecret: `${NAME}-credentials` };
  let creds: Record<string, string>;

  it('is adopted with zero mutating calls: no backend mutation, no ARM write, Secret values kept, old password logs in, AdoptedValueKept', { timeout: 300_000 }, async () => {
    // servers.begin_create exactly as azure_postgresql.py sent it, then its lock and firewall rule.
    expect(await arm('PUT', serverId(), {
      location: 'westeurope',
      sku: { name: 'GP_Gen5_2', tier: 'GeneralPurpose', family: 'Gen5', capacity: 2 },
      tags: { [TAG_NAMESPACE]: ns, [TAG_NAME]: NAME },
      properties: {
        createMode: 'Default', sslEnforcement: 'Enabled', infrastructureEncryption: 'Disabled', administratorLogin: 'azadmin', administratorLoginPassword: PW,
        version: '11', publicNetworkAccess: 'Enabled',
        storageProfile: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled', storageMB: 10 * 1024 },
      },
    })).toBeLessThan(300);
    fake.finishOperations(); // (its poller waited for the LRO)
    await eventually('the Python server Ready', async () => { const s = fake.get(serverId()); return !!s && !s['__hidden'] && s['properties']?.['userVisibleState'] === 'Ready'; }, 30_000);
    expect(await arm('PUT', `${serverId()}/firewallRules/AllowAllWindowsAzureIps`, { properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' } })).toBeLessThan(300);
    fake.addLock(serverId(), 'DoNotDeleteLock');
    fake.finishOperations();
    const before = fake.get(serverId())!;
    creds = { username: `azadmin@${server()}`, password: PW, dbname: 'postgres', host: String(before['properties']['fullyQualifiedDomainName']), port: '5432', sslmode: 'require' };
    await pythonSecret(spec.credentialsSecret, creds);
    await pythonServer(NAME, spec, 'azurepostgres');
    fake.requests.length = 0;

    op = await startKitOperator({ kubeConfig: cp.kubeConfig(), definition, config, namespace: ns, env: process.env, resolver: stand!.gateway, log });
    await eventually(`server ${NAME} Ready`, async () => isReady(await world.get('server', NAME)), 120_000, async () => JSON.stringify(readyOf(await world.get('server', NAME))));
    // One Warning per difference (per operator process: a restarted operator names it once more).
    const kept = await eventually('the AdoptedValueKept Warnings', async () => {
      const e = (await world.events(NAME)).filter((x) => x.reason === 'AdoptedValueKept');
      return e.length >= 2 && e;
    }, 10_000, async () => JSON.stringify(await world.events(NAME)));
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await world.events(NAME)).filter((x) => x.reason === 'AdoptedValueKept')).toHaveLength(2);
    expect(kept.every((e) => e.type === 'Warning')).toBe(true);
    const messages = kept.map((e) => e.message).join('\n');
    expect(messages).toMatch(/would run GP_Gen5_4 .*Python operator chose GP_Gen5_2.*backends.azurepostgres.python_objects: apply/);
    expect(messages).toMatch(/storageGB is unset: the Python operator created 10 GB .* 100 GB.*backends.azurepostgres.python_objects: apply/);

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
    expect({ sku: after['sku'], storage: after['properties']['storageProfile'], tags: after['tags'] }).toEqual({ sku: before['sku'], storage: before['properties']['storageProfile'], tags: before['tags'] });

    const data = (await world.secret(spec.credentialsSecret))!;
    expect(data).toMatchObject(creds);
    const login = await psqlWith(psql, data, 'SELECT current_user', stand!.gateway, { namespace: ns, name: NAME, backend: 'azurepostgres' });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe(perServerAdminRole(server(), 'azadmin'));

    const srv = (await world.get('server', NAME))!;
    expect(srv.metadata.finalizers).toEqual(['hybridcloud.maibornwolff.de/finalizer']);
    expect(srv.status?.deployment?.status).toBe('finished');
    expect(readyOf(srv)?.message).toContain('AdoptedValueKept');
    expect(readyOf(srv)?.message).toMatch(/chose GP_Gen5_2[\s\S]*created 10 GB/);
  });

  it('a spec change afterwards is applied (this operator\'s reading), with the old password still working', { timeout: 300_000 }, async () => {
    expect(op, 'the adoption case ran').toBeDefined();
    fake.requests.length = 0;
    await world.patch('server', NAME, { spec: { size: { storageGB: 200 } } });
    await eventually('the change applied', async () => {
      const s = fake.get(serverId());
      const cr = await world.get('server', NAME);
      return s?.['sku']?.['name'] === 'GP_Gen5_4' && s?.['properties']?.['storageProfile']?.['storageMB'] === 200 * 1024 && isReady(cr) && readyOf(cr)?.message?.includes('AdoptedValueKept') === false;
    }, 120_000, async () => JSON.stringify(readyOf(await world.get('server', NAME))));
    expect(fake.writes().filter((w) => w.method === 'PATCH' && w.path.endsWith(server()))).toHaveLength(1);
    const data = (await world.secret(spec.credentialsSecret))!;
    expect(data).toMatchObject(creds);
    const login = await psqlWith(psql, data, 'SELECT current_user', stand!.gateway, { namespace: ns, name: NAME, backend: 'azurepostgres' });
    expect(login.code, login.stderr).toBe(0);
  });
});

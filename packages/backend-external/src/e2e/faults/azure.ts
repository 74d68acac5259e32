/**
 * azurepostgresflexible and azurepostgres (single server) for the fault suite: the ARM fake
 * (packages/azure-fake, HTTPS) runs in the test process; the operator as a child process through
 * standInOperator.ts uses the real Azure SDK against it (resource_manager_endpoint, ca_file: the
 * fake's CA) and authenticates as on Azure with a managed identity: DefaultAzureCredential reads
 * IDENTITY_ENDPOINT/IDENTITY_HEADER (App Service's managed identity protocol), served here with a
 * fixed token. The fake's hooks set admin passwords and create databases in one stand-in
 * PostgreSQL; the stand-in gateway (azure-common/testing, a listener per Azure server, TLS,
 * single server's user@server logins) is what the child's SQL reaches through HC_RESOLVER_URL.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import pg from 'pg';
import { startPostgres, type ControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import type { ArmFake } from '@hybridcloud-postgresql/azure-fake';
import { TAG_NAME, TAG_NAMESPACE } from '@hybridcloud-postgresql/azure-common';
import { startArmStandIns } from '@hybridcloud-postgresql/azure-common/testing';
import { startOperator, type OperatorProcess } from '../harness.js';
import { rolesAndDatabases, tokenObjects, type Inventory } from './killDuringLifecycle.js';
import { killSuite } from './killSuite.js';
import { serveResolver, type ResolverEndpoint } from './resolverEndpoint.js';

export type AzureBackend = 'azurepostgresflexible' | 'azurepostgres';

const SUB = '00000000-0000-0000-0000-0000000000f1';
const RG = 'rg-faults';
const ADMIN = 'azadmin';
export const SERVER_TYPE: Record<AzureBackend, string> = {
  azurepostgresflexible: 'Microsoft.DBforPostgreSQL/flexibleServers',
  azurepostgres: 'Microsoft.DBforPostgreSQL/servers',
};

export interface AzureWorld {
  fake: ArmFake;
  /** ARM ids of the servers of CR `name` (by the operator's owner tags, or the name in the id). */
  serversOf(name: string, token?: string): string[];
  inventory(token: string): Promise<Inventory>;
  loginError(data: Record<string, string>, database?: string): Promise<string | undefined>;
  extensions(data: Record<string, string>): Promise<string[]>;
  start(opts: { id: string }): Promise<OperatorProcess>;
  stop(): Promise<void>;
}

/** App Service's managed identity endpoint (what DefaultAzureCredential asks when IDENTITY_ENDPOINT is set): one fixed token. */
async function managedIdentity(): Promise<{ server: Server; endpoint: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      access_token: 'fake-token', token_type: 'Bearer', resource: 'https://management.azure.com/', expires_on: String(Math.floor(Date.now() / 1000) + 3600),
    }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}/msi/token` };
}

export async function startAzureWorld(cp: ControlPlane, namespace: string, backend: AzureBackend, opts: { operationMs?: number } = {}): Promise<AzureWorld> {
  const type = SERVER_TYPE[backend];
  const [pgs, mi] = await Promise.all([startPostgres(), managedIdentity()]);
  const arm = await startArmStandIns(pgs as Postgres, { kind: backend === 'azurepostgres' ? 'single' : 'flexible', subscription: SUB, resourceGroup: RG, adminLogin: ADMIN, operationMs: opts.operationMs ?? 1000 });
  const { fake, gateway } = arm;
  const resolver: ResolverEndpoint = await serveResolver((server, e) => gateway.resolve(server as never, { ...e, sslmode: 'require', adminUsername: '' }));
  const config = {
    backend,
    backends: {
      // admin_username: not the stand-in's superuser, whose password the fake's hook would change.
      azure: { subscription_id: SUB, location: 'westeurope', resource_group: RG, resource_manager_endpoint: fake.url, ca_file: fake.caFile, poll_interval_seconds: 1, admin_username: ADMIN },
      [backend]: {},
    },
  };
  const serversOf = (name: string, token?: string) =>
    fake.idsOfType(type).filter((id) => {
      const tags = (fake.get(id)?.['tags'] ?? {}) as Record<string, string>;
      return (tags[TAG_NAMESPACE] === namespace && tags[TAG_NAME] === name) || (token !== undefined && id.split('/').pop()!.includes(token));
    });
  /** A Secret's login through the gateway (TLS terminated there, so no certificate check). */
  const withLogin = async <T>(data: Record<string, string>, fn: (c: pg.Client) => Promise<T>, database?: string): Promise<T> => {
    const to = await gateway.resolve({ namespace, name: '', backend }, { host: data['host'] ?? '', port: Number(data['port'] ?? 5432), sslmode: 'require', adminUsername: '' });
    const c = new pg.Client({ host: to.host, port: to.port, user: data['username'], password: data['password'], database: database ?? data['dbname'], ssl: { rejectUnauthorized: false }, connectionTimeoutMillis: 5_000 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => undefined);
    }
  };
  return {
    fake,
    serversOf,
    async inventory(token) {
      const servers = serversOf(`s${token}`, token);
      const armDbs = fake.idsOfType(`${type}/databases`).filter((id) => id.split('/').pop()!.includes(token));
      const names = [...servers.map((id) => `server:${id.split('/').pop()}(${String(fake.get(id)?.['properties']?.['state'] ?? fake.get(id)?.['properties']?.['userVisibleState'] ?? '')})`), ...armDbs.map((id) => `arm-db:${id.split('/').pop()}`)];
      // Roles and databases live on a server: with the Azure server gone they are gone too (the one
      // stand-in PostgreSQL keeps what the fake does not drop, so it is read only while a server exists).
      if (servers.length > 0) {
        names.push(...(await tokenObjects(pgs, token)));
      }
      return {
        servers: servers.length,
        roles: rolesAndDatabases(names).roles,
        databases: Math.max(rolesAndDatabases(names).databases, armDbs.length),
        names,
      };
    },
    loginError: async (data, database) => {
      try {
        await withLogin(data, async () => undefined, database);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
    extensions: (data) => withLogin(data, async (c) => (await c.query<{ extname: string }>('SELECT extname FROM pg_extension')).rows.map((r) => r.extname)),
    start: (o) => startOperator({
      cp,
      id: o.id,
      script: join(import.meta.dirname, 'standInOperator.ts'),
      config: { ...config, operator: { namespace, resync_seconds: 60, log_level: process.env['HC_FAULTS_LOG_LEVEL'] ?? 'info', leader_election: { enabled: false } } },
      env: { IDENTITY_ENDPOINT: mi.endpoint, IDENTITY_HEADER: 'faults', HC_RESOLVER_URL: resolver.url, NODE_NO_WARNINGS: '1' },
      args: ['-n', namespace],
    }),
    async stop() {
      await resolver.close();
      await new Promise<void>((r) => mi.server.close(() => r()));
      await arm.close();
      await pgs.stop();
    },
  };
}

/**
 * The SIGKILL scenario for an Azure backend: one ARM server per server; `size` and `updatedSize`
 * are the server's sizes before and after the update phase, `updated(resource)` sees the latter
 * in the ARM fake's server resource.
 */
export function azureKillSuite(backend: AzureBackend, o: { size: Record<string, number>; updatedSize: Record<string, number>; updated: (resource: NonNullable<ReturnType<ArmFake['get']>>) => boolean }): void {
  killSuite({
    backend,
    claim: 'one ARM server per server, nothing left after delete, logins work',
    onlyInFaults: true,
    async setup(cp, w) {
      const azure = await startAzureWorld(cp, w.ns, backend);
      return {
        stop: () => azure.stop(),
        stack: {
          start: () => azure.start({ id: `faults-${w.ns}` }),
          serverSpec: { size: o.size },
          serverUpdate: { spec: { size: o.updatedSize }, done: async (token) => azure.serversOf(`s${token}`).some((id) => o.updated(azure.fake.get(id) ?? {})) },
          inventory: (token) => azure.inventory(token),
          // One ARM server; in the stand-in the server's admin role and the database's role, and the database.
          expected: { servers: 1, roles: 2, databases: 1 },
          windowMs: { create: 4000, update: 3000, 'reset-password': 2000, delete: 3000 },
          loginError: (data, database) => azure.loginError(data, database),
          extensions: (data) => azure.extensions(data),
          timeoutMs: 120_000,
        },
      };
    },
  });
}

/**
 * Single server authenticates logins with md5 only (its gateway), so a role that core gives a SCRAM
 * verifier can never log in there. The backend declares md5; core's SQL module then stores
 * 'md5' || md5(password || role). A real PostgreSQL configured like single server
 * (password_encryption = md5, pg_hba md5) shows the login works through that format.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PoolManager, resolveConfig, rolePasswordFormat, SqlAdmin, type Connection } from '@hybridcloud-postgresql/core';
import { ArmFake } from '@hybridcloud-postgresql/azure-fake';
import { staticTokenCredential } from '@hybridcloud-postgresql/azure-common';
import { startPostgres, type Postgres } from '@hybridcloud-postgresql/testenv';
import definition, { createSingleBackend, type SingleConfig } from './index.js';

let srv: Postgres;
let fake: ArmFake;
let admin: Connection;
const sql = new SqlAdmin(new PoolManager({ maxPools: 4, maxConnectionsPerPool: 2, timeouts: { connectMs: 3_000, statementMs: 20_000, idleMs: 1_000 } }));
const claim = (name: string) => ({ kind: 'PostgreSQLDatabase' as const, namespace: 'ns', name, uid: `uid-${name}`, adopt: false });

beforeAll(async () => {
  srv = await startPostgres();
  const hba = (await srv.psql('SHOW hba_file')).stdout.trim();
  // Like single server: md5 logins only (local socket kept for the test's own psql).
  writeFileSync(hba, 'local all all scram-sha-256\nhost all all 127.0.0.1/32 md5\n');
  await srv.psql("ALTER SYSTEM SET password_encryption = 'md5'; SELECT pg_reload_conf();");
  admin = { host: srv.host, port: srv.port, user: srv.superuser, password: srv.password, database: 'postgres', ssl: false };
  fake = await ArmFake.start({ operationMs: 10 });
});

afterAll(async () => {
  await sql.close();
  await fake?.stop();
  await srv?.stop();
});

async function login(user: string, password: string): Promise<{ user: string; method: string }> {
  const c = new pg.Client({ host: srv.host, port: srv.port, user, password, database: 'postgres', connectionTimeoutMillis: 3000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const r = await c.query<{ u: string }>('SELECT current_user AS u');
    return { user: r.rows[0]!.u, method: (await srv.psql(`SELECT CASE WHEN rolpassword LIKE 'md5%' THEN 'md5' ELSE 'scram' END FROM pg_authid WHERE rolname = '${user}'`)).stdout.trim() };
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('azurepostgres password format', () => {
  it('declares md5, and roles created and re-passworded with it log in through md5', async () => {
    const doc = { backend: 'azurepostgres', backends: { azure: { subscription_id: '00000000-0000-0000-0000-000000000009', location: 'westeurope', resource_group: 'rg', resource_manager_endpoint: fake.url, ca_file: fake.caFile } } };
    const cfg = resolveConfig(doc, { backendSchemas: { azurepostgres: { configSchema: definition.configSchema, configParent: 'azure' } }, env: {} }).config.backends['azurepostgres'] as unknown as SingleConfig;
    const backend = createSingleBackend(cfg, staticTokenCredential(), { pollIntervalMs: 10 });
    expect(backend.passwordFormats).toEqual(['md5']);
    const format = rolePasswordFormat(backend);
    expect(format).toBe('md5');

    await sql.ensureRole(admin, 'orders', 'First-Pw_1', { login: true, claim: claim('orders'), passwordFormat: format });
    const stored = (await srv.psql("SELECT rolpassword FROM pg_authid WHERE rolname = 'orders'")).stdout.trim();
    expect(stored).toBe(`md5${createHash('md5').update('First-Pw_1orders').digest('hex')}`);
    expect(await login('orders', 'First-Pw_1')).toEqual({ user: 'orders', method: 'md5' });

    await sql.setPassword(admin, 'orders', 'Second-Pw_2', 'postgresql', format);
    expect(await login('orders', 'Second-Pw_2')).toEqual({ user: 'orders', method: 'md5' });
    await expect(login('orders', 'First-Pw_1')).rejects.toThrow(/password authentication failed/);
  });

  it('backends that declare nothing keep SCRAM verifiers', () => {
    expect(rolePasswordFormat({})).toBe('scram-sha-256');
  });
});

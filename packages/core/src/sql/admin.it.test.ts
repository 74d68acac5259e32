/**
 * The SQL module against a real PostgreSQL 15: hostile names, owner/grants/isolation, password
 * changes, drops with dependencies, unreachable servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../backend/errors.js';
import { SqlAdmin, type Connection } from './admin.js';
import { PoolManager } from './pools.js';
import { startTestPostgres, type TestPostgres } from '../testing/postgres.js';

let pgsrv: TestPostgres;
let admin: Connection;
const sql = new SqlAdmin(new PoolManager({ maxPools: 8, maxConnectionsPerPool: 2, timeouts: { connectMs: 3_000, statementMs: 20_000, idleMs: 2_000 } }));

beforeAll(async () => {
  pgsrv = await startTestPostgres();
  admin = { host: pgsrv.host, port: pgsrv.port, user: pgsrv.superuser, password: pgsrv.password, database: 'postgres', ssl: false };
  await sql.inDatabase(admin, 'postgres', 'sentinel', (c) => c.query('CREATE TABLE IF NOT EXISTS x (id int)'));
});

afterAll(async () => {
  await sql.close();
  await pgsrv?.stop();
});

const login = (user: string, password: string, database: string) => sql.checkLogin({ ...admin, user, password, database });

async function provision(name: string, password: string, extensions: string[] = []) {
  await sql.ensureRole(admin, name, password, { login: true });
  await sql.ensureDatabase(admin, name, { owner: name });
  await sql.restrictDatabase(admin, name, name);
  await sql.setupInsideDatabase(admin, name, { role: name, extensions });
}

describe('SqlAdmin', () => {
  const hostile = ['a"; DROP TABLE x; --', 'with.dots.in.it', 'with space', 'ünïcødé_日本', "quote'single", 'Upper_Case', 'select', 'x'.repeat(63)];

  it.each(hostile)('creates, uses and drops %j safely', async (name) => {
    const pw = 'Pw-' + Math.random().toString(36).slice(2) + 'A1';
    await provision(name, pw, ['citext']);
    expect(await sql.databaseExists(admin, name)).toBe(true);
    expect(await sql.databaseOwner(admin, name)).toBe(name);
    expect(await login(name, pw, name)).toEqual({ ok: true });
    // The role can create tables in public (PG15+ needs the explicit grant) and use the extension.
    await sql.inDatabase({ ...admin, user: name, password: pw }, name, 'use', async (c) => {
      await c.query('CREATE TABLE t (v citext)');
      await c.query("INSERT INTO t VALUES ('Hello')");
      const r = await c.query("SELECT count(*)::int AS n FROM t WHERE v = 'hello'");
      expect(r.rows[0].n).toBe(1);
    });
    // The sentinel table in postgres survived every statement.
    const alive = await sql.inDatabase(admin, 'postgres', 'sentinel', (c) => c.query("SELECT to_regclass('public.x') AS t"));
    expect(alive.rows[0].t).toBe('x');
    await sql.dropDatabase(admin, name);
    await sql.dropRole(admin, name);
    expect(await sql.databaseExists(admin, name)).toBe(false);
    expect(await sql.roleExists(admin, name)).toBe(false);
  });

  it('lets a non-superuser admin with CREATEROLE/CREATEDB (the RDS/Azure master user) create a database owned by a new role', async () => {
    await sql.ensureRole(admin, 'cloud_master', 'Master-Pw-1a', { login: true, createdb: true, createrole: true });
    const master = { ...admin, user: 'cloud_master', password: 'Master-Pw-1a' };
    await sql.ensureRole(master, 'app_on_cloud', 'App-Pw-1a', { login: true });
    await sql.ensureDatabase(master, 'app_on_cloud', { owner: 'app_on_cloud' });
    await sql.restrictDatabase(master, 'app_on_cloud', 'app_on_cloud');
    await sql.setupInsideDatabase(master, 'app_on_cloud', { role: 'app_on_cloud', extensions: [] });
    expect(await sql.databaseOwner(admin, 'app_on_cloud')).toBe('app_on_cloud');
    expect(await login('app_on_cloud', 'App-Pw-1a', 'app_on_cloud')).toEqual({ ok: true });
    await sql.dropDatabase(master, 'app_on_cloud');
    await sql.dropRole(master, 'app_on_cloud');
    expect(await sql.databaseExists(admin, 'app_on_cloud')).toBe(false);
  });

  it('refuses names longer than 63 bytes instead of truncating', async () => {
    for (const name of ['y'.repeat(64), 'ü'.repeat(32)]) {
      const err = await sql.ensureDatabase(admin, name).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendError);
      expect((err as BackendError).kind).toBe('terminal');
      expect((err as BackendError).reason).toBe('InvalidName');
      expect(await sql.databaseExists(admin, name.slice(0, 63))).toBe(false);
    }
  });

  it('is idempotent and isolates databases from other roles', async () => {
    await provision('team_a', 'Aaaaaa1-secret');
    await provision('team_a', 'Aaaaaa1-secret');
    await provision('team_b', 'Bbbbbb1-secret');
    expect((await sql.ensureDatabase(admin, 'team_a', { owner: 'team_a' })).created).toBe(false);
    const cross = await login('team_b', 'Bbbbbb1-secret', 'team_a');
    expect(cross.ok).toBe(false);
    expect(cross.error).toMatch(/permission denied/);
    // team_b cannot alter team_a's role (no CREATEROLE).
    const alter = await sql.inDatabase({ ...admin, user: 'team_b', password: 'Bbbbbb1-secret' }, 'team_b', 'alter', (c) =>
      c.query(`ALTER ROLE team_a PASSWORD 'hijacked'`)).catch((e: unknown) => e);
    expect(String((alter as Error).message)).toMatch(/permission denied|must have|privilege/);
    for (const n of ['team_a', 'team_b']) {
      await sql.dropDatabase(admin, n);
      await sql.dropRole(admin, n);
    }
  });

  it('changes a password: the old one fails, the new one works', async () => {
    await provision('pwchange', 'Old-password-1');
    await sql.setPassword(admin, 'pwchange', 'New-password-2');
    expect((await login('pwchange', 'Old-password-1', 'pwchange')).ok).toBe(false);
    expect((await login('pwchange', 'New-password-2', 'pwchange')).ok).toBe(true);
    // Passwords outside printable ASCII are sent as literals, hashed by the server.
    await sql.setPassword(admin, 'pwchange', "ünï'code\\pw");
    expect((await login('pwchange', "ünï'code\\pw", 'pwchange')).ok).toBe(true);
    await sql.dropDatabase(admin, 'pwchange');
    await sql.dropRole(admin, 'pwchange');
  });

  it('drops a role that has grants and objects in other databases, and a database with open sessions', async () => {
    await provision('busy', 'Busy-password-1');
    await sql.inDatabase(admin, 'postgres', 'grant', (c) => c.query('GRANT SELECT ON x TO busy'));
    const held = await sql.inDatabase({ ...admin, user: 'busy', password: 'Busy-password-1' }, 'busy', 'hold', async (c) => {
      await c.query('CREATE TABLE kept (id int)');
      // Keep a session open while dropping.
      const other = new (await import('pg')).default.Client({ host: admin.host, port: admin.port, user: 'busy', password: 'Busy-password-1', database: 'busy' });
      other.on('error', () => undefined);
      await other.connect();
      return other;
    });
    await sql.dropDatabase(admin, 'busy');
    await sql.dropRole(admin, 'busy');
    await held.end().catch(() => undefined);
    expect(await sql.roleExists(admin, 'busy')).toBe(false);
  });

  it('creates a database with encoding and collation, and refuses an unknown collation as terminal', async () => {
    await sql.ensureRole(admin, 'coll', 'Coll-password-1');
    await sql.ensureDatabase(admin, 'coll', { owner: 'coll', encoding: 'UTF8', collation: 'C' });
    const r = await sql.inDatabase(admin, 'postgres', 'read', (c) => c.query("SELECT datcollate FROM pg_database WHERE datname = 'coll'"));
    expect(r.rows[0].datcollate).toBe('C');
    const err = await sql.ensureDatabase(admin, 'coll_bad', { encoding: 'UTF8', collation: 'xx_NOPE.utf8' }).catch((e: unknown) => e);
    expect((err as BackendError).kind).toBe('terminal');
    await sql.dropDatabase(admin, 'coll');
    await sql.dropRole(admin, 'coll');
  });

  it('fixes a drifted role (NOLOGIN) and never takes over a superuser', async () => {
    await sql.inDatabase(admin, 'postgres', 'setup', (c) => c.query('CREATE ROLE drift NOLOGIN'));
    expect(await sql.roleCanLogin(admin, 'drift')).toBe(false);
    await sql.ensureRole(admin, 'drift', undefined, { login: true });
    expect(await sql.roleCanLogin(admin, 'drift')).toBe(true);
    await sql.dropRole(admin, 'drift');
    const err = await sql.ensureRole(admin, admin.user, 'Hijack-1234', { login: true }).catch((e: unknown) => e);
    expect((err as BackendError).reason).toBe('InvalidName');
    expect((await sql.checkLogin(admin)).ok).toBe(true);
  });

  it('reports an unreachable server as retryable, quickly', async () => {
    const started = Date.now();
    const err = await sql.databaseExists({ ...admin, port: 1 }, 'whatever').catch((e: unknown) => e);
    expect((err as BackendError).kind).toBe('retryable');
    expect((err as BackendError).reason).toBe('ServerUnreachable');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports a wrong admin password without echoing it', async () => {
    const err = await sql.databaseExists({ ...admin, password: 'Canary-Wrong-Pw-42' }, 'x').catch((e: unknown) => e);
    expect((err as BackendError).reason).toBe('AdminLoginFailed');
    expect((err as Error).message).not.toContain('Canary-Wrong-Pw-42');
  });
});

/**
 * The SQL module against a real PostgreSQL 15: hostile names, owner/grants/isolation, password
 * changes, drops with dependencies, unreachable servers.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../backend/errors.js';
import { runInReconcileScope } from '../controller/reconcileContext.js';
import { SqlAdmin, type Connection } from './admin.js';
import { PoolManager } from './pools.js';
import type { Claim } from './ownership.js';
import { startTestPostgres, type TestPostgres } from '../testing/postgres.js';

let pgsrv: TestPostgres;
let admin: Connection;
const sql = new SqlAdmin(new PoolManager({ maxPools: 8, maxConnectionsPerPool: 2, timeouts: { connectMs: 3_000, statementMs: 20_000, idleMs: 2_000 } }));

beforeAll(async () => {
  pgsrv = await startTestPostgres();
  admin = { host: pgsrv.host, port: pgsrv.port, user: pgsrv.superuser, password: pgsrv.password, database: 'postgres', ssl: false };
  await sql.inDatabase(admin, 'postgres', 'sentinel', (c) => c.query('CREATE TABLE IF NOT EXISTS public.x (id int)'));
});

afterAll(async () => {
  await sql.close();
  await pgsrv?.stop();
});

const login = (user: string, password: string, database: string) => sql.checkLogin({ ...admin, user, password, database });
/** A tenant's own session: a plain client, without the operator's pinned settings. */
async function asTenant<T>(user: string, password: string, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: admin.host, port: admin.port, user, password, database });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}
const claim = (name: string, adopt = false): Claim => ({ kind: 'PostgreSQLDatabase', namespace: 'ns', name, uid: `uid-${name}`, adopt });
const drop = async (name: string, c: Claim = claim(name)) => {
  await sql.dropDatabase(admin, name, { owner: name, claim: c });
  await sql.dropRole(admin, name, c);
};

async function provision(name: string, password: string, extensions: string[] = []) {
  await sql.ensureRole(admin, name, password, { login: true, claim: claim(name) });
  await sql.ensureDatabase(admin, name, { owner: name, claim: claim(name) });
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
    await asTenant(name, pw, name, async (c) => {
      await c.query('CREATE TABLE t (v citext)');
      await c.query("INSERT INTO t VALUES ('Hello')");
      const r = await c.query("SELECT count(*)::int AS n FROM t WHERE v = 'hello'");
      expect(r.rows[0].n).toBe(1);
    });
    // The sentinel table in postgres survived every statement.
    const alive = await sql.inDatabase(admin, 'postgres', 'sentinel', (c) => c.query("SELECT to_regclass('public.x') AS t"));
    expect(alive.rows[0].t).toBe('public.x');
    await drop(name);
    expect(await sql.databaseExists(admin, name)).toBe(false);
    expect(await sql.roleExists(admin, name)).toBe(false);
  });

  it('lets a non-superuser admin with CREATEROLE/CREATEDB (the RDS/Azure master user) create a database owned by a new role', async () => {
    await sql.ensureRole(admin, 'cloud_master', 'Master-Pw-1a', { login: true, createdb: true, createrole: true, claim: claim('cloud_master') });
    const master = { ...admin, user: 'cloud_master', password: 'Master-Pw-1a' };
    await sql.ensureRole(master, 'app_on_cloud', 'App-Pw-1a', { login: true, claim: claim('app_on_cloud') });
    await sql.ensureDatabase(master, 'app_on_cloud', { owner: 'app_on_cloud', claim: claim('app_on_cloud') });
    await sql.restrictDatabase(master, 'app_on_cloud', 'app_on_cloud');
    await sql.setupInsideDatabase(master, 'app_on_cloud', { role: 'app_on_cloud', extensions: [] });
    expect(await sql.databaseOwner(admin, 'app_on_cloud')).toBe('app_on_cloud');
    expect(await login('app_on_cloud', 'App-Pw-1a', 'app_on_cloud')).toEqual({ ok: true });
    await sql.dropDatabase(master, 'app_on_cloud', { owner: 'app_on_cloud', claim: claim('app_on_cloud') });
    await sql.dropRole(master, 'app_on_cloud', claim('app_on_cloud'));
    expect(await sql.databaseExists(admin, 'app_on_cloud')).toBe(false);
  });

  it('refuses names longer than 63 bytes instead of truncating', async () => {
    for (const name of ['y'.repeat(64), 'ü'.repeat(32)]) {
      const err = await sql.ensureDatabase(admin, name, { owner: 'nobody', claim: claim('x') }).catch((e: unknown) => e);
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
    expect((await sql.ensureDatabase(admin, 'team_a', { owner: 'team_a', claim: claim('team_a') })).created).toBe(false);
    const cross = await login('team_b', 'Bbbbbb1-secret', 'team_a');
    expect(cross.ok).toBe(false);
    expect(cross.error).toMatch(/permission denied/);
    // team_b cannot alter team_a's role (no CREATEROLE).
    const alter = await asTenant('team_b', 'Bbbbbb1-secret', 'team_b', (c) =>
      c.query(`ALTER ROLE team_a PASSWORD 'hijacked'`)).catch((e: unknown) => e);
    expect(String((alter as Error).message)).toMatch(/permission denied|must have|privilege/);
    for (const n of ['team_a', 'team_b']) await drop(n);
  });

  it('changes a password: the old one fails, the new one works', async () => {
    await provision('pwchange', 'Old-password-1');
    await sql.setPassword(admin, 'pwchange', 'New-password-2');
    expect((await login('pwchange', 'Old-password-1', 'pwchange')).ok).toBe(false);
    expect((await login('pwchange', 'New-password-2', 'pwchange')).ok).toBe(true);
    // Passwords outside printable ASCII are sent as literals, hashed by the server.
    await sql.setPassword(admin, 'pwchange', "ünï'code\\pw");
    expect((await login('pwchange', "ünï'code\\pw", 'pwchange')).ok).toBe(true);
    await drop('pwchange');
  });

  it('drops a role that has grants and objects in other databases, and a database with open sessions', async () => {
    await provision('busy', 'Busy-password-1');
    await sql.inDatabase(admin, 'postgres', 'grant', (c) => c.query('GRANT SELECT ON public.x TO busy'));
    const held = await asTenant('busy', 'Busy-password-1', 'busy', async (c) => {
      await c.query('CREATE TABLE kept (id int)');
      // Keep a session open while dropping.
      const other = new (await import('pg')).default.Client({ host: admin.host, port: admin.port, user: 'busy', password: 'Busy-password-1', database: 'busy' });
      other.on('error', () => undefined);
      await other.connect();
      return other;
    });
    await drop('busy');
    await held.end().catch(() => undefined);
    expect(await sql.roleExists(admin, 'busy')).toBe(false);
  });

  it('creates a database with encoding and collation, and refuses an unknown collation as terminal', async () => {
    await sql.ensureRole(admin, 'coll', 'Coll-password-1', { claim: claim('coll') });
    await sql.ensureDatabase(admin, 'coll', { owner: 'coll', claim: claim('coll'), encoding: 'UTF8', collation: 'C' });
    const r = await sql.inDatabase(admin, 'postgres', 'read', (c) => c.query("SELECT datcollate FROM pg_database WHERE datname = 'coll'"));
    expect(r.rows[0].datcollate).toBe('C');
    const err = await sql.ensureDatabase(admin, 'coll_bad', { owner: 'coll', claim: claim('coll'), encoding: 'UTF8', collation: 'xx_NOPE.utf8' }).catch((e: unknown) => e);
    expect((err as BackendError).kind).toBe('terminal');
    await drop('coll');
  });

  it('fixes a drifted role (NOLOGIN) of its own, and never takes over a role it did not create', async () => {
    await sql.ensureRole(admin, 'drift', undefined, { login: false, claim: claim('drift') });
    expect(await sql.roleCanLogin(admin, 'drift')).toBe(false);
    await sql.ensureRole(admin, 'drift', undefined, { login: true, claim: claim('drift') });
    expect(await sql.roleCanLogin(admin, 'drift')).toBe(true);
    // Another object's claim on the same name: NameTaken naming the holder, also with adoption.
    for (const adopt of [false, true]) {
      const other = await sql.ensureRole(admin, 'drift', 'Hijack-1234', { login: true, claim: { ...claim('other'), adopt } }).catch((e: unknown) => e);
      expect((other as BackendError).reason).toBe('NameTaken');
      expect((other as Error).message).toContain('PostgreSQLDatabase ns/drift');
      expect(await sql.dropRole(admin, 'drift', { ...claim('other'), adopt })).toMatchObject({ dropped: false });
    }
    await sql.dropRole(admin, 'drift', claim('drift'));
    expect(await sql.roleExists(admin, 'drift')).toBe(false);
    // A hand-made role: taken unless adoption is allowed; a superuser never.
    await sql.inDatabase(admin, 'postgres', 'setup', (c) => c.query('CREATE ROLE handmade NOLOGIN'));
    const taken = await sql.ensureRole(admin, 'handmade', 'Pw-123456', { login: true, claim: claim('handmade') }).catch((e: unknown) => e);
    expect((taken as BackendError).reason).toBe('NameTaken');
    expect((taken as Error).message).toMatch(/not created by the operator \(NOLOGIN\)/);
    expect(await sql.dropRole(admin, 'handmade', claim('handmade'))).toMatchObject({ dropped: false });
    await sql.ensureRole(admin, 'handmade', undefined, { login: true, claim: claim('handmade', true) });
    expect(await sql.roleCanLogin(admin, 'handmade')).toBe(true);
    // Adopted means marked: from now on it is ours without adoption.
    await sql.ensureRole(admin, 'handmade', undefined, { login: true, claim: claim('handmade') });
    await sql.dropRole(admin, 'handmade', claim('handmade'));
    for (const adopt of [false, true]) {
      const err = await sql.ensureRole(admin, admin.user, 'Hijack-1234', { login: true, claim: claim(admin.user, adopt) }).catch((e: unknown) => e);
      expect((err as BackendError).reason).toBe('NameTaken');
      expect(await sql.dropRole(admin, admin.user, claim(admin.user, adopt))).toMatchObject({ dropped: false });
    }
    expect((await sql.checkLogin(admin)).ok).toBe(true);
  });

  it('never adopts a database owned by another role; drops only what is ours', async () => {
    await provision('db_owner_a', 'Owner-a-pw-1');
    await sql.ensureRole(admin, 'db_thief', 'Thief-pw-1', { login: true, claim: claim('db_thief') });
    const err = await sql.ensureDatabase(admin, 'db_owner_a', { owner: 'db_thief', claim: claim('db_thief', true) }).catch((e: unknown) => e);
    expect((err as BackendError).reason).toBe('NameTaken');
    expect((err as Error).message).toContain('owned by role db_owner_a');
    expect(await sql.dropDatabase(admin, 'db_owner_a', { owner: 'db_thief', claim: claim('db_thief', true) })).toMatchObject({ dropped: false });
    expect(await sql.databaseOwner(admin, 'db_owner_a')).toBe('db_owner_a');
    await drop('db_owner_a');
    await sql.dropRole(admin, 'db_thief', claim('db_thief'));
    // What the Python operator left: a database owned by the admin login, a role with a password.
    await sql.inDatabase(admin, 'postgres', 'legacy', async (c) => {
      await c.query(`CREATE ROLE py_legacy LOGIN PASSWORD 'Legacy-pw-1'`);
      await c.query('CREATE DATABASE py_legacy');
    });
    const taken = await sql.ensureDatabase(admin, 'py_legacy', { owner: 'py_legacy', claim: claim('py_legacy') }).catch((e: unknown) => e);
    expect((taken as BackendError).reason).toBe('NameTaken');
    await sql.ensureRole(admin, 'py_legacy', undefined, { login: true, claim: claim('py_legacy', true) });
    await sql.ensureDatabase(admin, 'py_legacy', { owner: 'py_legacy', claim: claim('py_legacy', true) });
    expect(await sql.databaseOwner(admin, 'py_legacy')).toBe('py_legacy');
    expect((await login('py_legacy', 'Legacy-pw-1', 'py_legacy')).ok).toBe(true);
    await drop('py_legacy');
    expect(await sql.databaseExists(admin, 'py_legacy')).toBe(false);
  });

  it('pins the admin session: a planted search_path or role in the database does not apply', async () => {
    await provision('pinned', 'Pinned-pw-1');
    await sql.inDatabase(admin, 'postgres', 'plant', async (c) => {
      await c.query(`ALTER DATABASE pinned SET search_path = evil, public`);
      await c.query(`ALTER DATABASE pinned SET role = pinned`);
    });
    const r = await sql.inDatabase(admin, 'pinned', 'read', (c) => c.query<{ sp: string; u: string }>('SELECT pg_catalog.current_setting($1) AS sp, CURRENT_USER AS u', ['search_path']));
    expect(r.rows[0]).toEqual({ sp: 'pg_catalog,pg_temp', u: admin.user });
    await drop('pinned');
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

describe('sessions tied to the running reconcile', () => {
  it('a statement blocked on a lock ends as soon as its reconcile is cancelled, and the pool stays usable', async () => {
    const role = 'cancel_me';
    await sql.ensureRole(admin, role, 'pw-1', { login: true, claim: claim(role) });
    // Another session holds the role's row lock: ALTER ROLE waits (up to lock_timeout, 20 s here).
    const holder = new pg.Client({ host: admin.host, port: admin.port, user: admin.user, password: admin.password, database: 'postgres' });
    holder.on('error', () => undefined);
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`ALTER ROLE ${role} PASSWORD 'held'`);
      const reconcile = new AbortController();
      const started = Date.now();
      const waiting = runInReconcileScope(reconcile.signal, () => sql.setPassword(admin, role, 'pw-2'));
      setTimeout(() => reconcile.abort(new Error('deadline')), 500);
      const err = await waiting.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(BackendError);
      expect((err as BackendError).reason).toBe('Cancelled');
      expect(Date.now() - started).toBeLessThan(10_000); // not the 20 s lock_timeout
      // A cancelled reconcile sends nothing more.
      const late = await runInReconcileScope(reconcile.signal, () => sql.setPassword(admin, role, 'pw-3')).then(() => 'ran', (e: BackendError) => e.reason);
      expect(late).toBe('Cancelled');
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end().catch(() => undefined);
    }
    await sql.setPassword(admin, role, 'pw-4');
    expect((await login(role, 'pw-4', 'postgres')).ok).toBe(true);
    await sql.dropRole(admin, role, claim(role));
  }, 60_000);
});

describe('a login without the privileges core needs', () => {
  it('fails with InsufficientPrivilege naming the login and the adminConnection hook', async () => {
    const claim: Claim = { kind: 'PostgreSQLServer', namespace: 'ns', name: 'weak', uid: 'uid-weak', adopt: false };
    await sql.ensureRole(admin, 'weak_login', 'weak-password-1', { login: true, claim });
    const weak: Connection = { ...admin, user: 'weak_login', password: 'weak-password-1' };
    const err = await sql.ensureRole(weak, 'weak_child', 'child-password-1', { login: true, claim: { ...claim, name: 'child', uid: 'uid-child' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).reason).toBe('InsufficientPrivilege');
    expect((err as BackendError).message).toMatch(/'weak_login'.*database\.adminConnection hook/);
  });
});

/**
 * The product end to end: the operator runs as a child process through its CLI (production
 * entry point, plugin discovery of backend-external), against a real kube-apiserver and a real
 * PostgreSQL. Assertions are on the world: objects, Secrets, psql logins, roles in pg_roles.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCrds, createTestNamespace, startPostgres, useControlPlane, type ControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import { eventually, externalConfig, loginError, readyOf, REPO, startOperator, withLogin, World, type OperatorProcess } from './harness.js';

const CANARY = `Canary${randomBytes(8).toString('hex')}Pw`;
let cp: ControlPlane;
let pgs: Postgres;
let op: OperatorProcess;
let a: World;
let b: World;
/** Every password the operator handed out; none may show up in logs, Events or status. */
const seenPasswords = new Set<string>([CANARY]);

const psqlAs = (data: Record<string, string>, sql: string) => pgs.psql(sql, { user: data['username']!, password: data['password']!, database: data['dbname']! });

async function readySecret(w: World, secretName: string, cr: () => Promise<unknown>): Promise<Record<string, string>> {
  await eventually(`${secretName} ready`, async () => readyOf((await cr()) as never)?.status === 'True', 60_000);
  const data = (await w.secret(secretName))!;
  seenPasswords.add(data['password']!);
  return data;
}

beforeAll(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
  pgs = await startPostgres({ password: CANARY });
  const kc = cp.kubeConfig();
  a = new World(kc, await createTestNamespace(cp, 'e2e-team-a'));
  b = new World(kc, await createTestNamespace(cp, 'e2e-team-b'));
  op = await startOperator({
    cp,
    config: externalConfig(pgs, {
      allowed_backends: ['external'],
      operator: { namespace: a.ns, resync_seconds: 30, log_level: 'debug', leader_election: { lease_name: `e2e-${a.ns}` } },
    }),
    env: { E2E_PG_ADMIN_PASSWORD: CANARY },
    args: ['-n', a.ns, '-n', b.ns],
  });
});

afterAll(async () => {
  await op?.stop();
  // The operator's log, for a failure's post-mortem.
  mkdirSync(join(REPO, '.testenv'), { recursive: true });
  if (op) writeFileSync(join(REPO, '.testenv', 'lifecycle-operator.log'), op.output());
  await pgs?.stop();
});

describe('operator end to end (external backend)', () => {
  it('server + database → Secrets → psql login creates a table', async () => {
    await a.applyServer('main');
    await a.applyDatabase('orders', 'main', { database: { extensions: ['citext'] } });
    const admin = await readySecret(a, 'main-admin', () => a.server('main'));
    const creds = await readySecret(a, 'orders-creds', () => a.database('orders'));
    for (const key of ['host', 'hostname', 'port', 'dbname', 'username', 'password', 'sslmode', 'uri', 'jdbc-uri']) expect(creds[key], key).toBeTruthy();
    expect(admin['username']).toBe(`${a.ns}.main`);
    const out = await psqlAs(creds, "CREATE TABLE t (v citext); INSERT INTO t VALUES ('Hi'); SELECT count(*) FROM t WHERE v = 'hi';");
    expect(out.stdout.trim().split('\n').pop()).toBe('1');
    // The team admin can work in its own database (member of the database's role).
    expect(await withLogin(admin, async (c) => (await c.query('SELECT count(*)::int AS n FROM t')).rows[0].n, creds['dbname'])).toBe(1);
    const srv = await a.server('main');
    expect(srv?.metadata.finalizers).toEqual(['hybridcloud.maibornwolff.de/finalizer']);
    expect(srv?.status?.deployment?.status).toBe('finished');
  });

  it("a second team's admin and database roles can neither connect to the first team's database nor alter its roles", async () => {
    // Same CR names in another namespace: must not collide on the shared server.
    await b.applyServer('main');
    await b.applyDatabase('orders', 'main');
    const bAdmin = await readySecret(b, 'main-admin', () => b.server('main'));
    const bCreds = await readySecret(b, 'orders-creds', () => b.database('orders'));
    const aAdmin = (await a.secret('main-admin'))!;
    const aCreds = (await a.secret('orders-creds'))!;
    expect(bCreds['dbname']).not.toBe(aCreds['dbname']);
    for (const intruder of [bAdmin, bCreds]) {
      expect(await loginError(intruder, aCreds['dbname'])).toMatch(/permission denied/);
      for (const victim of [aAdmin['username']!, aCreds['username']!]) {
        const err = await withLogin(intruder, (c) => c.query(`ALTER ROLE "${victim.replaceAll('"', '""')}" PASSWORD 'hijacked'`), 'postgres')
          .then(() => 'altered', (e: Error) => e.message);
        expect(err, `${intruder['username']} altering ${victim}`).toMatch(/permission denied|must have|privilege/);
      }
    }
    expect((await psqlAs(aCreds, 'SELECT count(*) FROM t')).stdout.trim()).toBe('1');
  });

  it('reset-password on a server and on a database: old fails, new works, label removed, Event posted', async () => {
    for (const [kind, name, secret] of [['server', 'main', 'main-admin'], ['database', 'orders', 'orders-creds']] as const) {
      const old = (await a.secret(secret))!;
      await a.label(kind, name, { 'operator/action': 'reset-password' });
      await eventually(`${kind} label removed`, async () => {
        const o = kind === 'server' ? await a.server(name) : await a.database(name);
        return o && o.metadata.labels?.['operator/action'] === undefined;
      });
      const now = (await a.secret(secret))!;
      seenPasswords.add(now['password']!);
      expect(now['password']).not.toBe(old['password']);
      expect(await loginError(old)).toMatch(/password authentication failed/);
      expect(await loginError(now)).toBeUndefined();
      // Events are posted in the background: polled, not read once.
      await eventually(`PasswordReset Event for ${name}`, async () => (await a.events()).some((e) => e.reason === 'PasswordReset' && e.involvedObject.name === name));
    }
    // An unknown action is reported and removed.
    await a.label('database', 'orders', { 'operator/action': 'do-magic' });
    await eventually('unknown action reported', async () => (await a.events()).some((e) => e.reason === 'UnknownAction'));
    await eventually('unknown label removed', async () => (await a.database('orders'))?.metadata.labels?.['operator/action'] === undefined);
  });

  it('allowed_backends: a listed backend is used, an unlisted one is refused with BackendNotAllowed', async () => {
    await a.applyServer('listed', { backend: 'external' });
    await a.applyServer('unlisted', { backend: 'awsrds' });
    await readySecret(a, 'listed-admin', () => a.server('listed'));
    const refused = await eventually('BackendNotAllowed', async () => {
      const r = readyOf(await a.server('unlisted'));
      return r?.reason === 'BackendNotAllowed' ? r : undefined;
    });
    expect(refused.status).toBe('False');
    expect(refused.message).toContain('external');
    expect(await a.secret('unlisted-admin')).toBeUndefined();
    await a.delete('server', 'unlisted');
    await eventually('unlisted deleted', async () => !(await a.server('unlisted')));
  });

  it('a database whose server does not exist yet becomes Ready as soon as the server is', async () => {
    await a.applyDatabase('early', 'later');
    const waiting = await eventually('ServerNotReady', async () => {
      const r = readyOf(await a.database('early'));
      return r?.reason === 'ServerNotReady' ? r : undefined;
    });
    expect(waiting.status).toBe('False');
    await a.applyServer('later');
    await eventually('server ready', async () => readyOf(await a.server('later'))?.status === 'True');
    const serverReadyAt = Date.now();
    const creds = await readySecret(a, 'early-creds', () => a.database('early'));
    // Re-queued by the server's change, not by a periodic retry (resync is 30 s here).
    expect(Date.now() - serverReadyAt).toBeLessThan(10_000);
    expect(await loginError(creds)).toBeUndefined();
  });

  it('hostile names: invalid ones are refused by the API, dots and 64+ characters are created safely', async () => {
    for (const bad of ['a"; DROP TABLE x; --', 'with space', 'ünïcødé']) {
      await expect(a.applyDatabase(bad, 'main')).rejects.toThrow();
    }
    const long = `v1.${'x'.repeat(70)}`;
    for (const name of ['v1.orders.db', long]) {
      await a.applyDatabase(name, 'main');
      const creds = await readySecret(a, `${name}-creds`, () => a.database(name));
      expect(Buffer.byteLength(creds['dbname']!)).toBeLessThanOrEqual(63);
      const out = await psqlAs(creds, 'CREATE TABLE ok (id int); SELECT current_database();');
      expect(out.stdout.trim().split('\n').pop()).toBe(creds['dbname']);
    }
    // The sentinel: nothing else was touched.
    expect((await pgs.psql("SELECT count(*) FROM pg_database WHERE datname LIKE '%DROP%'")).stdout.trim()).toBe('0');
  });

  it('deleting servers and databases removes databases, roles, Secrets and finalizers', async () => {
    const secrets: Array<[World, string]> = [];
    const roles: string[] = [];
    const dbs: string[] = [];
    for (const [w, d] of [[a, 'orders'], [a, 'early'], [a, 'v1.orders.db'], [a, `v1.${'x'.repeat(70)}`], [b, 'orders']] as const) {
      const creds = (await w.secret(`${d}-creds`))!;
      roles.push(creds['username']!);
      dbs.push(creds['dbname']!);
      secrets.push([w, `${d}-creds`]);
      await w.delete('database', d);
    }
    for (const [w, s] of [[a, 'main'], [a, 'later'], [a, 'listed'], [b, 'main']] as const) {
      roles.push((await w.secret(`${s}-admin`))!['username']!);
      secrets.push([w, `${s}-admin`]);
      await w.delete('server', s); // servers deleted at the same time: they wait for their databases
    }
    for (const [w, s] of [[a, 'main'], [a, 'later'], [a, 'listed'], [b, 'main']] as const) {
      await eventually(`server ${s} gone`, async () => !(await w.server(s)), 60_000);
    }
    for (const [w, s] of secrets) expect(await w.secret(s), s).toBeUndefined();
    const quoted = (xs: string[]) => xs.map((x) => `'${x.replaceAll("'", "''")}'`).join(',');
    expect((await pgs.psql(`SELECT rolname FROM pg_roles WHERE rolname IN (${quoted(roles)})`)).stdout.trim()).toBe('');
    expect((await pgs.psql(`SELECT datname FROM pg_database WHERE datname IN (${quoted(dbs)})`)).stdout.trim()).toBe('');
  });

  it('no password ever appears in logs, Events or status', async () => {
    const out = op.output();
    expect(out.length).toBeGreaterThan(0);
    const everything = [out];
    for (const w of [a, b]) everything.push(JSON.stringify(await w.events()));
    for (const name of ['listed', 'unlisted']) everything.push(JSON.stringify((await a.server(name))?.status ?? {}));
    for (const pw of seenPasswords) {
      for (const text of everything) expect(text.includes(pw), `password leaked`).toBe(false);
    }
  });
});

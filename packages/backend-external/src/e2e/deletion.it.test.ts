/**
 * Deletion in every order a cluster produces, on the real control plane (with
 * kube-controller-manager: namespace lifecycle and garbage collection) and a real PostgreSQL,
 * through the operator's CLI. Each case ends with the CRs gone (no stuck finalizer) and nothing
 * of ours left on the server (no leak), or with a clear condition and the documented way out.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, VERSION } from '@hybridcloud-postgresql/core';
import { applyCrds, createTestNamespace, startPostgres, useControlPlane, type ControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import { eventually, externalConfig, readyOf, REPO, startOperator, World, type OperatorProcess } from './harness.js';

const ADMIN_PW = `Adm${randomBytes(8).toString('hex')}Pw`;
let cp: ControlPlane;
let pgs: Postgres;
let op: OperatorProcess;
let kc: ReturnType<ControlPlane['kubeConfig']>;

const tag = () => `d${randomBytes(3).toString('hex')}`;

/** Roles and databases on the server whose names contain `token` (the CR names are unique tokens). */
async function leftovers(token: string): Promise<string[]> {
  const like = `%${token}%`;
  const out = await pgs.psql(`SELECT 'role:' || rolname FROM pg_roles WHERE rolname LIKE '${like}' UNION ALL SELECT 'db:' || datname FROM pg_database WHERE datname LIKE '${like}'`);
  return out.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
}

/** The namespaces are made up front: the operator watches exactly these (-n), not other tests' objects. */
const PREFIXES = ['del-secret-repair', 'del-failed', 'del-secret-first', 'del-server-first', 'del-namespace', 'del-creating', 'del-no-backend', 'del-foreign-secret'] as const;
const worlds = new Map<string, World>();
async function world(prefix: (typeof PREFIXES)[number]): Promise<World> {
  return worlds.get(prefix)!;
}

async function gone(w: World, kind: 'server' | 'database', name: string, timeoutMs = 60_000): Promise<void> {
  await eventually(`${kind} ${name} gone`, async () => (kind === 'server' ? await w.server(name) : await w.database(name)) === undefined, timeoutMs);
}

async function readyDatabase(w: World, server: string, name: string): Promise<void> {
  await w.applyDatabase(name, server);
  await eventually(`${name} ready`, async () => readyOf(await w.database(name))?.status === 'True');
}

beforeAll(async () => {
  cp = await useControlPlane();
  kc = cp.kubeConfig();
  await applyCrds(cp);
  pgs = await startPostgres({ password: ADMIN_PW });
  for (const p of PREFIXES) worlds.set(p, new World(kc, await createTestNamespace(cp, p)));
  const home = worlds.get('del-failed')!.ns;
  op = await startOperator({
    cp,
    config: externalConfig(pgs, { operator: { namespace: home, resync_seconds: 300, log_level: 'debug', leader_election: { lease_name: `e2e-${home}` } } }),
    env: { E2E_PG_ADMIN_PASSWORD: ADMIN_PW },
    args: [...worlds.values()].flatMap((w) => ['-n', w.ns]),
  });
});

afterAll(async () => {
  await op?.stop();
  // The operator's log, for a failure's post-mortem.
  mkdirSync(join(REPO, '.testenv'), { recursive: true });
  if (op) writeFileSync(join(REPO, '.testenv', 'deletion-operator.log'), op.output());
  await pgs?.stop();
});

describe('credentials Secrets are watched', () => {
  it('a deleted database Secret is rewritten long before the resync (300 s here) and logs in', async () => {
    const w = await world('del-secret-repair');
    const t = tag();
    await w.applyServer('main');
    await readyDatabase(w, 'main', t);
    await w.core.deleteNamespacedSecret({ namespace: w.ns, name: `${t}-creds` });
    // Only the Secret watch can bring it back within this window: the resync is 300 s away.
    const data = await eventually('Secret rewritten', async () => {
      const d = await w.secret(`${t}-creds`);
      return d?.['password'] && d['host'] ? d : undefined;
    }, 60_000);
    const out = await pgs.psql('SELECT current_user', { user: data['username']!, password: data['password']!, database: data['dbname']! });
    expect(out.stdout.trim()).toBe(data['username']);
  });
});

describe('deletion never hangs and never leaks', () => {
  it('a database that never became Ready (missing extension) drops its role and database on delete', async () => {
    const w = await world('del-failed');
    const t = tag();
    await w.applyServer('main');
    await eventually('server ready', async () => readyOf(await w.server('main'))?.status === 'True');
    await w.applyDatabase(t, 'main', { database: { extensions: ['no_such_extension_at_all'] } });
    await eventually('database failed', async () => {
      const r = readyOf(await w.database(t));
      return r?.status === 'False' && r.reason !== 'Creating' && r.reason !== 'ServerNotReady';
    });
    expect(await leftovers(t)).toHaveLength(2); // role and database exist
    await w.delete('database', t);
    await gone(w, 'database', t);
    expect(await leftovers(t)).toEqual([]);
  });

  it("the server's Secret deleted first, then the database and the server: both finish, nothing left", async () => {
    const w = await world('del-secret-first');
    const t = tag();
    await w.applyServer('main');
    await readyDatabase(w, 'main', t);
    await w.core.deleteNamespacedSecret({ namespace: w.ns, name: 'main-admin' });
    await w.delete('database', t);
    await w.delete('server', 'main');
    await gone(w, 'database', t);
    await gone(w, 'server', 'main');
    expect(await leftovers(t)).toEqual([]);
  });

  it('the server deleted before its databases: it waits for them, then both go', async () => {
    const w = await world('del-server-first');
    const t = tag();
    await w.applyServer('main');
    await readyDatabase(w, 'main', t);
    await w.delete('server', 'main');
    await eventually('server waits for its databases', async () => readyOf(await w.server('main'))?.reason === 'DependentDatabases');
    await w.delete('database', t);
    await gone(w, 'database', t);
    await gone(w, 'server', 'main');
    expect(await leftovers(t)).toEqual([]);
  });

  it('a namespace delete (Secrets removed at once, CRs on finalizers) finishes, nothing left', async () => {
    const w = await world('del-namespace');
    const [t1, t2] = [tag(), tag()];
    await w.applyServer('main');
    await readyDatabase(w, 'main', t1);
    await readyDatabase(w, 'main', t2);
    await w.core.deleteNamespace({ name: w.ns });
    await eventually('namespace gone', async () => (await w.core.readNamespace({ name: w.ns }).then(() => false, (e: { code?: number }) => e.code === 404)), 120_000, 500);
    expect(await leftovers(t1)).toEqual([]);
    expect(await leftovers(t2)).toEqual([]);
  }, 180_000);

  it('a database deleted while its server is still provisioning (never created anything) goes at once', async () => {
    const w = await world('del-creating');
    const t = tag();
    await w.applyDatabase(t, 'not-there-yet');
    await eventually('waiting for its server', async () => readyOf(await w.database(t))?.reason === 'ServerNotReady');
    await w.delete('database', t);
    await gone(w, 'database', t, 30_000);
  });

  it('a server whose backend is no longer enabled says how to get out; the Orphan annotation lets it go', async () => {
    const w = await world('del-no-backend');
    await w.applyServer('main');
    await eventually('server ready', async () => readyOf(await w.server('main'))?.status === 'True');
    // As if the admin removed its backend from the config: the recorded backend is not loaded.
    await w.co.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: w.ns, plural: 'postgresqlservers', name: 'main', body: [{ op: 'replace', path: '/status/backend', value: 'removedbackend' }] });
    await w.delete('server', 'main');
    const stuck = await eventually('server reports it cannot delete', async () => {
      const r = readyOf(await w.server('main'));
      return r?.message?.includes('Cannot delete') ? r : undefined;
    });
    expect(stuck.message).toContain('hybridcloud.maibornwolff.de/deletion-policy=Orphan');
    await w.co.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: w.ns, plural: 'postgresqlservers', name: 'main', body: [{ op: 'add', path: '/metadata/annotations', value: { 'hybridcloud.maibornwolff.de/deletion-policy': 'Orphan' } }] });
    await gone(w, 'server', 'main');
    await eventually('Orphaned Event', async () => (await w.events()).some((e) => e.reason === 'Orphaned' && e.involvedObject.name === 'main'));
  });

  it("an existing Secret named in credentialsSecret is neither taken over nor deleted: SecretConflict, the user's keys kept", async () => {
    const w = await world('del-foreign-secret');
    const t = tag();
    await w.applyServer('main');
    await eventually('server ready', async () => readyOf(await w.server('main'))?.status === 'True');
    await w.core.createNamespacedSecret({ namespace: w.ns, body: { metadata: { name: `${t}-creds` }, stringData: { 'my-key': 'mine' } } });
    await w.applyDatabase(t, 'main');
    const r = await eventually('SecretConflict', async () => {
      const c = readyOf(await w.database(t));
      return c?.reason === 'SecretConflict' ? c : undefined;
    });
    expect(r.message).toContain('hybridcloud.maibornwolff.de/adopt=true');
    await w.delete('database', t);
    await gone(w, 'database', t);
    expect(await w.secret(`${t}-creds`)).toEqual({ 'my-key': 'mine' });
    expect(await leftovers(t)).toEqual([]);
  });
});

/**
 * Scenario 1: the operator process SIGKILLed at a random instant during create, update,
 * reset-password and delete, then started again (one replica without leader election: a new
 * replica behind a Lease first waits for the Lease to expire, which the leader scenario
 * measures). Afterwards the world is checked, not the calls: no second server/role/
 * database, nothing left after delete, no CR held by its finalizer, logins work.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, VERSION } from '@hybridcloud-postgresql/core';
import { readyOf, type OperatorProcess, type World } from '../harness.js';
import { randomBetween, settle, sleep, Tally } from './report.js';

export const PHASES = ['create', 'update', 'reset-password', 'delete'] as const;
export type Phase = (typeof PHASES)[number];

/** What exists in the backend's environment for one server+database pair (its names carry `token`). */
export interface Inventory {
  /** Cloud servers (RDS instances…); 0 for backends without one. */
  servers: number;
  roles: number;
  databases: number;
  /** What else must not outlive a delete but is not a second server (a helm server's volume claims once its release is gone). */
  leftovers?: number;
  names: string[];
}

/** The roles and databases on one PostgreSQL whose names carry `token`, one row each: `role:<name>` or `db:<name>` (column n). */
export const tokenObjectsSql = (token: string): string =>
  `SELECT 'role:' || rolname AS n FROM pg_roles WHERE rolname LIKE '%${token}%' UNION ALL SELECT 'db:' || datname FROM pg_database WHERE datname LIKE '%${token}%'`;

/** Those names, read through a testenv PostgreSQL's psql. */
export async function tokenObjects(pgs: { psql(sql: string): Promise<{ stdout: string }> }, token: string): Promise<string[]> {
  return (await pgs.psql(tokenObjectsSql(token))).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Roles and databases among an inventory's names. */
export const rolesAndDatabases = (names: string[]): Pick<Inventory, 'roles' | 'databases'> => ({
  roles: names.filter((n) => n.startsWith('role:')).length,
  databases: names.filter((n) => n.startsWith('db:')).length,
});

export interface KillStack {
  backend: string;
  world: World;
  /** Starts the operator (the same identity each time). */
  start(): Promise<OperatorProcess>;
  serverSpec?: Record<string, unknown>;
  /** A change of the server's spec made in the update phase (besides the database's extension), and how to see it took effect. */
  serverUpdate?: { spec: Record<string, unknown>; done(token: string): Promise<boolean> };
  inventory(token: string): Promise<Inventory>;
  /** What one ready server+database pair owns. */
  expected: Omit<Inventory, 'names'>;
  /** The operator is killed at a uniformly random instant in [0, window) after the change. */
  windowMs: Record<Phase, number>;
  /** Logs in with a credentials Secret's values (host mapped where the backend's hosts are fake): an error or undefined. */
  loginError(data: Record<string, string>, database?: string): Promise<string | undefined>;
  /** Extensions installed in a database, through the Secret's login. */
  extensions(data: Record<string, string>): Promise<string[]>;
  timeoutMs: number;
  /** false: no kill, the phases run under whatever fault the stack injects itself (brownout). */
  kill?: boolean;
  /** Row name per phase; default `SIGKILL during <phase> (<backend>)`. */
  scenario?: (phase: Phase) => string;
  /** A row's notes from the logs of the operators started after that phase's kills (e.g. interrupted helm operations recovered). */
  notes?: (restartedLogs: string[]) => string | undefined;
}

export interface KillResult {
  tallies: Record<Phase, Tally>;
  operator: OperatorProcess;
}

const ready = (o: unknown) => readyOf(o as never)?.status === 'True';

export async function killDuringLifecycle(stack: KillStack, runs: number, first: OperatorProcess): Promise<KillResult> {
  const w = stack.world;
  const tallies = Object.fromEntries(PHASES.map((p) => [p, new Tally(stack.scenario?.(p) ?? `SIGKILL during ${p} (${stack.backend})`)])) as Record<Phase, Tally>;
  let op = first;
  const restarts: Array<{ phase: Phase; op: OperatorProcess }> = [];

  /** Random pause, SIGKILL, start again; returns when the fault happened. */
  const killSoon = async (phase: Phase): Promise<number> => {
    if (stack.kill === false) return Date.now();
    await sleep(randomBetween(0, stack.windowMs[phase]));
    const at = Date.now();
    // A container's kill: the whole process group where the operator has one (helm, mid-install, dies too).
    if (op.group && op.child.pid) process.kill(-op.child.pid, 'SIGKILL');
    else op.child.kill('SIGKILL');
    await op.exited;
    op = await stack.start();
    restarts.push({ phase, op });
    return at;
  };
  const converge = async (phase: Phase, what: string, since: number, fn: () => Promise<unknown>): Promise<boolean> => {
    const ms = await settle(fn, stack.timeoutMs);
    const dir = process.env['HC_FAULTS_LOGS'];
    if (ms === undefined) {
      tallies[phase].problem('unconverged', what);
      if (dir) writeFileSync(join(dir, `${stack.backend}-${phase}-${since}-unconverged.log`), op.output());
      return false;
    }
    tallies[phase].converged(Date.now() - since);
    // Slow ones (and unconverged ones, above) keep the restarted operator's log for a look (HC_FAULTS_LOGS=<dir>).
    if (dir && Date.now() - since > 30_000) writeFileSync(join(dir, `${stack.backend}-${phase}-${since}.log`), op.output());
    return true;
  };
  const checkDuplicates = async (phase: Phase, token: string) => {
    const inv = await stack.inventory(token);
    if (process.env['HC_FAULTS_DEBUG']) process.stderr.write(`[faults] ${stack.backend} ${phase} inventory: ${inv.names.join(', ')}\n`);
    for (const k of ['servers', 'roles', 'databases'] as const) {
      if (inv[k] > stack.expected[k]) tallies[phase].problem('duplicates', `${inv[k]} ${k} for ${token} (expected ${stack.expected[k]}): ${inv.names.join(', ')}`, inv[k] - stack.expected[k]);
    }
  };

  for (let i = 0; i < runs; i++) {
    const token = randomBytes(3).toString('hex');
    const server = `s${token}`;
    const db = `d${token}`;
    const [srvSecret, dbSecret] = [`${server}-admin`, `${db}-creds`];
    const loginOk = async (secret: string) => {
      const data = await w.secret(secret);
      return data?.['password'] ? (await stack.loginError(data)) === undefined : false;
    };

    // create
    tallies.create.row.runs++;
    await w.applyServer(server, stack.serverSpec ?? {});
    await w.applyDatabase(db, server);
    let at = await killSoon('create');
    const created = await converge('create', `${server}/${db} ready with working logins`, at, async () =>
      ready(await w.server(server)) && ready(await w.database(db)) && (await loginOk(srvSecret)) && (await loginOk(dbSecret)));
    await checkDuplicates('create', token);

    if (created) {
      // update: an extension added to the database (and the server's spec changed where the backend has one)
      tallies.update.row.runs++;
      const su = stack.serverUpdate;
      if (su) {
        await w.co.patchNamespacedCustomObject(
          { group: GROUP, version: VERSION, namespace: w.ns, plural: 'postgresqlservers', name: server, body: { spec: su.spec } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      }
      await w.co.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace: w.ns, plural: 'postgresqldatabases', name: db, body: { spec: { database: { extensions: ['citext'] } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      at = await killSoon('update');
      await converge('update', `${db} has citext`, at, async () => {
        const o = await w.database(db);
        const s = await w.server(server);
        if (su && !(ready(s) && s?.status?.observedGeneration === s?.metadata.generation && (await su.done(token)))) return false;
        const data = await w.secret(dbSecret);
        return ready(o) && o?.status?.observedGeneration === o?.metadata.generation && data && (await stack.extensions(data)).includes('citext');
      });
      await checkDuplicates('update', token);

      // reset-password on the server and the database at once
      tallies['reset-password'].row.runs++;
      const old = { srv: (await w.secret(srvSecret))!, db: (await w.secret(dbSecret))! };
      await w.label('server', server, { 'operator/action': 'reset-password' });
      await w.label('database', db, { 'operator/action': 'reset-password' });
      at = await killSoon('reset-password');
      const reset = await converge('reset-password', `${server}/${db} new passwords work`, at, async () => {
        const [s, d] = [await w.server(server), await w.database(db)];
        if (s?.metadata.labels?.['operator/action'] || d?.metadata.labels?.['operator/action']) return false;
        const [ns, nd] = [await w.secret(srvSecret), await w.secret(dbSecret)];
        return ns?.['password'] !== old.srv['password'] && nd?.['password'] !== old.db['password'] && (await loginOk(srvSecret)) && (await loginOk(dbSecret));
      });
      if (reset && (await stack.loginError(old.db)) === undefined) tallies['reset-password'].problem('unconverged', `${db}: the old password still works`);
      await checkDuplicates('reset-password', token);
    }

    // delete: database and server at once (the server waits for its database)
    tallies.delete.row.runs++;
    await w.delete('database', db).catch(() => undefined);
    await w.delete('server', server).catch(() => undefined);
    at = await killSoon('delete');
    const gone = await settle(async () => !(await w.database(db)) && !(await w.server(server)), stack.timeoutMs);
    if (gone === undefined) {
      const left = [(await w.database(db)) ? `database ${db}` : '', (await w.server(server)) ? `server ${server}` : ''].filter(Boolean);
      tallies.delete.problem('stuck', `${left.join(', ')} still there`, left.length);
      await unstick(w, server, db);
      continue;
    }
    tallies.delete.converged(Date.now() - at);
    const inv = await stack.inventory(token);
    const left = inv.servers + inv.roles + inv.databases + (inv.leftovers ?? 0);
    if (left > 0) tallies.delete.problem('leaks', `${token}: ${inv.names.join(', ')}`, left);
    // Secrets go by garbage collection (owner references to the CRs).
    const secretsGone = await settle(async () => !(await w.secret(srvSecret)) && !(await w.secret(dbSecret)), 30_000);
    if (secretsGone === undefined) tallies.delete.problem('leaks', `Secrets of ${token} still there 30 s after the CRs went`);
  }
  if (stack.notes) {
    for (const p of PHASES) {
      const note = stack.notes(restarts.filter((r) => r.phase === p).map((r) => r.op.output()));
      if (note) tallies[p].row.notes = note;
    }
  }
  return { tallies, operator: op };
}

/** After a stuck finalizer was counted: remove it by hand so later runs start clean. */
async function unstick(w: World, server: string, db: string): Promise<void> {
  for (const [plural, name] of [['postgresqldatabases', db], ['postgresqlservers', server]] as const) {
    await w.co.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: w.ns, plural, name, body: { metadata: { finalizers: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    ).catch(() => undefined);
  }
}

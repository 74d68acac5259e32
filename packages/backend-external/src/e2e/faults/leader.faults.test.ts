/**
 * Fault suite, scenario 3: two replicas behind a Lease, the leader SIGKILLed again and again while
 * passwords are being reset (work in flight), the killed replica started again as a new candidate.
 * Every second fault (the first one included) is a pause instead (SIGSTOP until the other replica took the Lease over, then
 * SIGCONT): the old leader wakes up in the middle of its work, the case a Lease alone cannot fence.
 * Reported: takeover time (fault → the other replica holds the Lease) and overlapping reconciles of
 * one object by two processes (from the replicas' own debug lines `reconcile started/finished`; a
 * killed replica's open reconcile ends at its kill), which bounds the mutating calls made for one
 * object by two processes at once; for a woken deposed leader, its Kubernetes writes that still
 * reached the API server (409 answers in its log) and those its write fence refused. Target: 0.
 * Not counted: its SQL statements (core's SQL sessions pass the same fence; a statement that slipped
 * through would show as a password changed again after the reset converged: a long converge time).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyCrds, createTestNamespace, startPostgres, useControlPlane, type ControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import { externalConfig, loginError, readyOf, startOperator, World, type OperatorProcess } from '../harness.js';
import { randomBetween, runsOf, settle, sleep, Tally } from './report.js';

const ADMIN_PW = `Adm${randomBytes(8).toString('hex')}Pw`;
const RUNS = runsOf(1);
const PAIRS = 4;
let cp: ControlPlane;
let pgs: Postgres;
let w: World;
const leaseName = `faults-leader-${randomBytes(3).toString('hex')}`;
interface Replica { op: OperatorProcess; killedAt?: number; pauses: Array<[number, number]> }
const replicas: Replica[] = [];
let started = 0;
let selfExits = 0;
let stopping = false;

const start = async (): Promise<Replica> => {
  const op = await startOperator({
    cp,
    id: `replica-${++started}`,
    config: externalConfig(pgs, {
      operator: { namespace: w.ns, resync_seconds: 30, log_level: 'debug', leader_election: { lease_name: leaseName, lease_duration_seconds: 6, renew_deadline_seconds: 4, retry_period_seconds: 1 } },
    }),
    env: { E2E_PG_ADMIN_PASSWORD: ADMIN_PW },
    args: ['-n', w.ns],
  });
  const r: Replica = { op, pauses: [] };
  replicas.push(r);
  // A replica that exits by itself (lost leadership is fatal, e.g. a renew that missed its deadline
  // on a loaded machine) is started again, as the kubelet would; a woken paused leader is ours.
  void op.exited.then(async () => {
    if (stopping || r.killedAt !== undefined || r.pauses.length) return;
    r.killedAt = Date.now();
    selfExits++;
    await start();
  });
  return r;
};

beforeAll(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
  pgs = await startPostgres({ password: ADMIN_PW });
  w = new World(cp.kubeConfig(), await createTestNamespace(cp, 'faults-leader'));
  await start();
  await start();
});

afterAll(async () => {
  stopping = true;
  for (const r of replicas) await r.op.stop();
  await pgs?.stop();
});

/** Intervals in which a process reconciled an object, from its debug lines. */
function intervals(r: Replica): Array<{ key: string; from: number; to: number }> {
  const open = new Map<string, number>();
  const out: Array<{ key: string; from: number; to: number }> = [];
  for (const l of r.op.logs()) {
    const msg = l['msg'];
    if (msg !== 'reconcile started' && msg !== 'reconcile finished') continue;
    const key = `${String(l['kind'])}/${String(l['namespace'])}/${String(l['name'])}`;
    const at = Date.parse(String(l['time']));
    if (msg === 'reconcile started') open.set(key, at);
    else if (open.has(key)) {
      out.push({ key, from: open.get(key)!, to: at });
      open.delete(key);
    }
  }
  // Still open: ran until the process died (or runs now).
  for (const [key, from] of open) out.push({ key, from, to: r.killedAt ?? Date.now() });
  // A stopped process makes no calls, and once woken it is a deposed leader on its way out whose
  // writes the fence refuses (counted from its log instead, see deposedWrites): only the parts
  // before a pause count here.
  const cut = r.pauses[0]?.[0];
  return cut === undefined ? out : out.filter((x) => x.from < cut).map((x) => ({ ...x, to: Math.min(x.to, cut) }));
}

/**
 * After waking up: Kubernetes writes that reached the API server (a 409 answer in its log) from a
 * reconcile that started after the wake (so the write was sent after it: the fence failed), those
 * from a reconcile that started before the pause (the request may have left before it: not
 * counted), and the writes the fence refused.
 */
function deposedWrites(r: Replica): { reached: number; inFlight: number; refused: number } {
  const woke = r.pauses[0]?.[1];
  if (woke === undefined || !Number.isFinite(woke)) return { reached: 0, inFlight: 0, refused: 0 };
  const started = new Map<string, number>();
  let reached = 0;
  let inFlight = 0;
  let refused = 0;
  for (const l of r.op.logs()) {
    const at = Date.parse(String(l['time']));
    const key = `${String(l['kind'])}/${String(l['namespace'])}/${String(l['name'])}`;
    if (l['msg'] === 'reconcile started') started.set(key, at);
    if (at < woke) continue;
    const error = String(l['error'] ?? '');
    if (/another replica may lead|no longer leads/.test(error)) refused++;
    if (/^(PUT|POST|PATCH|DELETE) .*HTTP 409/.test(error) && l['msg'] === 'reconcile failed; retrying with backoff') {
      if ((started.get(key) ?? 0) >= woke) reached++;
      else inFlight++;
    }
  }
  return { reached, inFlight, refused };
}

it(`two replicas, the leader SIGKILLed ${RUNS} times with work in flight: no object reconciled by two processes at once, takeover within the lease`, async () => {
  const t = new Tally('two replicas, leader SIGKILLed or paused (external)');
  const leases = cp.kubeConfig().makeApiClient(CoordinationV1Api);
  const holder = async () => (await leases.readNamespacedLease({ namespace: w.ns, name: leaseName }).catch(() => undefined))?.spec?.holderIdentity ?? '';
  const leaderOf = async () => {
    const h = await holder();
    return replicas.find((r) => !r.killedAt && (h.startsWith(`${r.op.id}_`) || h === r.op.id));
  };
  const token = randomBytes(3).toString('hex');
  const names = Array.from({ length: PAIRS }, (_, i) => ({ server: `s${token}-${i}`, db: `d${token}-${i}` }));
  for (const { server, db } of names) {
    await w.applyServer(server);
    await w.applyDatabase(db, server);
  }
  const allReady = async () => {
    for (const { server, db } of names) if (readyOf(await w.server(server))?.status !== 'True' || readyOf(await w.database(db))?.status !== 'True') return false;
    return true;
  };
  if ((await settle(allReady, 120_000)) === undefined) t.problem('unconverged', 'the first objects never became Ready');
  const takeovers: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    t.row.runs++;
    const leader = await settle(async () => await leaderOf(), 30_000).then(() => leaderOf());
    if (!leader) {
      t.problem('unconverged', `run ${run}: no live replica holds the Lease`);
      continue;
    }
    // Work in flight: every database's password reset.
    const before = await Promise.all(names.map(async (n) => (await w.secret(`${n.db}-creds`))?.['password']));
    for (const { db } of names) await w.label('database', db, { 'operator/action': 'reset-password' });
    await sleep(randomBetween(0, 1000));
    const pause = run % 2 === 0; // the first run pauses: `npm test` (one run) covers the fence
    const faultAt = Date.now();
    if (pause) {
      leader.pauses.push([faultAt, Number.POSITIVE_INFINITY]);
      leader.op.child.kill('SIGSTOP');
    } else {
      leader.killedAt = faultAt;
      leader.op.child.kill('SIGKILL');
      await leader.op.exited;
    }
    const took = await settle(async () => {
      const l = await leaderOf();
      return l && l !== leader;
    }, 60_000, 100);
    if (took === undefined) t.problem('unconverged', `run ${run}: nobody took the Lease over within 60 s`);
    else takeovers.push(Date.now() - faultAt);
    if (pause) {
      // Wakes up while the other replica works; it must stop at once (exit 1: the pod restarts).
      await sleep(randomBetween(0, 1500));
      leader.pauses[0] = [faultAt, Date.now()];
      leader.op.child.kill('SIGCONT');
      const code = await Promise.race([leader.op.exited, sleep(30_000).then(() => 'running' as const)]);
      if (code === 'running') t.problem('unconverged', `run ${run}: the paused old leader still runs 30 s after waking up`);
      leader.killedAt = Date.now();
      leader.op.child.kill('SIGKILL');
    }
    await start(); // the killed pod comes back as a new candidate
    const ms = await settle(async () => {
      for (const [i, { db }] of names.entries()) {
        const o = await w.database(db);
        if (o?.metadata.labels?.['operator/action'] || readyOf(o)?.status !== 'True') return false;
        const data = await w.secret(`${db}-creds`);
        if (!data || data['password'] === before[i] || (await loginError(data)) !== undefined) return false;
      }
      return true;
    }, 90_000);
    if (ms === undefined) {
      const state = await Promise.all(names.map(async ({ db }, i) => {
        const o = await w.database(db);
        const data = await w.secret(`${db}-creds`);
        const r = readyOf(o);
        return `${db}: label=${o?.metadata.labels?.['operator/action'] ?? '-'} ready=${r?.status}/${r?.reason} changed=${data?.['password'] !== before[i]} login=${data ? ((await loginError(data)) ?? 'ok') : 'no Secret'}`;
      }));
      t.problem('unconverged', `run ${run} (${pause ? 'pause' : 'kill'}): the password resets did not finish after the takeover: ${state.join('; ')}`);
    }
    else t.converged(Date.now() - faultAt);
  }
  // Overlaps: the same object in reconcile by two processes at once.
  const all = replicas.map((r) => intervals(r));
  let overlaps = 0;
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      for (const a of all[i]!) {
        for (const b of all[j]!) {
          if (a.key !== b.key || a.from >= b.to || b.from >= a.to) continue;
          overlaps++;
          const iso = (ms: number) => new Date(ms).toISOString().slice(11, 23);
          process.stderr.write(`[faults] overlap ${a.key}: ${replicas[i]!.op.id} ${iso(a.from)}–${iso(a.to)}, ${replicas[j]!.op.id} ${iso(b.from)}–${iso(b.to)}\n`);
        }
      }
    }
  }
  if (process.env['HC_FAULTS_LOGS']) for (const r of replicas) writeFileSync(join(process.env['HC_FAULTS_LOGS'], `leader-${r.op.id}.log`), r.op.output());
  const deposed = replicas.map(deposedWrites).reduce((a, b) => ({ reached: a.reached + b.reached, inFlight: a.inFlight + b.inFlight, refused: a.refused + b.refused }), { reached: 0, inFlight: 0, refused: 0 });
  if (deposed.reached) t.problem('duplicates', `${deposed.reached} Kubernetes writes of a woken deposed leader reached the API server`, deposed.reached);
  const reconciles = all.reduce((n, x) => n + x.length, 0);
  if (reconciles === 0) t.problem('unconverged', 'no reconcile lines in the logs (debug level?)');
  if (overlaps) t.problem('duplicates', `${overlaps} reconciles of one object by two processes at once`, overlaps);
  // Clean up through the operator: nothing stuck, nothing left.
  for (const { server, db } of names) {
    await w.delete('database', db);
    await w.delete('server', server);
  }
  const gone = await settle(async () => {
    for (const { server, db } of names) if ((await w.server(server)) || (await w.database(db))) return false;
    return true;
  }, 120_000);
  if (gone === undefined) t.problem('stuck', 'objects still there 120 s after delete');
  const left = (await pgs.psql(`SELECT rolname FROM pg_roles WHERE rolname LIKE '%${token}%' UNION ALL SELECT datname FROM pg_database WHERE datname LIKE '%${token}%'`)).stdout.trim();
  if (left) t.problem('leaks', left.replace(/\n/g, ', '), left.split('\n').length);
  const problems = t.finish(`${overlaps} overlapping reconciles in ${reconciles}; woken deposed leaders: ${deposed.reached} writes sent after waking reached the API server (${deposed.inFlight} answered after waking from reconciles begun before the pause), ${deposed.refused} refused by the fence; replicas that exited by themselves (restarted): ${selfExits}; takeover: longest ${((Math.max(0, ...takeovers)) / 1000).toFixed(1)} s (lease 6 s)`);
  expect(problems).toEqual([]);
}, RUNS * 180_000 + 240_000);

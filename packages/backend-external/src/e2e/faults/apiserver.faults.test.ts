/**
 * Fault suite, scenario 4: the kube-apiserver stopped (SIGSTOP: requests hang, as with a frozen or
 * partitioned control plane, the harder case for clients than a refused connection) for 30 s
 * (10 s in `npm test`) while objects are being created, on a private control plane this file starts
 * (never the shared one). The operator runs with leader election, as deployed; when it exits
 * (lost leadership is fatal by design) it is started again, as the kubelet would. Checked after
 * the control plane is back: every object Ready with a working login, one role each, deleting
 * leaves nothing and no finalizer stuck.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyCrds, readControlPlaneInfo, startControlPlane, startPostgres, type ControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import { externalConfig, loginError, readyOf, startOperator, World, type OperatorProcess } from '../harness.js';
import { randomBetween, runsOf, settle, sleep, Tally } from './report.js';

const ADMIN_PW = `Adm${randomBytes(8).toString('hex')}Pw`;
const RUNS = runsOf(1, 10);
const OUTAGE_MS = process.env['HC_FAULTS_N'] ? 30_000 : 10_000;
const PAIRS = 5;
let cp: ControlPlane;
let pgs: Postgres;
let w: World;
let op: OperatorProcess | undefined;
let restarts = 0;
let stopping = false;

/** The operator, started again whenever it exits (restartPolicy: Always), until the test ends. */
async function superviseOperator(): Promise<void> {
  const id = `faults-apiserver-${restarts}`;
  op = await startOperator({
    cp,
    id,
    config: externalConfig(pgs, { operator: { namespace: 'default', resync_seconds: 30, log_level: 'info' } }),
    env: { E2E_PG_ADMIN_PASSWORD: ADMIN_PW },
    args: ['-n', w.ns],
  });
  void op.exited.then(async () => {
    if (stopping) return;
    restarts++;
    await sleep(1000);
    if (!stopping) await superviseOperator();
  });
}

/** The kube-apiserver process itself (its supervisor is a small sh watchdog). */
function apiserverPid(): number {
  const watchdog = readControlPlaneInfo(join(cp.dir, 'controlplane.json')).pids.kubeApiserver;
  const children = (pid: number): number[] => readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
  const all = [watchdog, ...children(watchdog)];
  const found = all.find((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'kube-apiserver');
  if (!found) throw new Error(`no kube-apiserver among ${all.join(', ')}`);
  return found;
}

beforeAll(async () => {
  [cp, pgs] = await Promise.all([startControlPlane(), startPostgres({ password: ADMIN_PW })]);
  await applyCrds(cp);
  const ns = `faults-apiserver-${randomBytes(3).toString('hex')}`;
  w = new World(cp.kubeConfig(), ns);
  await w.core.createNamespace({ body: { metadata: { name: ns } } });
  await superviseOperator();
}, 300_000);

afterAll(async () => {
  stopping = true;
  try {
    process.kill(apiserverPid(), 'SIGCONT');
  } catch {
    // gone already
  }
  await op?.stop();
  await pgs?.stop();
  await cp?.stop();
});

it(`kube-apiserver stopped for ${OUTAGE_MS / 1000} s with work in flight, ${RUNS} runs: everything converges after, nothing stuck or leaked`, async () => {
  const t = new Tally(`kube-apiserver stopped ${OUTAGE_MS / 1000} s (external)`);
  const pid = apiserverPid();
  for (let run = 0; run < RUNS; run++) {
    t.row.runs++;
    const token = randomBytes(3).toString('hex');
    const names = Array.from({ length: PAIRS }, (_, i) => ({ server: `s${token}-${i}`, db: `d${token}-${i}` }));
    for (const { server, db } of names) {
      await w.applyServer(server);
      await w.applyDatabase(db, server);
    }
    await sleep(randomBetween(0, 1500));
    process.kill(pid, 'SIGSTOP');
    await sleep(OUTAGE_MS);
    process.kill(pid, 'SIGCONT');
    const back = Date.now();
    const ms = await settle(async () => {
      for (const { server, db } of names) {
        if (readyOf(await w.server(server))?.status !== 'True' || readyOf(await w.database(db))?.status !== 'True') return false;
        const data = await w.secret(`${db}-creds`);
        if (!data || (await loginError(data)) !== undefined) return false;
      }
      return true;
    }, 180_000, 500);
    if (ms === undefined) t.problem('unconverged', `run ${run}: not every object Ready with a working login 180 s after the control plane came back`);
    else t.converged(Date.now() - back);
    const found = (await pgs.psql(`SELECT rolname FROM pg_roles WHERE rolname LIKE '%${token}%' UNION ALL SELECT datname FROM pg_database WHERE datname LIKE '%${token}%'`)).stdout.split('\n').filter((l) => l.trim()).length;
    if (found > PAIRS * 3) t.problem('duplicates', `run ${run}: ${found} roles/databases for ${PAIRS} pairs`, found - PAIRS * 3);
    for (const { server, db } of names) {
      await w.delete('database', db);
      await w.delete('server', server);
    }
    const gone = await settle(async () => {
      for (const { server, db } of names) if ((await w.server(server)) || (await w.database(db))) return false;
      return true;
    }, 120_000, 500);
    if (gone === undefined) t.problem('stuck', `run ${run}: objects still there 120 s after delete`);
    const left = (await pgs.psql(`SELECT rolname FROM pg_roles WHERE rolname LIKE '%${token}%' UNION ALL SELECT datname FROM pg_database WHERE datname LIKE '%${token}%'`)).stdout.trim();
    if (left) t.problem('leaks', `run ${run}: ${left.replace(/\n/g, ', ')}`, left.split('\n').length);
  }
  const problems = t.finish(`converge counted from the control plane's return; operator restarts (lost leadership is fatal): ${restarts}`);
  expect(problems).toEqual([]);
}, RUNS * (OUTAGE_MS + 320_000) + 60_000);

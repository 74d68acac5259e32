/**
 * Fault suite, scenario 2: SIGTERM while 50 reconciles are in flight (25 servers and 25
 * databases applied at once, 25 workers per kind, backend external; 20 in `npm test`). Reported: how long the
 * process takes to exit; checked: it exits 0 in time, and after a restart everything converges
 * (Ready, logins), with one role per object, and deleting it all leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyCrds, createTestNamespace, startPostgres, useControlPlane, type ControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import { externalConfig, loginError, readyOf, startOperator, World, type OperatorProcess } from '../harness.js';
import { tokenObjects } from './killDuringLifecycle.js';
import { randomBetween, runsOf, settle, sleep, Tally } from './report.js';

const ADMIN_PW = `Adm${randomBytes(8).toString('hex')}Pw`;
const RUNS = runsOf(1, 5);
// 25 servers + 25 databases in the full run; 10 + 10 in `npm test`.
const PAIRS = process.env['HC_FAULTS_N'] ? 25 : 10;
let cp: ControlPlane;
let pgs: Postgres;
let w: World;
let op: OperatorProcess | undefined;

const start = () => startOperator({
  cp,
  id: `faults-${w.ns}`,
  config: externalConfig(pgs, { operator: { namespace: w.ns, concurrency: PAIRS, resync_seconds: 60, log_level: 'debug', leader_election: { enabled: false } } }),
  env: { E2E_PG_ADMIN_PASSWORD: ADMIN_PW },
  args: ['-n', w.ns],
});

beforeAll(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
  pgs = await startPostgres({ password: ADMIN_PW });
  w = new World(cp.kubeConfig(), await createTestNamespace(cp, 'faults-sigterm'));
  op = await start();
});

afterAll(async () => {
  await op?.stop();
  await pgs?.stop();
});

const ours = (token: string) => tokenObjects(pgs, token);

it(`SIGTERM with ${2 * PAIRS} reconciles in flight, ${RUNS} runs: prompt exit, then everything converges; delete leaves nothing`, async () => {
  const t = new Tally(`SIGTERM with ${2 * PAIRS} reconciles in flight (external)`);
  const exits: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    t.row.runs++;
    const token = randomBytes(3).toString('hex');
    const names = Array.from({ length: PAIRS }, (_, i) => ({ server: `s${token}-${i}`, db: `d${token}-${i}` }));
    // Wait until the operator is up (its first list done), so the objects meet running workers.
    await settle(async () => (await fetch(`http://127.0.0.1:${op!.healthPort}/readyz`)).ok, 30_000, 100);
    await Promise.all(names.map(async ({ server, db }) => {
      await w.applyServer(server);
      await w.applyDatabase(db, server);
    }));
    await sleep(randomBetween(200, 1200));
    const inFlight = (await Promise.all(names.map(async (n) => [await w.server(n.server), await w.database(n.db)]))).flat().filter((o) => o && readyOf(o)?.status !== 'True').length;
    const termAt = Date.now();
    op!.child.kill('SIGTERM');
    const code = await Promise.race([op!.exited, sleep(60_000).then(() => 'hung' as const)]);
    exits.push(Date.now() - termAt);
    if (code !== 0) t.problem('unconverged', `run ${run}: exit ${String(code)} after SIGTERM (${inFlight} objects not yet Ready)`);
    if (code === 'hung') op!.child.kill('SIGKILL');
    if (process.env['HC_FAULTS_LOGS']) writeFileSync(join(process.env['HC_FAULTS_LOGS'], `sigterm-${run}.log`), op!.output());
    process.stderr.write(`[faults] SIGTERM run ${run}: ${inFlight} of ${2 * PAIRS} objects not Ready at SIGTERM, exit ${String(code)} after ${exits.at(-1)} ms\n`);
    op = await start();
    const ms = await settle(async () => {
      for (const { server, db } of names) {
        if (readyOf(await w.server(server))?.status !== 'True' || readyOf(await w.database(db))?.status !== 'True') return false;
      }
      return true;
    }, 180_000, 500);
    if (ms === undefined) t.problem('unconverged', `run ${run}: not every object Ready 180 s after the restart`);
    else t.converged(Date.now() - termAt);
    for (const { db } of names) {
      const data = await w.secret(`${db}-creds`);
      const err = data ? await loginError(data) : 'no Secret';
      if (err) t.problem('unconverged', `${db}: login fails: ${err}`);
    }
    const found = await ours(token);
    const expected = PAIRS * 3; // server role, database role, database
    if (found.length > expected) t.problem('duplicates', `${found.length} roles/databases for ${PAIRS} pairs (expected ${expected})`, found.length - expected);

    await Promise.all(names.map(async ({ server, db }) => {
      await w.delete('database', db);
      await w.delete('server', server);
    }));
    const gone = await settle(async () => {
      for (const { server, db } of names) if ((await w.server(server)) || (await w.database(db))) return false;
      return true;
    }, 180_000, 500);
    if (gone === undefined) {
      const left = (await Promise.all(names.map(async (n) => [await w.server(n.server), await w.database(n.db)]))).flat().filter(Boolean).length;
      t.problem('stuck', `run ${run}: ${left} objects still there 180 s after delete`, left);
    }
    const leftovers = await ours(token);
    if (leftovers.length) t.problem('leaks', `run ${run}: ${leftovers.join(', ')}`, leftovers.length);
  }
  const problems = t.finish(`exit after SIGTERM: longest ${(Math.max(...exits) / 1000).toFixed(1)} s`);
  expect(problems).toEqual([]);
}, RUNS * 420_000 + 60_000);

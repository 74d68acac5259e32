/**
 * Fault suite, scenario 6: the deletion-order matrix of deletion.it.test.ts, repeated — the
 * server's Secret deleted first, the server before its database, a real namespace delete
 * (kube-controller-manager's namespace lifecycle and garbage collector), a database deleted while
 * its server does not exist yet. Every order must end with the CRs gone (no stuck finalizer) and
 * nothing of theirs left in PostgreSQL (no leak). Converge time: first delete → all gone.
 * Only under `npm run faults`: `npm test` runs each case once in deletion.it.test.ts already.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCrds, createTestNamespace, startPostgres, useControlPlane, type ControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import { externalConfig, readyOf, startOperator, World, type OperatorProcess } from '../harness.js';
import { runsOf, settle, Tally } from './report.js';

const ADMIN_PW = `Adm${randomBytes(8).toString('hex')}Pw`;
const RUNS = runsOf(1, 5);
let cp: ControlPlane;
let pgs: Postgres;
let op: OperatorProcess | undefined;
let w: World;
const doomed: World[] = [];

const leftovers = async (token: string) =>
  (await pgs.psql(`SELECT rolname FROM pg_roles WHERE rolname LIKE '%${token}%' UNION ALL SELECT datname FROM pg_database WHERE datname LIKE '%${token}%'`)).stdout.split('\n').map((l) => l.trim()).filter(Boolean);

async function readyPair(x: World, server: string, db: string, withServer = true): Promise<boolean> {
  if (withServer) await x.applyServer(server);
  await x.applyDatabase(db, server);
  return (await settle(async () => readyOf(await x.server(server))?.status === 'True' && readyOf(await x.database(db))?.status === 'True', 60_000)) !== undefined;
}

type Case = (token: string, run: number) => Promise<{ deletedAt: number; gone: () => Promise<boolean>; setup: boolean }>;

const CASES: Record<string, Case> = {
  "server's Secret first": async (token) => {
    const [s, d] = [`s${token}`, `d${token}`];
    const setup = await readyPair(w, s, d);
    const deletedAt = Date.now();
    await w.core.deleteNamespacedSecret({ namespace: w.ns, name: `${s}-admin` });
    await w.delete('database', d);
    await w.delete('server', s);
    return { setup, deletedAt, gone: async () => !(await w.server(s)) && !(await w.database(d)) };
  },
  'server before its database': async (token) => {
    const [s, d] = [`s${token}`, `d${token}`];
    const setup = await readyPair(w, s, d);
    const deletedAt = Date.now();
    await w.delete('server', s);
    await settle(async () => readyOf(await w.server(s))?.reason === 'DependentDatabases', 30_000);
    await w.delete('database', d);
    return { setup, deletedAt, gone: async () => !(await w.server(s)) && !(await w.database(d)) };
  },
  'namespace delete': async (token, run) => {
    const x = doomed[run]!;
    const [s, d1, d2] = [`s${token}`, `d${token}-1`, `d${token}-2`];
    const setup = (await readyPair(x, s, d1)) && (await readyPair(x, s, d2, false));
    const deletedAt = Date.now();
    await x.core.deleteNamespace({ name: x.ns });
    return { setup, deletedAt, gone: async () => x.core.readNamespace({ name: x.ns }).then(() => false, (e: { code?: number }) => e.code === 404) };
  },
  'database whose server never existed': async (token) => {
    const d = `d${token}`;
    await w.applyDatabase(d, `missing-${token}`);
    const setup = (await settle(async () => readyOf(await w.database(d))?.reason === 'ServerNotReady', 30_000)) !== undefined;
    const deletedAt = Date.now();
    await w.delete('database', d);
    return { setup, deletedAt, gone: async () => !(await w.database(d)) };
  },
};

describe.skipIf(!process.env['HC_FAULTS_N'])('deletion order', () => {
  beforeAll(async () => {
    cp = await useControlPlane();
    await applyCrds(cp);
    pgs = await startPostgres({ password: ADMIN_PW });
    const kc = cp.kubeConfig();
    w = new World(kc, await createTestNamespace(cp, 'faults-delorder'));
    // The namespaces the namespace-delete case removes: made up front, the operator watches exactly these.
    for (let i = 0; i < RUNS; i++) doomed.push(new World(kc, await createTestNamespace(cp, 'faults-delns')));
    op = await startOperator({
      cp,
      config: externalConfig(pgs, { operator: { namespace: w.ns, resync_seconds: 30, log_level: 'info', leader_election: { enabled: false } } }),
      env: { E2E_PG_ADMIN_PASSWORD: ADMIN_PW },
      args: [w, ...doomed].flatMap((x) => ['-n', x.ns]),
    });
  });

  afterAll(async () => {
    await op?.stop();
    await pgs?.stop();
  });

  it(`deletion in every order, ${RUNS} runs each: nothing stuck, nothing left`, async () => {
    const problems: string[] = [];
    for (const [name, run] of Object.entries(CASES)) {
      const t = new Tally(`deletion order: ${name} (external)`);
      for (let i = 0; i < RUNS; i++) {
        t.row.runs++;
        const token = randomBytes(3).toString('hex');
        const c = await run(token, i);
        if (!c.setup) t.problem('unconverged', `${name} run ${i}: the objects never became Ready before the delete`);
        const ms = await settle(c.gone, 180_000, 300);
        if (ms === undefined) t.problem('stuck', `${name} run ${i}: still there 180 s after the delete`);
        else t.converged(Date.now() - c.deletedAt);
        const left = await leftovers(token);
        if (left.length) t.problem('leaks', `${name} run ${i}: ${left.join(', ')}`, left.length);
      }
      problems.push(...t.finish());
    }
    expect(problems).toEqual([]);
  }, RUNS * 4 * 200_000 + 60_000);
});

/**
 * Fault suite, scenario 1 for backend `awsaurora`: SIGKILL at a random instant during create,
 * update (an extension), reset-password and delete, against moto (one cluster and its writer
 * instance per server) with a stand-in PostgreSQL for the SQL. Only under `npm run faults`
 * (awsrds covers the shared AWS code in `npm test`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCrds, createTestNamespace, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { World, type OperatorProcess } from '../harness.js';
import { startAwsWorld, type AwsWorld } from './aws.js';
import { killDuringLifecycle, PHASES, type KillStack } from './killDuringLifecycle.js';
import { runsOf } from './report.js';

const RUNS = runsOf(1);
let cp: ControlPlane;
let aws: AwsWorld;
let op: OperatorProcess | undefined;
let stack: KillStack;

describe.skipIf(!process.env['HC_FAULTS_N'])('awsaurora', () => {
  beforeAll(async () => {
    cp = await useControlPlane();
    await applyCrds(cp);
    aws = await startAwsWorld();
    const w = new World(cp.kubeConfig(), await createTestNamespace(cp, 'faults-kill-aurora'));
    stack = {
      backend: 'awsaurora',
      world: w,
      start: () => aws.start(cp, { namespace: w.ns, id: `faults-${w.ns}`, backend: 'awsaurora' }),
      serverSpec: { version: '16' },
      async inventory(token) {
        const clusters = (await aws.clusters()).filter((c) => c.id.includes(token));
        const instances = (await aws.instances()).filter((i) => i.id.includes(token));
        const out = await aws.pgs.psql(`SELECT 'role:' || rolname FROM pg_roles WHERE rolname LIKE '%${token}%' UNION ALL SELECT 'db:' || datname FROM pg_database WHERE datname LIKE '%${token}%'`);
        const names = [...clusters.map((c) => `cluster:${c.id}(${c.status})`), ...instances.map((i) => `instance:${i.id}(${i.status})`), ...out.stdout.split('\n').map((l) => l.trim()).filter(Boolean)];
        // A server is a cluster plus its writer instance: a second of either is a duplicate.
        return { servers: Math.max(clusters.length, instances.length), roles: names.filter((n) => n.startsWith('role:')).length, databases: names.filter((n) => n.startsWith('db:')).length, names };
      },
      expected: { servers: 1, roles: 1, databases: 1 },
      windowMs: { create: 3000, update: 1500, 'reset-password': 2000, delete: 2000 },
      loginError: (data, database) => aws.loginError(data, database),
      extensions: (data) => aws.extensions(data),
      timeoutMs: 120_000,
    };
    op = await stack.start();
  });

  afterAll(async () => {
    await op?.stop();
    await aws?.stop();
  });

  it(`awsaurora: SIGKILL at a random instant during each phase, ${RUNS} runs: one cluster per server, nothing left after delete, logins work`, async () => {
    const r = await killDuringLifecycle(stack, RUNS, op!);
    op = r.operator;
    const problems = PHASES.flatMap((p) => r.tallies[p].finish());
    expect(problems).toEqual([]);
  }, RUNS * 4 * 130_000 + 60_000);
});

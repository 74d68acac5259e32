/**
 * Fault suite, scenario 5: the cloud API in a brownout for the whole run, 20 % of requests
 * throttled (RDS's 400 Throttling) and 10 % answered with a 5xx (half of them after the request
 * took effect: the answer was lost), for backend awsrds against moto. The lifecycle (create,
 * update, reset-password, delete) must converge with one instance per server and nothing left.
 * Azure (ARM fake) is not covered here yet.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyCrds, createTestNamespace, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { World, type OperatorProcess } from '../harness.js';
import { startAwsWorld, type AwsWorld } from './aws.js';
import { killDuringLifecycle, PHASES, type KillStack } from './killDuringLifecycle.js';
import { runsOf } from './report.js';

const RUNS = runsOf(1, 5);
let cp: ControlPlane;
let aws: AwsWorld;
let op: OperatorProcess | undefined;
let stack: KillStack;

beforeAll(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
  aws = await startAwsWorld();
  const w = new World(cp.kubeConfig(), await createTestNamespace(cp, 'faults-brownout'));
  stack = {
    backend: 'awsrds',
    world: w,
    kill: false,
    scenario: (p) => `brownout 20 % throttling, 10 % 5xx: ${p} (awsrds)`,
    start: () => aws.start(cp, { namespace: w.ns, id: `faults-${w.ns}` }),
    serverSpec: { size: { storageGB: 20 } },
    serverUpdate: { spec: { size: { storageGB: 30 } }, done: async (token) => (await aws.instances()).some((i) => i.id.includes(token) && i.storageGB === 30) },
    async inventory(token) {
      const instances = (await aws.instances()).filter((i) => i.id.includes(token));
      const out = await aws.pgs.psql(`SELECT 'role:' || rolname FROM pg_roles WHERE rolname LIKE '%${token}%' UNION ALL SELECT 'db:' || datname FROM pg_database WHERE datname LIKE '%${token}%'`);
      const names = [...instances.map((i) => `instance:${i.id}(${i.status})`), ...out.stdout.split('\n').map((l) => l.trim()).filter(Boolean)];
      return { servers: instances.length, roles: names.filter((n) => n.startsWith('role:')).length, databases: names.filter((n) => n.startsWith('db:')).length, names };
    },
    expected: { servers: 1, roles: 1, databases: 1 },
    windowMs: { create: 0, update: 0, 'reset-password': 0, delete: 0 },
    loginError: (data, database) => aws.loginError(data, database),
    extensions: (data) => aws.extensions(data),
    timeoutMs: 180_000,
  };
  aws.proxy.brownout = { throttle: 0.2, serverError: 0.1 };
  op = await stack.start();
});

afterAll(async () => {
  await op?.stop();
  await aws?.stop();
});

it(`awsrds in a brownout, ${RUNS} runs: converges, one instance per server, nothing left after delete`, async () => {
  const r = await killDuringLifecycle(stack, RUNS, op!);
  op = r.operator;
  const failed = aws.proxy.requests.filter((q) => q.status >= 400).length;
  const problems = PHASES.flatMap((p) => r.tallies[p].finish(p === 'delete' ? `${failed} of ${aws.proxy.requests.length} RDS requests failed` : undefined));
  expect(problems).toEqual([]);
}, RUNS * 4 * 190_000 + 60_000);

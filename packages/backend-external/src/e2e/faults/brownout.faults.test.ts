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
import { rdsStack, startAwsWorld, type AwsWorld } from './aws.js';
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
    ...rdsStack(aws, cp, w.ns),
    windowMs: { create: 0, update: 0, 'reset-password': 0, delete: 0 },
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

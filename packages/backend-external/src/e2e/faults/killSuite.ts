/**
 * The SIGKILL scenario's test file, once for every backend: a control plane with the CRDs, a
 * namespace, the backend's world (its fake cloud or chart simulator) and an operator started
 * from it, one test that runs killDuringLifecycle and fails on any problem it tallied. Each
 * kill*.faults.test.ts only says what is particular to its backend (vitest schedules and
 * filters per file: `npm run faults -- killRds`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCrds, createTestNamespace, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { World, type OperatorProcess } from '../harness.js';
import { killDuringLifecycle, PHASES, type KillStack } from './killDuringLifecycle.js';
import { runsOf } from './report.js';

export interface KillSuite {
  backend: string;
  /** What one run proves beyond "no duplicate, no leak, no stuck finalizer", for the test's name. */
  claim: string;
  /** true: only in `npm run faults` (in `npm test` the conformance kit's crash check covers the backend). */
  onlyInFaults?: boolean;
  /** Longest a single phase may take (the test's timeout is four per run). */
  phaseMs?: number;
  /** Starts the backend's world in the test namespace: the stack without its backend and World, and how to stop the world. */
  setup(cp: ControlPlane, w: World): Promise<{ stack: Omit<KillStack, 'backend' | 'world'>; stop(): Promise<void> }>;
}

export function killSuite(o: KillSuite): void {
  const runs = runsOf(1);
  let op: OperatorProcess | undefined;
  let stack: KillStack | undefined;
  let stopWorld: (() => Promise<void>) | undefined;
  describe.skipIf(o.onlyInFaults === true && !process.env['HC_FAULTS_N'])(o.backend, () => {
    beforeAll(async () => {
      const cp = await useControlPlane();
      await applyCrds(cp);
      const w = new World(cp.kubeConfig(), await createTestNamespace(cp, `faults-kill-${o.backend}`));
      const world = await o.setup(cp, w);
      stopWorld = world.stop;
      stack = { backend: o.backend, world: w, ...world.stack };
      op = await stack.start();
    });

    afterAll(async () => {
      await op?.stop();
      await stopWorld?.();
    });

    it(`${o.backend}: SIGKILL at a random instant during each phase, ${runs} runs: ${o.claim}`, async () => {
      const r = await killDuringLifecycle(stack!, runs, op!);
      op = r.operator;
      const problems = PHASES.flatMap((p) => r.tallies[p].finish());
      expect(problems).toEqual([]);
    }, runs * 4 * (o.phaseMs ?? 130_000) + 60_000);
  });
}

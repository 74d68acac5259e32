/**
 * Fault suite, scenario 1 for backend `azurepostgresflexible` (flexible server): SIGKILL at a random instant during
 * create, update (storage, and an extension), reset-password and delete. The operator as a child
 * process runs the real Azure SDK against the ARM fake in this process (its long-running
 * operations take 1 s, so kills land while they run), its SQL reaching the stand-in PostgreSQL
 * through the gateway (azure.ts). Inventory: the ARM servers of the CR (owner tags or the token in
 * the name), ARM databases, and roles and databases in the stand-in while a server exists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCrds, createTestNamespace, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { World, type OperatorProcess } from '../harness.js';
import { startAzureWorld, type AzureWorld } from './azure.js';
import { killDuringLifecycle, PHASES, type KillStack } from './killDuringLifecycle.js';
import { runsOf } from './report.js';

const RUNS = runsOf(1);
let cp: ControlPlane;
let azure: AzureWorld;
let op: OperatorProcess | undefined;
let stack: KillStack;

// Only in `npm run faults`: in `npm test` the conformance kit's crash check covers this backend.
describe.skipIf(!process.env['HC_FAULTS_N'])('azurepostgresflexible', () => {
  beforeAll(async () => {
    cp = await useControlPlane();
    await applyCrds(cp);
    const w = new World(cp.kubeConfig(), await createTestNamespace(cp, 'faults-kill-azurepostgresflexible'));
    azure = await startAzureWorld(cp, w.ns, 'azurepostgresflexible');
    stack = {
      backend: 'azurepostgresflexible',
      world: w,
      start: () => azure.start({ id: `faults-${w.ns}` }),
      serverSpec: { size: { storageGB: 32 } },
      serverUpdate: { spec: { size: { storageGB: 64 } }, done: async (token) => azure.serversOf(`s${token}`).some((id) => azure.fake.get(id)?.['properties']?.storage?.storageSizeGB === 64) },
      inventory: (token) => azure.inventory(token),
      // One ARM server; in the stand-in the server's admin role and the database's role, and the database.
      expected: { servers: 1, roles: 2, databases: 1 },
      windowMs: { create: 4000, update: 3000, 'reset-password': 2000, delete: 3000 },
      loginError: (data, database) => azure.loginError(data, database),
      extensions: (data) => azure.extensions(data),
      timeoutMs: 120_000,
    };
    op = await stack.start();
  });

  afterAll(async () => {
    await op?.stop();
    await azure?.stop();
  });

  it(`azurepostgresflexible: SIGKILL at a random instant during each phase, ${RUNS} runs: one ARM server per server, nothing left after delete, logins work`, async () => {
    const r = await killDuringLifecycle(stack, RUNS, op!);
    op = r.operator;
    const problems = PHASES.flatMap((p) => r.tallies[p].finish());
    expect(problems).toEqual([]);
  }, RUNS * 4 * 130_000 + 60_000);
});

/**
 * Fault suite, scenario 1 for backend `helmyugabyte`: SIGKILL at a random instant during create, update
 * (cpu/memory and an extension), reset-password and delete. The operator as a child process runs
 * real helm with the yugabyte fixture chart, the simulator running YSQL (a PostgreSQL that refuses logins for a while after start, like a tserver) per tablet server; its SQL reaches the simulator through HC_RESOLVER_URL (helm.ts). Inventory:
 * the server's helm releases (any status but uninstalled), roles and databases on its instance,
 * volume claims left after the delete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api } from '@kubernetes/client-node';
import { applyCrds, createTestNamespace, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { World, type OperatorProcess } from '../harness.js';
import { helmNotes, startHelmWorld, type HelmWorld } from './helm.js';
import { killDuringLifecycle, PHASES, type KillStack } from './killDuringLifecycle.js';
import { runsOf } from './report.js';

const RUNS = runsOf(1);
let cp: ControlPlane;
let helm: HelmWorld;
let op: OperatorProcess | undefined;
let stack: KillStack;

// Only in `npm run faults`: in `npm test` the conformance kit's crash check covers this backend.
describe.skipIf(!process.env['HC_FAULTS_N'])('helmyugabyte', () => {
  beforeAll(async () => {
    cp = await useControlPlane();
    await applyCrds(cp);
    const kc = cp.kubeConfig();
    const w = new World(kc, await createTestNamespace(cp, 'faults-kill-helmyugabyte'));
    const apps = kc.makeApiClient(AppsV1Api);
    helm = await startHelmWorld(cp, kc, w.ns, 'helmyugabyte');
    stack = {
      backend: 'helmyugabyte',
      world: w,
      start: () => helm.start({ id: `faults-${w.ns}` }),
      serverSpec: { size: { cpu: 1, memoryMB: 2048, storageGB: 1 } },
      serverUpdate: { spec: { size: { cpu: 2, memoryMB: 3072, storageGB: 1 } }, done: async (token) => (await apps.readNamespacedStatefulSet({ namespace: w.ns, name: `s${token}-yugabyte-yb-tserver` })).spec?.template.spec?.containers[0]?.resources?.limits?.['cpu'] === '2' },
      inventory: (token) => helm.inventory(token),
      // One release, and on its instance the database's role and database (the admin role is the chart's).
      expected: { servers: 1, roles: 1, databases: 1 },
      windowMs: { create: 4000, update: 3000, 'reset-password': 1500, delete: 3000 },
      loginError: (data, database) => helm.loginError(data, database),
      extensions: (data) => helm.extensions(data),
      timeoutMs: 120_000,
      notes: helmNotes,
    };
    op = await stack.start();
  });

  afterAll(async () => {
    await op?.stop();
    await helm?.stop();
  });

  it(`helmyugabyte: SIGKILL at a random instant during each phase, ${RUNS} runs: one release per server, nothing left after delete, logins work`, async () => {
    const r = await killDuringLifecycle(stack, RUNS, op!);
    op = r.operator;
    const problems = PHASES.flatMap((p) => r.tallies[p].finish());
    expect(problems).toEqual([]);
  }, RUNS * 4 * 130_000 + 60_000);
});

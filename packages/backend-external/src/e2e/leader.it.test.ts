/**
 * Two operator replicas: exactly one leads (holds the Lease and reconciles); after the leader is
 * killed (SIGKILL, no chance to release the Lease) the other takes over within the lease time.
 */
import { randomBytes } from 'node:crypto';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyCrds, createTestNamespace, startPostgres, useControlPlane, type ControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import { eventually, externalConfig, loginError, readyOf, startOperator, World, type OperatorProcess } from './harness.js';

const CANARY = `Canary${randomBytes(8).toString('hex')}Pw`;
let cp: ControlPlane;
let pgs: Postgres;
let w: World;
const ops: OperatorProcess[] = [];
const leaseName = `e2e-leader-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
  pgs = await startPostgres({ password: CANARY });
  w = new World(cp.kubeConfig(), await createTestNamespace(cp, 'e2e-leader'));
  for (const id of ['replica-a', 'replica-b']) {
    ops.push(await startOperator({
      cp,
      id,
      config: externalConfig(pgs, { operator: { namespace: w.ns, resync_seconds: 300, log_level: 'info', leader_election: { lease_name: leaseName, lease_duration_seconds: 6, renew_deadline_seconds: 4, retry_period_seconds: 1 } } }),
      env: { E2E_PG_ADMIN_PASSWORD: CANARY },
      args: ['-n', w.ns],
    }));
  }
});

afterAll(async () => {
  for (const o of ops) await o.stop();
  await pgs?.stop();
});

it('one leader reconciles; after SIGKILL the other takes over', async () => {
  const leases = cp.kubeConfig().makeApiClient(CoordinationV1Api);
  const holder = async () => (await leases.readNamespacedLease({ namespace: w.ns, name: leaseName }).catch(() => undefined))?.spec?.holderIdentity;
  const first = await eventually('a leader', holder, 30_000);
  const leader = ops.find((o) => first.includes(o.id));
  const follower = ops.find((o) => o !== leader);
  expect(leader, `holder ${first}`).toBeDefined();

  await w.applyServer('one');
  await eventually('server one ready', async () => readyOf(await w.server('one'))?.status === 'True');
  // Only the leader reconciled it.
  expect(follower!.output()).not.toMatch(/"name":"one"/);

  const killedAt = Date.now();
  leader!.child.kill('SIGKILL');
  await w.applyServer('two');
  await eventually('server two ready after failover', async () => readyOf(await w.server('two'))?.status === 'True', 40_000);
  expect(Date.now() - killedAt).toBeLessThan(25_000);
  const now = await holder();
  expect(now).toContain(follower!.id);
  expect(await loginError((await w.secret('two-admin'))!)).toBeUndefined();

  for (const s of ['one', 'two']) await w.delete('server', s);
  for (const s of ['one', 'two']) await eventually(`${s} deleted`, async () => !(await w.server(s)));
});

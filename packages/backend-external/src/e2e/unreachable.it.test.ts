/**
 * PostgreSQL unreachable: the operator retries with backoff, reports Ready=False with the error
 * (and no password anywhere), and recovers by itself once the server can be reached.
 */
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyCrds, createTestNamespace, freePort, startPostgres, useControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import { eventually, externalConfig, loginError, readyOf, startOperator, World, type OperatorProcess } from './harness.js';

const CANARY = `Canary${randomBytes(8).toString('hex')}Pw`;
let pgs: Postgres;
let op: OperatorProcess;
let w: World;
let proxyPort: number;
let proxy: Server | undefined;

/** A TCP forwarder to PostgreSQL we can open later: until then the port refuses connections. */
function openProxy(port: number, target: { host: string; port: number }): Promise<Server> {
  const s = createServer((socket) => {
    const up = connect(target.port, target.host);
    socket.pipe(up).pipe(socket);
    socket.on('error', () => up.destroy());
    up.on('error', () => socket.destroy());
  });
  return new Promise((res) => s.listen(port, '127.0.0.1', () => res(s)));
}

beforeAll(async () => {
  const cp = await useControlPlane();
  await applyCrds(cp);
  pgs = await startPostgres({ password: CANARY });
  w = new World(cp.kubeConfig(), await createTestNamespace(cp, 'e2e-unreachable'));
  proxyPort = await freePort();
  op = await startOperator({
    cp,
    config: externalConfig({ host: '127.0.0.1', port: proxyPort, superuser: pgs.superuser }, {
      operator: { namespace: w.ns, resync_seconds: 300, max_requeue_seconds: 4, log_level: 'info', leader_election: { lease_name: `e2e-${w.ns}` } },
    }),
    env: { E2E_PG_ADMIN_PASSWORD: CANARY },
    args: ['-n', w.ns],
  });
});

afterAll(async () => {
  await op?.stop();
  proxy?.close();
  await pgs?.stop();
});

it('reports Ready=False with the error, retries with backoff, recovers, never shows the password', async () => {
  await w.applyServer('main');
  const failing = await eventually('Ready=False with the connection error', async () => {
    const r = readyOf(await w.server('main'));
    return r?.status === 'False' && /ECONNREFUSED|connect/i.test(r.message) ? r : undefined;
  });
  expect(failing.reason).toBe('ServerUnreachable');
  // Retries: several failed attempts logged, spaced out by the backoff.
  const attempts = await eventually('three attempts', async () => {
    const lines = op.logs().filter((l) => l['msg'] === 'reconcile failed' && l['name'] === 'main');
    return lines.length >= 3 ? lines : undefined;
  }, 60_000);
  const times = attempts.map((l) => Date.parse(String(l['time'])));
  expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(times[1]! - times[0]! - 50);

  proxy = await openProxy(proxyPort, { host: pgs.host, port: pgs.port });
  await eventually('Ready after the server became reachable', async () => readyOf(await w.server('main'))?.status === 'True', 60_000);
  const admin = (await w.secret('main-admin'))!;
  expect(await loginError(admin)).toBeUndefined();

  const everything = [op.output(), JSON.stringify(await w.events()), JSON.stringify((await w.server('main'))?.status)];
  for (const text of everything) {
    expect(text.includes(CANARY)).toBe(false);
    expect(text.includes(admin['password']!)).toBe(false);
  }
  await w.delete('server', 'main');
  await eventually('server deleted', async () => !(await w.server('main')));
});

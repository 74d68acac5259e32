/**
 * The kubelet simulator starts database pods the way the images do: bitnami/postgresql reads
 * `*_FILE` variables from the Secret volume the pod mounts (chart 17.1.0's default), a missing
 * Secret volume keeps the pod from starting; a YugabyteDB tserver is Ready while YSQL still drops
 * connections and refuses logins with 28P01 (the chart has no readiness probe).
 */
import pg from 'pg';
import { AppsV1Api, CoreV1Api, type V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, useControlPlane, type ControlPlane } from '../index.js';
import { KubeletSimulator } from './simulator.js';

let cp: ControlPlane;
let ns: string;
let sim: KubeletSimulator;
let apps: AppsV1Api;
let core: CoreV1Api;

beforeAll(async () => {
  cp = await useControlPlane();
  ns = await createTestNamespace(cp, 'kubelet-sim');
  apps = cp.kubeConfig().makeApiClient(AppsV1Api);
  core = cp.kubeConfig().makeApiClient(CoreV1Api);
  sim = new KubeletSimulator(cp.kubeConfig(), { namespaces: [ns], intervalMs: 200, ysqlStartup: { refuseMs: 1500, authFailMs: 3000 } }).start();
});

afterAll(async () => {
  await sim?.stop();
});

function statefulSet(name: string, container: Record<string, unknown>, volumes: unknown[] = []): V1StatefulSet {
  const labels = { app: name };
  return {
    metadata: { name },
    spec: {
      serviceName: name,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'x', image: 'x', ...container }] as never, volumes: volumes as never } },
    },
  };
}

async function readyReplicas(name: string): Promise<number> {
  return (await apps.readNamespacedStatefulSet({ name, namespace: ns })).status?.readyReplicas ?? 0;
}

async function eventually<T>(check: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${(err as Error).message} (simulator: ${String(sim.lastError)})`, { cause: err });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function login(port: number, user: string, password: string, database = 'postgres'): Promise<string> {
  const c = new pg.Client({ host: '127.0.0.1', port, user, password, database, connectionTimeoutMillis: 3000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('kubelet simulator', { timeout: 120_000 }, () => {
  it('bitnami: POSTGRES_PASSWORD_FILE is read from the mounted Secret (items mapping, trailing newline stripped), and wins over POSTGRES_PASSWORD', async () => {
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'pw' }, stringData: { 'admin-key': 'from-File_1\n' } } });
    const sts = statefulSet('files', {
      name: 'postgresql',
      env: [
        { name: 'POSTGRES_PASSWORD', value: 'from-env' },
        { name: 'POSTGRES_PASSWORD_FILE', value: '/opt/bitnami/postgresql/secrets/postgres-password' },
      ],
      volumeMounts: [{ name: 'postgresql-password', mountPath: '/opt/bitnami/postgresql/secrets/' }],
    }, [{ name: 'postgresql-password', secret: { secretName: 'pw', items: [{ key: 'admin-key', path: 'postgres-password' }] } }]);
    await apps.createNamespacedStatefulSet({ namespace: ns, body: sts });
    await eventually(async () => expect(await readyReplicas('files')).toBe(1));
    const port = sim.instance(ns, 'files')!.port;
    expect(await login(port, 'postgres', 'from-File_1')).toBe('postgres');
    await expect(login(port, 'postgres', 'from-env')).rejects.toThrow(/password authentication failed/);
  });

  it('bitnami: a pod whose Secret volume does not exist does not start (FailedMount) until the Secret appears', async () => {
    const sts = statefulSet('nosecret', {
      name: 'postgresql',
      env: [{ name: 'POSTGRES_PASSWORD_FILE', value: '/opt/bitnami/postgresql/secrets/postgres-password' }],
      volumeMounts: [{ name: 'postgresql-password', mountPath: '/opt/bitnami/postgresql/secrets' }],
    }, [{ name: 'postgresql-password', secret: { secretName: 'later' } }]);
    await apps.createNamespacedStatefulSet({ namespace: ns, body: sts });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await readyReplicas('nosecret')).toBe(0);
    expect(sim.instance(ns, 'nosecret')).toBeUndefined();
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'later' }, stringData: { 'postgres-password': 'Later_pw1' } } });
    await eventually(async () => expect(await readyReplicas('nosecret')).toBe(1));
    expect(await login(sim.instance(ns, 'nosecret')!.port, 'postgres', 'Later_pw1')).toBe('postgres');
  });

  it('yugabyte: the tserver is Ready while YSQL first drops connections, then refuses logins with 28P01, then takes yugabyte/yugabyte', async () => {
    await core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'ysql' }, spec: { clusterIP: 'None', selector: { app: 'db-yb-tserver' }, ports: [{ port: 5433 }] } } });
    await apps.createNamespacedStatefulSet({ namespace: ns, body: statefulSet('db-yb-tserver', { name: 'yb-tserver' }) });
    await eventually(async () => expect(await readyReplicas('db-yb-tserver')).toBe(1));
    const addr = await sim.resolver.resolve({}, { host: `ysql.${ns}.svc.cluster.local`, port: 5433 });
    const phases: string[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const r = await login(addr.port, 'yugabyte', 'yugabyte', 'yugabyte').then(
        () => 'ok',
        (err: { code?: string }) => (err.code === '28P01' ? '28P01' : 'unreachable'),
      );
      if (phases.at(-1) !== r) phases.push(r);
      if (r === 'ok') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(phases).toEqual(['unreachable', '28P01', 'ok']);
  });
});

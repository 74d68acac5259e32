/**
 * The operator as a child process through its CLI (the production entry point): SIGTERM and
 * SIGINT stop it within 10 s with exit code 0 and release the Lease; a stolen Lease makes it
 * exit non-zero. Needs the build (`pnpm run build`, done by `npm test`).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { CoordinationV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { applyCrds, createTestNamespace, freePort, ownedTempDir, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';

const REPO = resolve(import.meta.dirname, '..', '..', '..', '..');
const CLI = join(REPO, 'packages', 'core', 'dist', 'cli.js');

let cp: ControlPlane;
let kc: KubeConfig;
let ns: string;

async function eventually<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve(fn()).catch(() => undefined);
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function launch(leaseName: string, le: Record<string, unknown> = {}, pgPort = 5432) {
  const dir = ownedTempDir('shutdown-it').dir;
  const port = await freePort();
  const config = {
    backend: 'external',
    backends: { external: { host: '127.0.0.1', port: pgPort, sslmode: 'disable', admin_username: 'postgres', admin_password_env: 'SHUTDOWN_IT_PASSWORD' } },
    operator: { namespace: ns, watch_namespaces: [ns], health_port: port, log_level: 'info', leader_election: { lease_name: leaseName, ...le } },
  };
  writeFileSync(join(dir, 'config.yaml'), stringify(config));
  let out = '';
  const child = spawn(process.execPath, [CLI, 'run'], {
    cwd: REPO,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', OPERATOR_CONFIG: join(dir, 'config.yaml'), KUBECONFIG: cp.kubeconfigPath, HYBRIDCLOUD_PLUGIN_PATHS: join(REPO, 'packages'), SHUTDOWN_IT_PASSWORD: 'not-used-here', POD_NAME: `shutdown-${randomBytes(2).toString('hex')}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((r) => child.on('exit', (code, signal) => r({ code, signal, at: Date.now() })));
  const ready = () => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok);
  return { child, exited, ready, output: () => out, port };
}

const holder = async (name: string) => (await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: ns, name })).spec?.holderIdentity ?? '';

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm run build\` first`);
  cp = await useControlPlane();
  kc = cp.kubeConfig();
  await applyCrds(cp);
  ns = await createTestNamespace(cp, 'shutdown');
});

describe('operator process', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: exits 0 within 10 s and releases the Lease`, async () => {
      const lease = `sd-${randomBytes(3).toString('hex')}`;
      const op = await launch(lease);
      try {
        await eventually('ready', op.ready, 60_000);
        await eventually('leading', async () => (await holder(lease)).startsWith('shutdown-'), 30_000);
        const sent = Date.now();
        op.child.kill(signal);
        const { code, at } = await Promise.race([op.exited, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`still running 12 s after ${signal}:\n${op.output()}`)), 12_000))]);
        console.log(`[shutdown] ${signal} → exit ${code} after ${at - sent} ms`);
        expect(code, op.output()).toBe(0);
        expect(at - sent).toBeLessThan(10_000);
        expect(await holder(lease), op.output()).toBe('');
      } finally {
        op.child.kill('SIGKILL');
      }
    }, 90_000);
  }

  it('exits within 10 s even while a reconcile hangs (a database server that accepts and never answers)', async () => {
    // A "PostgreSQL" that accepts connections and then says nothing: the reconcile of a server
    // hangs in the connection attempt, so the graceful stop has to give up on it.
    const sockets: Socket[] = [];
    let connections = 0;
    const silent = createServer((sock) => {
      connections++;
      sockets.push(sock);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const lease = `sd-${randomBytes(3).toString('hex')}`;
    const op = await launch(lease, {}, port);
    try {
      await eventually('leading', async () => (await holder(lease)).startsWith('shutdown-'), 60_000);
      await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
        group: 'hybridcloud.maibornwolff.de',
        version: 'v1alpha1',
        namespace: ns,
        plural: 'postgresqlservers',
        body: { apiVersion: 'hybridcloud.maibornwolff.de/v1alpha1', kind: 'PostgreSQLServer', metadata: { name: `hang-${randomBytes(2).toString('hex')}`, namespace: ns }, spec: { credentialsSecret: 'hang-admin' } },
      });
      await eventually('a reconcile stuck on the silent server', () => connections > 0, 30_000);
      const sent = Date.now();
      op.child.kill('SIGTERM');
      const { at } = await Promise.race([op.exited, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`still running 12 s after SIGTERM:\n${op.output()}`)), 12_000))]);
      console.log(`[shutdown] SIGTERM with a hung reconcile → exit after ${at - sent} ms`);
      expect(at - sent).toBeLessThan(10_500);
    } finally {
      op.child.kill('SIGKILL');
      for (const s of sockets) s.destroy();
      silent.close();
    }
  }, 90_000);

  it('exits non-zero when its Lease is taken away', async () => {
    const lease = `sd-${randomBytes(3).toString('hex')}`;
    const op = await launch(lease, { lease_duration_seconds: 4, renew_deadline_seconds: 3, retry_period_seconds: 1 });
    try {
      await eventually('leading', async () => (await holder(lease)).startsWith('shutdown-'), 60_000);
      const api = kc.makeApiClient(CoordinationV1Api);
      const l = await api.readNamespacedLease({ namespace: ns, name: lease });
      await api.replaceNamespacedLease({ namespace: ns, name: lease, body: { ...l, spec: { ...l.spec, holderIdentity: 'intruder' } } });
      const { code } = await Promise.race([op.exited, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`did not exit:\n${op.output()}`)), 15_000))]);
      expect(code).toBe(1);
      expect(op.output()).toMatch(/lost leadership/);
      expect(await holder(lease)).toBe('intruder'); // it did not "release" what was no longer its own
    } finally {
      op.child.kill('SIGKILL');
    }
  }, 90_000);
});

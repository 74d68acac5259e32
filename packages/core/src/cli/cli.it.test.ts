/**
 * The built bin as an admin runs it: a real process against a real apiserver. `run` loads the
 * config and the backend package, starts the operator (ready on /readyz) and exits 0 on SIGTERM;
 * a bad config is one message and exit 1, no stack trace. Needs the build (`pnpm run build`,
 * done by `npm test`).
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyCrds, freePort, ownedTempDir, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';

const BIN = resolve(import.meta.dirname, '../../dist/cli.js');
const PACKAGES = resolve(import.meta.dirname, '../../..');
let cp: ControlPlane;

function start(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env['PATH'], ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, exited, output: () => out };
}

beforeAll(async () => {
  expect(existsSync(BIN), `${BIN} is missing: run pnpm run build`).toBe(true);
  cp = await useControlPlane();
  await applyCrds(cp);
});

describe('hybridcloud-postgresql-operator (built bin)', () => {
  it('runs the operator with a backend package from HYBRIDCLOUD_PLUGIN_PATHS and stops cleanly on SIGTERM', async () => {
    const dir = ownedTempDir('hc-cli-it').dir;
    const port = await freePort();
    writeFileSync(join(dir, 'config.yaml'), 'backend: helmbitnami\n');
    const p = start(['run', '--config', join(dir, 'config.yaml'), '--metrics-port', String(port), '--no-leader-elect'], {
      KUBECONFIG: cp.kubeconfigPath,
      HYBRIDCLOUD_PLUGIN_PATHS: PACKAGES,
      HYBRIDCLOUD_OPERATOR_NAMESPACE: 'default',
    });
    let ready = false;
    for (let i = 0; i < 120 && !ready; i++) {
      await new Promise((done) => setTimeout(done, 250));
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    }
    expect(ready, p.output()).toBe(true);
    expect(p.output()).toContain('"from":"@hybridcloud-postgresql/backend-helm-bitnami@');
    p.child.kill('SIGTERM');
    expect(await p.exited, p.output()).toBe(0);
  });

  it('refuses a bad config with exit 1 and one message per bad key', async () => {
    const dir = ownedTempDir('hc-cli-it').dir;
    writeFileSync(join(dir, 'config.yaml'), 'backend: helmbitnami\nsecurity:\n  password_lenght: 20\n');
    const p = start(['run'], { OPERATOR_CONFIG: join(dir, 'config.yaml'), KUBECONFIG: cp.kubeconfigPath, HYBRIDCLOUD_PLUGIN_PATHS: PACKAGES });
    expect(await p.exited).toBe(1);
    expect(p.output()).toBe('error: Invalid operator configuration:\n  - security.password_lenght: unknown key\n');
  });
});

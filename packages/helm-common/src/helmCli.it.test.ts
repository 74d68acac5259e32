/**
 * A helm run's private dir holds the values (passwords) and, outside a cluster, a kubeconfig. A
 * container killed mid-run leaves it in /tmp, which in the chart is an emptyDir that outlives the
 * restart. Here a real process is SIGKILLed while its helm (a stand-in binary that sleeps) runs;
 * the next process's first run removes what it left, and leaves a live process's dir alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const PKG = resolve(import.meta.dirname, '..');
const DIST = join(PKG, 'dist', 'helmCli.js');
const tmp = mkdtempSync(join(tmpdir(), 'helm-run-dirs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A process that runs `binary args` through HelmCli with a values file holding a password. */
function runner(binary: string, args: string[]) {
  const script = `
    import { KubeConfig } from '@kubernetes/client-node';
    import { HelmCli } from ${JSON.stringify(DIST)};
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
    await new HelmCli({ binary: ${JSON.stringify(binary)}, kubeConfig: kc, timeoutMs: 60_000 }).run(${JSON.stringify(args)}, { files: { 'values.yaml': 'auth: { postgresPassword: s3cret }' } });
  `;
  return spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: PKG, env: { ...process.env, TMPDIR: tmp }, stdio: 'ignore', detached: true });
}

const runDirs = () => readdirSync(tmp).filter((n) => n.startsWith('hcpg-helm-') && !/^hcpg-helm-(cache|config|data)$/.test(n));

it('the run dir of a process SIGKILLed mid-helm (values with a password) is removed by the next process; a live process keeps its own', async () => {
  expect(existsSync(DIST), 'helm-common is built').toBe(true);
  const killed = runner('sleep', ['30']);
  let left: string[] = [];
  for (let i = 0; i < 100 && !(left = runDirs()).some((d) => existsSync(join(tmp, d, 'values.yaml'))); i++) await new Promise((r) => setTimeout(r, 100));
  expect(left).toHaveLength(1);
  process.kill(-killed.pid!, 'SIGKILL'); // the container's kill: the process and its helm
  await new Promise((r) => killed.on('exit', r));
  expect(runDirs()).toEqual(left); // what the kill leaves: values.yaml with the password

  // Another operator still running on the same machine (this test process) has a run dir too.
  const live = `hcpg-helm-${process.pid}-abcdef`;
  mkdirSync(join(tmp, live));
  writeFileSync(join(tmp, live, 'values.yaml'), 'x');

  const next = runner('true', []);
  expect(await new Promise((r) => next.on('exit', r))).toBe(0);
  expect(runDirs()).toEqual([live]);
}, 30_000);

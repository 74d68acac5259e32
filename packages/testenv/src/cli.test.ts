import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { waitUntil } from './net.js';
import { isAlive, killGroup } from './processes.js';

// Drives the built CLI (npm test builds before it runs) in a temp TESTENV_DIR.
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'testenv-cli-'));
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [CLI, ...args], { env: { ...process.env, TESTENV_DIR: dir } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
interface State { daemonPid: number; status: string; error?: string; processes: Array<{ name: string; pid: number; endpoint: string }> }
const state = (): State => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State;
const envOf = (text: string): Record<string, string> =>
  Object.fromEntries([...text.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]));

afterAll(async () => {
  await run(['down']);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(CLI))('testenv CLI', () => {
  it('up starts everything detached, writes env and kubeconfig, reuses itself; down leaves nothing', async () => {
    const up = await run(['up']);
    expect(up.code, up.stderr).toBe(0);
    const env = envOf(up.stdout);
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['KUBECONFIG', 'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'AWS_ENDPOINT_URL_RDS', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']));
    expect(readFileSync(join(dir, 'env'), 'utf8')).toContain(`export PGPORT='${env['PGPORT']}'`);

    // The environment works with nothing but these variables.
    const kubectl = join(dir, 'bin', 'kubectl');
    const ns = await promisify(execFile)(kubectl, ['get', 'ns', 'default', '-o', 'name'], { env: { ...process.env, KUBECONFIG: env['KUBECONFIG'] } });
    expect(ns.stdout.trim()).toBe('namespace/default');
    const psql = await promisify(execFile)(join(dir, 'bin', 'psql'), ['-Atc', 'select 40 + 2'], { env: { ...process.env, ...env } });
    expect(psql.stdout.trim()).toBe('42');
    expect((await fetch(`${env['AWS_ENDPOINT_URL_RDS']}/moto-api/reset`, { method: 'POST' })).status).toBe(200);

    const first = state();
    expect(first.processes.map((p) => p.name)).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'postgres', 'moto_server']);
    const again = await run(['up']);
    expect(again.stderr).toMatch(/already up/);
    expect(state().daemonPid).toBe(first.daemonPid);
    const status = await run(['status']);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toMatch(/kube-apiserver \/readyz: ok/);

    const down = await run(['down']);
    expect(down.code, down.stderr).toBe(0);
    for (const pid of [first.daemonPid, ...first.processes.map((p) => p.pid)]) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
    expect((await run(['status'])).code).toBe(1);
  }, 240_000);

  it('takes the set down and says why when a component dies', async () => {
    expect((await run(['up'])).code).toBe(0);
    const before = state();
    killGroup(before.processes.find((p) => p.name === 'postgres')!.pid, 'SIGKILL');
    await waitUntil('daemon to give up', async () => !isAlive(before.daemonPid), { timeoutMs: 30_000 });
    expect(state()).toMatchObject({ status: 'failed', error: expect.stringMatching(/postgres exited unexpectedly/) });
    for (const p of before.processes) expect(isAlive(p.pid), p.name).toBe(false);
    const status = await run(['status']);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/failed/);
    expect((await run(['down'])).code).toBe(0);
  }, 240_000);
});

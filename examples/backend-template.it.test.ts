/**
 * The third-party path, end to end, outside the workspace: core, testenv and the testkit packed
 * as they would be published (`pnpm pack`), the template copied to a temp directory and installed
 * from those tarballs with npm, its own `npm test` (the conformance kit) run, then the template
 * loaded into the operator (1) through `plugins.paths` of the config and (2) through the chart's
 * plugin init container (its npm command line, rendered by helm, run here) — each time a
 * PostgreSQLServer and a PostgreSQLDatabase whose Secrets log in with psql.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from '../charts/test/helpers.js';
import { applyCrds, createTestNamespace, useControlPlane, usePostgres, type ControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import { eventually, readyOf, startOperator, World, type OperatorProcess } from '../packages/backend-external/src/e2e/harness.js';

const REPO = resolve(import.meta.dirname, '..');
const TEMPLATE = join(REPO, 'examples', 'backend-template');
const CHART = join(REPO, 'charts', 'hybrid-cloud-postgresql-operator');

let dir: string;
let cp: ControlPlane;
let pgs: Postgres;
const timings: Record<string, number> = {};

/** Runs a command to its end; output kept for the error message. */
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${code}:\n${out.slice(-6000)}`))));
  });
}

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    timings[what] = (Date.now() - t) / 1000;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'backend-template-'));
  [cp, pgs] = await Promise.all([useControlPlane(), usePostgres()]);
  await applyCrds(cp);
}, 600_000);

afterAll(() => {
  process.stderr.write(`[backend-template] seconds: ${JSON.stringify(timings)}\n`);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the backend template, as a third party uses it', () => {
  let packs: Record<string, string>;
  let work: string;
  let tarball: string;

  it('installs outside the workspace from packed core, testenv and testkit, and passes the kit with its own npm test', { timeout: 900_000 }, async () => {
    const out = join(dir, 'packs');
    mkdirSync(out);
    packs = {};
    await timed('pack', async () => {
      for (const pkg of ['core', 'testenv', 'testkit']) {
        const printed = await run('pnpm', ['pack', '--pack-destination', out], join(REPO, 'packages', pkg));
        packs[pkg] = printed.trim().split('\n').filter((l) => l.endsWith('.tgz')).pop()!.trim();
      }
    });
    // A copy, as a third party would start: no workspace around it.
    work = join(dir, 'teamdb');
    cpSync(TEMPLATE, work, { recursive: true, filter: (src) => !/\/(node_modules|dist)(\/|$)/.test(src) });
    const pkg = JSON.parse(readFileSync(join(work, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    // The registry versions the template names are replaced by the tarballs (what `npm publish` would serve).
    const file = (name: string) => `file:${packs[name]}`;
    pkg['devDependencies']!['@hybridcloud-postgresql/core'] = file('core');
    pkg['devDependencies']!['@hybridcloud-postgresql/testkit'] = file('testkit');
    pkg['overrides'] = { '@hybridcloud-postgresql/core': file('core'), '@hybridcloud-postgresql/testenv': file('testenv'), '@hybridcloud-postgresql/testkit': file('testkit') };
    writeFileSync(join(work, 'package.json'), JSON.stringify(pkg, null, 2));

    await timed('npm install', () => run('npm', ['install', '--no-audit', '--no-fund'], work));
    const test = await timed('npm test', () => run('npm', ['test'], work));
    // eslint-disable-next-line no-control-regex
    expect(test.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests\s+14 passed \(14\)/);
    tarball = (await run('npm', ['pack', '--silent'], work)).trim().split('\n').pop()!;
    tarball = join(work, tarball);
  });

  async function provisionAndLogin(op: OperatorProcess, ns: string): Promise<void> {
    const world = new World(cp.kubeConfig(), ns);
    await world.applyServer('team');
    await world.applyDatabase('orders', 'team');
    for (const [kind, name] of [['server', 'team'], ['database', 'orders']] as const) {
      await eventually(`${kind} ${name} Ready`, async () => readyOf(kind === 'server' ? await world.server(name) : await world.database(name))?.status === 'True', 90_000)
        .catch(async (err: Error) => { throw new Error(`${err.message}\n${op.output().slice(-3000)}`); });
    }
    for (const secret of ['team-admin', 'orders-creds']) {
      const data = (await world.secret(secret))!;
      const r = await pgs.psql('SELECT current_user', { user: data['username']!, password: data['password']!, database: data['dbname'] ?? 'postgres' });
      expect(r.stdout.trim()).toBe(data['username']);
    }
    expect((await world.server('team'))?.status?.backend).toBe('teamdb');
  }

  const teamdbConfig = () => ({
    backend: 'teamdb',
    backends: { teamdb: { host: pgs.host, port: pgs.port, sslmode: 'disable', admin_username: pgs.superuser, admin_password_env: 'TEAMDB_ADMIN_PASSWORD' } },
    operator: { log_level: 'info' },
  });

  it('loads into the operator through plugins.paths: a working login', { timeout: 300_000 }, async () => {
    expect(tarball, 'the previous test packed the template').toBeTruthy();
    const ns = await createTestNamespace(cp, 'template-paths');
    const op = await startOperator({ cp, config: { ...teamdbConfig(), plugins: { paths: [work] }, operator: { log_level: 'info', watch_namespaces: [ns] } }, env: { TEAMDB_ADMIN_PASSWORD: pgs.password } });
    try {
      await timed('operator via plugins.paths', () => provisionAndLogin(op, ns));
    } finally {
      await op.stop();
    }
  });

  it("loads into the operator through the chart's plugin init container: a working login", { timeout: 300_000 }, async () => {
    expect(tarball, 'the first test packed the template').toBeTruthy();
    // The image layout (docker/assemble-runtime.sh): core where plugins resolve it, the install dir beside it.
    const opt = join(dir, 'opt', 'hybridcloud-postgresql');
    mkdirSync(join(opt, 'node_modules', '@hybridcloud-postgresql'), { recursive: true });
    symlinkSync(join(REPO, 'packages', 'core'), join(opt, 'node_modules', '@hybridcloud-postgresql', 'core'));
    const rendered = execFileSync(cp.bin.helm, ['template', 'op', CHART, '--set', `plugins.install.packages[0]=${tarball}`], { encoding: 'utf8' });
    const deployment = parseAllDocuments(rendered).map((d) => d.toJS() as Record<string, any>).find((d) => d?.['kind'] === 'Deployment')!; // eslint-disable-line @typescript-eslint/no-explicit-any
    const pod = deployment['spec']['template']['spec'];
    const init = pod['initContainers'][0] as { command: string[]; args: string[]; env: Array<{ name: string; value: string }> };
    const local = (s: string) => s.replaceAll('/opt/hybridcloud-postgresql', opt);
    // The init container's own command line, with the image's paths mapped to this machine.
    await timed('chart init container (npm install)', () => run(init.command[0]!, init.args.map(local), dir, { ...process.env, npm_config_update_notifier: 'false' }));
    const operatorEnv = (pod['containers'][0]['env'] as Array<{ name: string; value?: string }>).find((e) => e.name === 'HYBRIDCLOUD_PLUGIN_PATHS')!.value!;
    const pluginPaths = operatorEnv.split(':').map((p) => (p === '/opt/hybridcloud-postgresql/packages' ? join(REPO, 'packages') : local(p))).join(':');
    const ns = await createTestNamespace(cp, 'template-chart');
    const op = await startOperator({ cp, config: { ...teamdbConfig(), operator: { log_level: 'info', watch_namespaces: [ns] } }, env: { TEAMDB_ADMIN_PASSWORD: pgs.password, HYBRIDCLOUD_PLUGIN_PATHS: pluginPaths } });
    try {
      await timed('operator via the chart init container', () => provisionAndLogin(op, ns));
      // One core in the process: --legacy-peer-deps left core out of the plugin dir; the plugin resolved the image's.
      expect(existsSync(join(opt, 'plugins', 'node_modules', '@hybridcloud-postgresql', 'core'))).toBe(false);
    } finally {
      await op.stop();
    }
  });
});

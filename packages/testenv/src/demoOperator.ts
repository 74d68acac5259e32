/**
 * The demo's main job (issue 4): the operator started through its CLI with an embedded default
 * config (backend `external` on the demo's PostgreSQL), examples/local.yaml applied, and a wait
 * until the database's credentials Secret gives a working psql login.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { REPO_ROOT } from './binaries.js';
import type { DemoContext, DemoStep } from './demo.js';
import { freePort, waitUntil } from './net.js';
import { supervise } from './processes.js';

const SECRET = 'demoservice-postgres-credentials';
const EXAMPLE = join(REPO_ROOT, 'examples', 'local.yaml');

export const operatorStep: DemoStep = async (ctx: DemoContext) => {
  const dir = join(REPO_ROOT, '.testenv', 'demo');
  mkdirSync(dir, { recursive: true });
  const healthPort = await freePort();
  const config = {
    backend: 'external',
    backends: {
      external: { host: ctx.env.pg.host, port: ctx.env.pg.port, sslmode: 'disable', admin_username: ctx.env.pg.superuser, admin_password_env: 'DEMO_POSTGRES_ADMIN_PASSWORD' },
    },
    operator: { namespace: 'default', health_port: healthPort, resync_seconds: 60 },
  };
  const configPath = join(dir, 'operator.yaml');
  writeFileSync(configPath, stringify(config), { mode: 0o600 });
  const logFile = join(dir, 'operator.log');
  const operator = supervise('operator', process.execPath, [join(REPO_ROOT, 'packages', 'core', 'dist', 'cli.js'), 'run'], {
    cwd: REPO_ROOT,
    logFile,
    env: {
      ...process.env,
      OPERATOR_CONFIG: configPath,
      KUBECONFIG: ctx.kubeconfig,
      HYBRIDCLOUD_PLUGIN_PATHS: join(REPO_ROOT, 'packages'),
      DEMO_POSTGRES_ADMIN_PASSWORD: ctx.env.pg.password,
    },
  });
  await waitUntil('operator /readyz', async () => (await fetch(`http://127.0.0.1:${healthPort}/healthz`)).ok, { child: operator, timeoutMs: 60_000 });
  operator.markReady();
  ctx.log(`Operator running (pid ${operator.pid}), config ${configPath}, log ${logFile}`);
  return () => operator.stop('SIGTERM', 10_000);
};

export const examplesStep: DemoStep = async (ctx: DemoContext) => {
  await ctx.env.cp.kubectl(['apply', '-f', EXAMPLE]);
  ctx.log(`Applied ${EXAMPLE}; waiting for a working login with Secret ${SECRET} …`);
  const started = Date.now();
  let data: Record<string, string> = {};
  await waitUntil('a psql login with the database Secret', async () => {
    const out = await ctx.env.cp.kubectl(['get', 'secret', SECRET, '-n', 'default', '-o', 'json']).catch(() => undefined);
    if (!out) return false;
    const raw = (JSON.parse(out.stdout) as { data?: Record<string, string> }).data ?? {};
    data = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    if (!data['password'] || !data['dbname']) return false;
    const r = await ctx.env.pg.psql('SELECT current_user', { user: data['username']!, password: data['password'], database: data['dbname'] }).catch(() => undefined);
    return r?.stdout.trim() === data['username'];
  }, { timeoutMs: 90_000, intervalMs: 300 });
  ctx.log(`psql login as ${data['username']} to database ${data['dbname']} works (${((Date.now() - started) / 1000).toFixed(1)} s after apply).`);
  ctx.log('');
  ctx.log('Try (after `source` of the env file below):');
  ctx.log('  kubectl get postgresqlservers,postgresqldatabases');
  ctx.log(`  kubectl get secret ${SECRET} -o jsonpath='{.data.password}' | base64 -d; echo`);
  ctx.log(`  psql "$(kubectl get secret ${SECRET} -o jsonpath='{.data.uri}' | base64 -d)" -c 'create table hello (id int)'`);
  ctx.log('  kubectl label postgresqldatabase demoservice operator/action=reset-password');
  ctx.log(`  kubectl delete -f ${EXAMPLE}`);
};

export const defaultDemoSteps = (): DemoStep[] => [operatorStep, examplesStep];

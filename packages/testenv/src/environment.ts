import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from './controlPlane.js';
import { startMoto, type Moto } from './moto.js';
import { startPostgres, type Postgres } from './postgres.js';
import { CONTROL_PLANE_ENV } from './shared.js';

/** The whole local environment: control plane, PostgreSQL, moto. */
export interface Environment {
  cp: ControlPlane;
  pg: Postgres;
  moto: Moto;
  stop(): Promise<void>;
}

export async function startEnvironment(opts: { logDir?: string; onUnexpectedExit?: (error: Error) => void } = {}): Promise<Environment> {
  const log = (name: string): { logFile?: string } => (opts.logDir ? { logFile: join(opts.logDir, `${name}.log`) } : {});
  const extra = opts.onUnexpectedExit ? { onUnexpectedExit: opts.onUnexpectedExit } : {};
  const stops: Array<() => Promise<void>> = [];
  try {
    const cp = await startControlPlane({ ...(opts.logDir ? { logDir: opts.logDir } : {}), ...extra });
    stops.push(() => cp.stop());
    // PostgreSQL and moto do not depend on each other: start them side by side.
    const [pg, moto] = await Promise.all([
      startPostgres({ ...log('postgres'), ...extra }).then((p) => (stops.push(() => p.stop()), p)),
      startMoto({ ...log('moto'), ...extra }).then((m) => (stops.push(() => m.stop()), m)),
    ]);
    return { cp, pg, moto, stop: () => stopAll(stops) };
  } catch (err) {
    await stopAll(stops);
    throw err;
  }
}

async function stopAll(stops: Array<() => Promise<void>>): Promise<void> {
  await Promise.allSettled(stops.splice(0).reverse().map((s) => s()));
}

const quote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;

/** Shell `export` lines for the environment (what `testenv up` writes to .testenv/env). */
export function envLines(env: Environment, kubeconfigPath: string, binDir?: string): string[] {
  const vars: Record<string, string> = {
    KUBECONFIG: kubeconfigPath,
    PGHOST: env.pg.host,
    PGPORT: String(env.pg.port),
    PGUSER: env.pg.superuser,
    PGPASSWORD: env.pg.password,
    PGDATABASE: 'postgres',
    AWS_ENDPOINT_URL_RDS: env.moto.endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'eu-central-1',
    // vitest run from this shell reuses this control plane instead of starting its own.
    [CONTROL_PLANE_ENV]: join(env.cp.dir, 'controlplane.json'),
  };
  const lines = Object.entries(vars).map(([k, v]) => `export ${k}=${quote(v)}`);
  if (binDir) lines.push(`export PATH=${quote(binDir)}:"$PATH"`);
  return lines;
}

/** Writes kubeconfig, env file and a bin dir with kubectl/helm/psql links into dir (e.g. .testenv). */
export function writeEnvironmentFiles(env: Environment, dir: string): { kubeconfig: string; envFile: string; lines: string[] } {
  mkdirSync(dir, { recursive: true });
  const kubeconfig = env.cp.writeKubeconfig(env.cp.kubeConfig(), join(dir, 'kubeconfig'));
  const binDir = join(dir, 'bin');
  rmSync(binDir, { recursive: true, force: true });
  mkdirSync(binDir);
  symlinkSync(env.cp.bin.kubectl, join(binDir, 'kubectl'));
  symlinkSync(env.cp.bin.helm, join(binDir, 'helm'));
  symlinkSync(join(env.pg.binDir, 'psql'), join(binDir, 'psql'));
  const lines = envLines(env, kubeconfig, binDir);
  const envFile = join(dir, 'env');
  writeFileSync(envFile, lines.join('\n') + '\n', { mode: 0o600 });
  return { kubeconfig, envFile, lines };
}

/**
 * End-to-end harness: the operator as a child process through its CLI (the production entry
 * point), against the testenv control plane and a real PostgreSQL. Needs a build first
 * (`pnpm exec tsc -b packages/core packages/backend-external`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import pg from 'pg';
import { stringify } from 'yaml';
import { decodeSecret, GROUP, VERSION, type PostgreSQLDatabase, type PostgreSQLServer } from '@hybridcloud-postgresql/core';
import { freePort, type ControlPlane } from '@hybridcloud-postgresql/testenv';

export const REPO = resolve(import.meta.dirname, '..', '..', '..', '..');
export const CLI = join(REPO, 'packages', 'core', 'dist', 'cli.js');
/** The V8 flags of the image (Dockerfile `ENV NODE_OPTIONS="…"`), read from there so tests and benchmarks run what ships. */
export const OPERATOR_NODE_OPTIONS =
  process.env['HC_OPERATOR_NODE_OPTIONS'] ?? /NODE_OPTIONS="([^"]*)"/.exec(readFileSync(join(REPO, 'Dockerfile'), 'utf8'))?.[1] ?? '';

export function assertBuilt(): void {
  for (const f of [CLI, join(REPO, 'packages', 'backend-external', 'dist', 'index.js')]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`pnpm exec tsc -b packages/core packages/backend-external\` first`);
  }
}

export interface OperatorProcess {
  child: ChildProcess;
  id: string;
  /** Started as the leader of a process group of its own (`group`): SIGKILL it with `kill(-pid)`, its helm children included. */
  group: boolean;
  /** Port of /healthz, /readyz, /metrics. */
  healthPort: number;
  /** Everything the process wrote (stdout + stderr), for assertions on logs. */
  output(): string;
  /** JSON log lines parsed (non-JSON lines skipped). */
  logs(): Array<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface StartOperatorOptions {
  cp: ControlPlane;
  /** Operator config (YAML object); plugin path and health port are filled in. */
  config: Record<string, unknown>;
  env?: Record<string, string>;
  args?: string[];
  id?: string;
  /** Entry script instead of the CLI (e.g. the fault suite's launcher that adds a connection resolver). */
  script?: string;
  /**
   * A process group of its own, so a SIGKILL can take the operator's children (helm) with it, as
   * when a container is killed (the fault suite's helm backends).
   */
  group?: boolean;
}

export async function startOperator(o: StartOperatorOptions): Promise<OperatorProcess> {
  assertBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'e2e-operator-'));
  const configPath = join(dir, 'config.yaml');
  const operatorSection = { health_port: await freePort(), ...((o.config['operator'] as Record<string, unknown>) ?? {}) };
  writeFileSync(configPath, stringify({ ...o.config, operator: operatorSection }), { mode: 0o600 });
  let out = '';
  const child = spawn(process.execPath, [o.script ?? CLI, 'run', ...(o.args ?? [])], {
    cwd: REPO,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/root',
      OPERATOR_CONFIG: configPath,
      KUBECONFIG: o.cp.kubeconfigPath,
      HYBRIDCLOUD_PLUGIN_PATHS: join(REPO, 'packages'),
      POD_NAME: o.id ?? `operator-${process.pid}-${Date.now()}`,
      HOSTNAME: o.id ?? `operator-${process.pid}-${Date.now()}`,
      // The V8 flags the image runs the operator with (Dockerfile ENV NODE_OPTIONS), so benchmarks measure that.
      NODE_OPTIONS: OPERATOR_NODE_OPTIONS,
      ...(o.env ?? {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: o.group ?? false,
  });
  child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const exited = new Promise<number | null>((res) =>
    child.on('exit', (code) => {
      // The config is read at start; its temp dir goes with the process (killed ones too).
      rmSync(dir, { recursive: true, force: true });
      res(code);
    }),
  );
  return {
    child,
    id: o.id ?? '',
    group: o.group ?? false,
    healthPort: operatorSection.health_port as number,
    output: () => out,
    logs: () => out.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    }),
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Config for the external backend on a testenv PostgreSQL (admin password via the environment). */
export function externalConfig(pgs: { host: string; port: number; superuser: string }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    backend: 'external',
    backends: { external: { host: pgs.host, port: pgs.port, sslmode: 'disable', admin_username: pgs.superuser, admin_password_env: 'E2E_PG_ADMIN_PASSWORD' } },
    operator: { resync_seconds: 30, log_level: 'debug' },
    ...extra,
  };
}

export class World {
  readonly co: CustomObjectsApi;
  readonly core: CoreV1Api;
  constructor(readonly kc: KubeConfig, readonly ns: string) {
    this.co = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  private ref(plural: string, ns = this.ns) {
    return { group: GROUP, version: VERSION, namespace: ns, plural };
  }

  async applyServer(name: string, spec: Record<string, unknown> = {}, ns = this.ns): Promise<void> {
    await this.co.createNamespacedCustomObject({ ...this.ref('postgresqlservers', ns), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLServer', metadata: { name, namespace: ns }, spec: { credentialsSecret: `${name}-admin`, ...spec } } });
  }
  async applyDatabase(name: string, server: string, spec: Record<string, unknown> = {}, ns = this.ns): Promise<void> {
    await this.co.createNamespacedCustomObject({ ...this.ref('postgresqldatabases', ns), body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLDatabase', metadata: { name, namespace: ns }, spec: { serverRef: { name: server }, credentialsSecret: `${name}-creds`, ...spec } } });
  }
  async server(name: string, ns = this.ns): Promise<PostgreSQLServer | undefined> {
    return this.co.getNamespacedCustomObject({ ...this.ref('postgresqlservers', ns), name }).catch(() => undefined) as Promise<PostgreSQLServer | undefined>;
  }
  async database(name: string, ns = this.ns): Promise<PostgreSQLDatabase | undefined> {
    return this.co.getNamespacedCustomObject({ ...this.ref('postgresqldatabases', ns), name }).catch(() => undefined) as Promise<PostgreSQLDatabase | undefined>;
  }
  async label(kind: 'server' | 'database', name: string, labels: Record<string, string | null>, ns = this.ns): Promise<void> {
    await this.co.patchNamespacedCustomObject({ ...this.ref(kind === 'server' ? 'postgresqlservers' : 'postgresqldatabases', ns), name, body: { metadata: { labels } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }
  async delete(kind: 'server' | 'database', name: string, ns = this.ns): Promise<void> {
    await this.co.deleteNamespacedCustomObject({ ...this.ref(kind === 'server' ? 'postgresqlservers' : 'postgresqldatabases', ns), name });
  }
  async secret(name: string, ns = this.ns): Promise<Record<string, string> | undefined> {
    const s = await this.core.readNamespacedSecret({ namespace: ns, name }).catch(() => undefined);
    return s ? decodeSecret(s) : undefined;
  }
  async events(ns = this.ns): Promise<Array<{ reason?: string; message?: string; type?: string; involvedObject: { name?: string } }>> {
    return (await this.core.listNamespacedEvent({ namespace: ns })).items;
  }
}

export const readyOf = (o: PostgreSQLServer | PostgreSQLDatabase | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');

/** Polls until `fn` returns a truthy value (event-driven operator: no fixed sleeps in tests). */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = 60_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Logs in with a credentials Secret's values (as an application would), runs SQL. */
export async function withLogin<T>(data: Record<string, string>, fn: (c: pg.Client) => Promise<T>, database?: string): Promise<T> {
  const c = new pg.Client({ host: data['host'], port: Number(data['port']), user: data['username'], password: data['password'], database: database ?? data['dbname'], connectionTimeoutMillis: 5_000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function loginError(data: Record<string, string>, database?: string): Promise<string | undefined> {
  try {
    await withLogin(data, async () => undefined, database);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The operator's commands. Every user error (bad config, bad flag, missing plugin) ends as one
 * clear message and exit code 1 (2 for usage errors) — never a stack trace. Only bugs print one.
 */
import type { ConnectionResolver } from '../backend/connectionResolver.js';
import { readFileSync } from 'node:fs';
import type { KubeConnection } from '../kube/connection.js';
import { LiteKubeConfig } from '../kube/kubeconfig.js';
import type { DependencyContainer } from 'tsyringe';
import type { BackendDefinition } from '../backend/contract.js';
import { ConfigError } from '../config/errors.js';
import { readConfigFile } from '../config/read.js';
import { renderEffectiveConfig } from '../config/render.js';
import { resolveConfig, type CliOverride } from '../config/resolve.js';
import { renderAllCrds } from '../crd/generate.js';
import { createContainer, type ContainerModule } from '../di/container.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createBackends, prepare } from '../plugins/bootstrap.js';
import { defaultSearchRoots, discoverPlugins } from '../plugins/discover.js';
import { parseCommand, USAGE, UsageError, type Command } from './args.js';

export type StartOperator = (container: DependencyContainer) => Promise<unknown>;

export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
  cwd: string;
  entryScript?: string | undefined;
  /** Backends registered in code (built-ins). */
  registered?: readonly BackendDefinition[];
  modules?: readonly ContainerModule[];
  loadKubeConfig?: () => KubeConnection;
  /** Where core and backends connect for SQL (tests, out-of-cluster development); default identity. */
  connectionResolver?: ConnectionResolver;
  /** The controller runtime; default: lazily imported from controller/manager.js. */
  startOperator?: StartOperator;
  logger?: (level: string) => Logger;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), entryScript: process.argv[1] };
}

/** An error the user caused and can fix: printed without a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${err.message}\nRun with --help for usage.\n`);
      return 2;
    }
    throw err;
  }
  try {
    switch (command.kind) {
      case 'help':
        io.stdout.write(`${USAGE}\n`);
        return 0;
      case 'version':
        io.stdout.write(`${version()}\n`);
        return 0;
      case 'crds':
        io.stdout.write(renderAllCrds());
        return 0;
      case 'check':
        return await check(command, io);
      case 'backends':
        return await listBackends(command, io);
      case 'run':
        return await run(command, io);
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UserError) {
      io.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

const prepareOpts = (cmd: { configPath?: string; overrides: CliOverride[] }, io: CliIo) => ({
  ...(cmd.configPath ? { configPath: cmd.configPath } : {}),
  cliOverrides: cmd.overrides,
  env: io.env,
  cwd: io.cwd,
  ...(io.entryScript ? { entryScript: io.entryScript } : {}),
  ...(io.registered ? { registered: io.registered } : {}),
});

async function check(cmd: Extract<Command, { kind: 'check' }>, io: CliIo): Promise<number> {
  const prepared = await prepare(prepareOpts(cmd, io));
  io.stdout.write(renderEffectiveConfig(prepared.loaded));
  const lines = [...prepared.definitions].map(([id, d]) => `#   ${id}: ${d.plugin ? `${d.plugin.packageName}@${d.plugin.packageVersion} (${d.plugin.dir})` : d.origin}`);
  io.stdout.write(`# Backends that will be loaded:\n${lines.join('\n')}\n`);
  // Each backend's create() runs too (and is closed again): a config `run` would reject is
  // rejected here, not reported OK (a missing admin password variable, a bad combination).
  let kubeConfig: KubeConnection;
  try {
    kubeConfig = io.loadKubeConfig ? io.loadKubeConfig() : defaultKubeConfig();
  } catch {
    kubeConfig = LiteKubeConfig.unauthenticated('https://127.0.0.1:1');
  }
  const logger = io.logger?.('error') ?? createLogger({ level: 'error' });
  const registry = await createBackends(prepared, { kubeConfig, logger });
  await registry.close();
  io.stderr.write('configuration OK\n');
  return 0;
}

async function listBackends(cmd: Extract<Command, { kind: 'backends' }>, io: CliIo): Promise<number> {
  // The config is optional here: without one, list what is installed.
  let enabled: string[] = [];
  let extraPaths: string[] = [];
  try {
    const source = await readConfigFile({ ...(cmd.configPath ? { path: cmd.configPath } : {}), env: io.env, cwd: io.cwd });
    const { config } = resolveConfig(source.document, { env: io.env, cliOverrides: cmd.overrides });
    enabled = [config.backend, ...config.allowed_backends];
    extraPaths = config.plugins.paths;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`note: no usable configuration (${err.problems[0]?.message ?? err.message}); showing installed backends only\n`);
  }
  const discovery = discoverPlugins(defaultSearchRoots({ cwd: io.cwd, env: io.env, extraPaths, entryScript: io.entryScript }));
  const rows = [
    ...discovery.plugins.map((p) => [p.id, `${p.packageName}@${p.packageVersion}`, `api v${p.apiVersion}`, enabled.includes(p.id) ? 'enabled' : '-', p.dir]),
    ...(io.registered ?? []).map((d) => [d.id, '(built in)', `api v${d.apiVersion}`, enabled.includes(d.id) ? 'enabled' : '-', '']),
  ].sort((a, b) => a[0]!.localeCompare(b[0]!));
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['ID', 'PACKAGE', 'API', 'STATUS'][i]!.length));
  const line = (r: string[]) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
  io.stdout.write(`${[line(['ID', 'PACKAGE', 'API', 'STATUS', 'PATH']), ...rows.map(line)].join('\n')}\n`);
  for (const w of discovery.warnings) io.stderr.write(`warning: ${w}\n`);
  return 0;
}

async function loadStartOperator(): Promise<StartOperator> {
  const url = new URL('../controller/manager.js', import.meta.url).href;
  let mod: { startOperator?: unknown };
  try {
    mod = (await import(url)) as { startOperator?: unknown };
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes('manager')) {
      throw new UserError('this build of the operator has no controller runtime (controller/manager.js is missing)');
    }
    throw err;
  }
  if (typeof mod.startOperator !== 'function') throw new UserError('controller/manager.js does not export startOperator(container)');
  return mod.startOperator as StartOperator;
}

async function run(cmd: Extract<Command, { kind: 'run' }>, io: CliIo): Promise<number> {
  const prepared = await prepare(prepareOpts(cmd, io));
  const { config } = prepared.loaded;
  const logger = io.logger?.(config.operator.log_level) ?? createLogger({ level: config.operator.log_level });
  for (const w of prepared.loaded.warnings) logger.warn(w);
  for (const o of prepared.loaded.envOverrides) logger.info({ variable: o.variable, key: o.path.join('.') }, 'config key set from the environment');
  let kubeConfig: KubeConnection;
  try {
    kubeConfig = io.loadKubeConfig ? io.loadKubeConfig() : defaultKubeConfig();
  } catch (err) {
    throw new UserError(`cannot load the Kubernetes client configuration: ${(err as Error).message}`);
  }
  const startOperator = io.startOperator ?? (await loadStartOperator());
  const registry = await createBackends(prepared, { kubeConfig, logger, ...(io.connectionResolver ? { connectionResolver: io.connectionResolver } : {}) });
  logger.info(
    { backends: [...prepared.definitions].map(([id, d]) => ({ id, from: d.plugin ? `${d.plugin.packageName}@${d.plugin.packageVersion}` : d.origin })), default: config.backend, allowed: config.allowed_backends, namespaces: config.operator.watch_namespaces.length ? config.operator.watch_namespaces : 'all' },
    'starting operator',
  );
  const container = createContainer({ config, kubeConfig, logger, registry, ...(io.connectionResolver ? { connectionResolver: io.connectionResolver } : {}), ...(io.modules ? { modules: io.modules } : {}) });
  let result: unknown;
  try {
    result = await startOperator(container);
  } finally {
    await registry.close();
  }
  // The manager reports why it stopped; a fatal stop (lost leadership, ...) must restart the pod.
  return (result as { fatal?: boolean } | undefined)?.fatal ? 1 : 0;
}

/** KUBECONFIG / ~/.kube/config, or the in-cluster service account; without client-node (kube/connection.ts). */
function defaultKubeConfig(): KubeConnection {
  return LiteKubeConfig.load();
}

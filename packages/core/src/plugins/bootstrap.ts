/**
 * Startup, in the order that makes every error a config error named by its key: read the file,
 * validate the top level, discover plugins, import only the enabled ones, validate their config
 * sections against their own schemas, then create them. Nothing here calls exit().
 */
import type { ConnectionResolver } from '../backend/connectionResolver.js';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { clientNodeKubeConfig, type KubeConnection } from '../kube/connection.js';
import type { Backend, BackendDefinition } from '../backend/contract.js';
import { ConfigError, type ConfigProblem } from '../config/errors.js';
import { readConfigFile } from '../config/read.js';
import { resolveConfig, type BackendConfigSpec, type CliOverride, type LoadedConfig } from '../config/resolve.js';
import { passwordGeneratorFor } from '../credentials/password.js';
import type { Logger } from '../observability/logger.js';
import { defaultSearchRoots, discoverPlugins, type Discovery } from './discover.js';
import { loadDefinitions, type LoadedDefinition } from './loadDefinitions.js';
import { LoadedBackendRegistry } from './registry.js';

export interface PrepareOptions {
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  cliOverrides?: readonly CliOverride[];
  /** Backend definitions registered in code (built-ins, tests). */
  registered?: readonly BackendDefinition[];
  /** Replaces the default search roots (tests). plugins.paths and HYBRIDCLOUD_PLUGIN_PATHS still apply. */
  searchRoots?: readonly string[];
  entryScript?: string;
  /** An already parsed config document instead of reading a file (tests). */
  document?: unknown;
}

export interface Prepared {
  loaded: LoadedConfig;
  discovery: Discovery;
  definitions: Map<string, LoadedDefinition>;
}

/** Config + plugin definitions, fully validated; no backend is created yet. */
export async function prepare(opts: PrepareOptions = {}): Promise<Prepared> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const source = opts.document !== undefined ? { filepath: undefined, document: opts.document } : await readConfigFile({ ...opts, ...(opts.configPath ? { path: opts.configPath } : {}), env, cwd });
  const base = { env, ...(opts.cliOverrides ? { cliOverrides: opts.cliOverrides } : {}), ...(source.filepath ? { filepath: source.filepath } : {}) };
  const first = resolveConfig(source.document, base);

  // plugins.paths are relative to the config file (that is where an admin thinks from).
  const configDir = source.filepath ? dirname(source.filepath) : cwd;
  const extraPaths = first.config.plugins.paths.map((p) => resolve(configDir, p));
  const roots = opts.searchRoots
    ? [...extraPaths, ...(env['HYBRIDCLOUD_PLUGIN_PATHS'] ?? '').split(':').filter(Boolean).map((p) => resolve(cwd, p)), ...opts.searchRoots]
    : defaultSearchRoots({ cwd, env, extraPaths, entryScript: opts.entryScript });
  const discovery = discoverPlugins(roots);
  const named = [...extraPaths, ...(env['HYBRIDCLOUD_PLUGIN_PATHS'] ?? '').split(':').filter(Boolean).map((p) => resolve(cwd, p))];
  const missing = named.filter((p) => !existsSync(p)).map((p) => `plugin directory ${p} (plugins.paths / HYBRIDCLOUD_PLUGIN_PATHS) does not exist`);

  const ids = [first.config.backend, ...first.config.allowed_backends];
  const definitions = await loadDefinitions({ ids, discovery, ...(opts.registered ? { registered: opts.registered } : {}) });
  const schemas: Record<string, BackendConfigSpec> = {};
  for (const [id, { definition, plugin }] of definitions) {
    schemas[id] = { configSchema: definition.configSchema, configParent: definition.configParent, origin: plugin ? `${plugin.packageName}@${plugin.packageVersion}` : undefined };
  }
  const loaded = resolveConfig(source.document, { ...base, backendSchemas: schemas, knownBackendIds: discovery.plugins.map((p) => p.id) });
  loaded.warnings.push(...missing, ...discovery.warnings);
  return { loaded, discovery, definitions };
}

export interface CreateBackendsOptions {
  /** client-node's KubeConfig or core's LiteKubeConfig (backends get a client-node one, made on first use). */
  kubeConfig: KubeConnection;
  logger: Logger;
  /** Handed to backends that connect to their databases themselves; core's SQL uses the same one. */
  connectionResolver?: ConnectionResolver;
}

/** Calls each definition's create() with its plain context; any failure names the backend. */
export async function createBackends(prepared: Prepared, opts: CreateBackendsOptions): Promise<LoadedBackendRegistry> {
  const { config } = prepared.loaded;
  const generatePassword = passwordGeneratorFor(config.security);
  const backends = new Map<string, Backend>();
  const problems: ConfigProblem[] = [];
  for (const [id, { definition, origin }] of prepared.definitions) {
    try {
      const context = {
        config: config.backends[id] ?? {},
        // Other backends' sections stay private: a third-party plugin must not see their credentials.
        operatorConfig: deepFreeze(structuredClone({ ...config, backends: { [id]: config.backends[id] ?? {} } })),
        log: opts.logger.child({ backend: id }),
        // Built on first use: a backend that never touches it never loads client-node (kube/connection.ts).
        get kubeConfig() {
          return clientNodeKubeConfig(opts.kubeConfig);
        },
        operatorNamespace: config.operator.namespace,
        generatePassword,
        ...(opts.connectionResolver ? { connectionResolver: opts.connectionResolver } : {}),
      };
      const backend = await definition.create(context);
      if (backend.id !== id) throw new Error(`create() returned a backend with id '${backend.id}'`);
      backends.set(id, backend);
    } catch (err) {
      problems.push({ path: `backends.${id}`, message: `backend '${id}' from ${origin} failed to start: ${(err as Error).message}` });
    }
  }
  if (problems.length > 0) {
    await Promise.allSettled([...backends.values()].map((b) => b.close?.()));
    throw new ConfigError(problems, 'Cannot start backends');
  }
  return new LoadedBackendRegistry(config.backend, config.allowed_backends, backends);
}

function deepFreeze<T>(value: T): Readonly<Record<string, unknown>> {
  if (value && typeof value === 'object') for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value) as Readonly<Record<string, unknown>>;
}

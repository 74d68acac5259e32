/**
 * Imports the backend packages the config names (`backend` + `allowed_backends`) and checks them
 * before anything runs: brand, API version, marker id == definition id, one package per id.
 * Every problem is collected and reported with the package's name and path.
 */
import { pathToFileURL } from 'node:url';
import { BACKEND_API_VERSION, type BackendDefinition } from '../backend/contract.js';
import { isBackendDefinition } from '../backend/defineBackend.js';
import { ConfigError, type ConfigProblem } from '../config/errors.js';
import type { DiscoveredPlugin, Discovery } from './discover.js';

export interface LoadedDefinition {
  definition: BackendDefinition;
  /** Where it came from: a package path, or 'registered programmatically'. */
  origin: string;
  plugin?: DiscoveredPlugin;
}

export interface LoadDefinitionsOptions {
  /** Ids to load. */
  ids: readonly string[];
  discovery: Discovery;
  /** Definitions registered in code (tests, built-ins); they win over packages with the same id. */
  registered?: readonly BackendDefinition[];
  /** Import hook (tests); defaults to dynamic import(). */
  importModule?: (url: string) => Promise<unknown>;
}

const describePlugin = (p: DiscoveredPlugin) => `${p.packageName}@${p.packageVersion} (${p.dir})`;

function pickDefinition(mod: unknown): unknown {
  const m = mod as Record<string, unknown> | undefined;
  const candidates = [m?.['default'], (m?.['default'] as Record<string, unknown> | undefined)?.['default'], m?.['backend']];
  return candidates.find(isBackendDefinition) ?? m?.['default'];
}

export async function loadDefinitions(opts: LoadDefinitionsOptions): Promise<Map<string, LoadedDefinition>> {
  const problems: ConfigProblem[] = [];
  const loaded = new Map<string, LoadedDefinition>();
  const importModule = opts.importModule ?? ((url: string) => import(url));

  for (const id of [...new Set(opts.ids)]) {
    const registered = opts.registered?.find((d) => d.id === id);
    if (registered) {
      if (!isBackendDefinition(registered) || registered.apiVersion !== BACKEND_API_VERSION) {
        problems.push({ path: `backend ${id}`, message: `the registered definition is not a backend of API version ${BACKEND_API_VERSION} (use defineBackend())` });
      } else {
        loaded.set(id, { definition: registered, origin: 'registered programmatically' });
      }
      continue;
    }
    const candidates = opts.discovery.plugins.filter((p) => p.id === id);
    if (candidates.length === 0) {
      const found = [...new Set([...opts.discovery.plugins.map((p) => p.id), ...(opts.registered ?? []).map((d) => d.id)])].sort();
      problems.push({
        path: `backend ${id}`,
        message: `no backend package with id '${id}' is installed (found: ${found.length ? found.join(', ') : 'none'}; searched ${opts.discovery.searched.length} directories; add a directory with plugins.paths or HYBRIDCLOUD_PLUGIN_PATHS)`,
      });
      continue;
    }
    if (candidates.length > 1) {
      problems.push({ path: `backend ${id}`, message: `more than one package declares id '${id}': ${candidates.map(describePlugin).join(' and ')}` });
      continue;
    }
    const plugin = candidates[0]!;
    const where = describePlugin(plugin);
    if (plugin.apiVersion !== BACKEND_API_VERSION) {
      problems.push({ path: `backend ${id}`, message: `${where} declares apiVersion ${plugin.apiVersion}, this operator supports ${BACKEND_API_VERSION}` });
      continue;
    }
    let mod: unknown;
    try {
      mod = await importModule(pathToFileURL(plugin.entry).href);
    } catch (err) {
      const message = (err as Error).message;
      // The usual first stumble of a plugin developed outside this repository: core is a peer
      // dependency that nothing installed next to the plugin.
      const hint = /Cannot find package '@hybridcloud-postgresql\/core'/.test(message)
        ? ' — the plugin resolves @hybridcloud-postgresql/core from its own node_modules: install it there (`npm install @hybridcloud-postgresql/core@<version>`, or `npm install <path to a core checkout>/packages/core` while developing), or install the plugin into the operator\'s plugins directory, where core is provided'
        : '';
      problems.push({ path: `backend ${id}`, message: `${where} cannot be imported from ${plugin.entry}: ${message}${hint}` });
      continue;
    }
    const def = pickDefinition(mod);
    if (!isBackendDefinition(def)) {
      problems.push({ path: `backend ${id}`, message: `${where} does not default-export a backend made with defineBackend() from @hybridcloud-postgresql/core` });
      continue;
    }
    if (def.apiVersion !== BACKEND_API_VERSION) {
      problems.push({ path: `backend ${id}`, message: `${where} exports a backend of apiVersion ${def.apiVersion}, this operator supports ${BACKEND_API_VERSION}` });
      continue;
    }
    if (def.id !== id) {
      problems.push({ path: `backend ${id}`, message: `${where} is marked as '${id}' in package.json but its definition says '${def.id}'` });
      continue;
    }
    loaded.set(id, { definition: def, origin: plugin.dir, plugin });
  }
  if (problems.length > 0) throw new ConfigError(problems, 'Cannot load backend plugins');
  return loaded;
}

/**
 * Finds and parses the config file: `OPERATOR_CONFIG` (as the original, the helm chart sets it)
 * or an explicit path first, then `./config.yaml`, then cosmiconfig's usual places for the module
 * name `hybridcloud`. Only data formats (YAML/JSON) are read — a config file never runs code.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { cosmiconfig, type Loader } from 'cosmiconfig';
import { parseDocument } from 'yaml';
import { ConfigError } from './errors.js';

export const SEARCH_PLACES = [
  'config.yaml',
  'config.yml',
  '.hybridcloudrc',
  '.hybridcloudrc.yaml',
  '.hybridcloudrc.yml',
  '.hybridcloudrc.json',
  '.config/hybridcloudrc',
  '.config/hybridcloudrc.yaml',
  '.config/hybridcloudrc.yml',
  '.config/hybridcloudrc.json',
  'hybridcloud.config.yaml',
  'hybridcloud.config.yml',
  'hybridcloud.config.json',
];

/** YAML 1.2 via `yaml` (JSON is YAML); duplicate keys and syntax errors name file and line. */
const yamlLoader: Loader = (filepath, content) => {
  // `<<` merge keys let admins share blocks between backend sections with anchors.
  const doc = parseDocument(content, { prettyErrors: true, uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: filepath, message: e.message.split('\n')[0] ?? e.message })),
      `Cannot parse ${filepath}`,
    );
  }
  return doc.toJS() as unknown;
};

export interface ReadConfigOptions {
  /** Explicit path (--config); wins over OPERATOR_CONFIG. */
  path?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ConfigSource {
  /** The file read. */
  filepath: string;
  /** Parsed content; `{}` for an empty file. */
  document: unknown;
}

export async function readConfigFile(opts: ReadConfigOptions = {}): Promise<ConfigSource> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const explorer = cosmiconfig('hybridcloud', {
    searchPlaces: SEARCH_PLACES,
    loaders: { '.yaml': yamlLoader, '.yml': yamlLoader, '.json': yamlLoader, noExt: yamlLoader },
    searchStrategy: 'none',
    cache: false,
  });
  const explicit = opts.path ?? env['OPERATOR_CONFIG'] ?? env['HYBRIDCLOUD_CONFIG'];
  const origin = opts.path ? '--config' : env['OPERATOR_CONFIG'] ? 'OPERATOR_CONFIG' : 'HYBRIDCLOUD_CONFIG';
  if (explicit) {
    const file = resolve(cwd, explicit);
    if (!existsSync(file)) throw new ConfigError([{ path: origin, message: `config file ${file} does not exist` }], 'Cannot read the operator configuration');
    const result = await load(() => explorer.load(file), file);
    return { filepath: file, document: result?.isEmpty ? {} : (result?.config ?? {}) };
  }
  const found = await load(() => explorer.search(cwd), cwd);
  if (!found) {
    throw new ConfigError(
      [{ path: '(file)', message: `no configuration file found: set OPERATOR_CONFIG or --config, or create one of ${SEARCH_PLACES.join(', ')} in ${cwd}` }],
      'Cannot read the operator configuration',
    );
  }
  return { filepath: found.filepath, document: found.isEmpty ? {} : found.config };
}

async function load<T>(fn: () => Promise<T>, where: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([{ path: where, message: (err as Error).message }], 'Cannot read the operator configuration');
  }
}

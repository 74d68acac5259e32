import { readConfigFile, type ReadConfigOptions } from './read.js';
import { resolveConfig, type LoadedConfig, type ResolveConfigOptions } from './resolve.js';

export type LoadConfigOptions = ReadConfigOptions & Omit<ResolveConfigOptions, 'filepath'>;

/**
 * Reads and validates the operator configuration. Without `backendSchemas` this is the first
 * pass (top level only); pass the loaded backends' schemas for the full validation.
 * Throws ConfigError listing every bad key by its dotted path.
 */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const source = await readConfigFile(opts);
  return resolveConfig(source.document, { ...opts, filepath: source.filepath });
}

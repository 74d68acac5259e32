export { ConfigError, isConfigError, type ConfigProblem } from './errors.js';
export * from './schema.js';
export { loadConfig, type LoadConfigOptions } from './load.js';
export { readConfigFile, SEARCH_PLACES, type ConfigSource, type ReadConfigOptions } from './read.js';
export { resolveConfig, type BackendConfigSpec, type CliOverride, type LoadedConfig, type ResolveConfigOptions } from './resolve.js';
export { coerceEnvValue, ENV_PREFIX, type EnvOverride } from './envOverrides.js';
export { redactSecrets, renderEffectiveConfig, REDACTED } from './render.js';

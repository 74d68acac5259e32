export { defaultSearchRoots, discoverPlugins, MARKER_FIELD, packageEntry, type DiscoveredPlugin, type Discovery, type SearchRootOptions } from './discover.js';
export { loadDefinitions, type LoadDefinitionsOptions, type LoadedDefinition } from './loadDefinitions.js';
export { LoadedBackendRegistry } from './registry.js';
export { createBackends, prepare, type CreateBackendsOptions, type Prepared, type PrepareOptions } from './bootstrap.js';

export * from './helmCli.js';
export * from './releases.js';
export * from './kube.js';
export * from './adminSql.js';
export * from './chartProfile.js';
export * from './helmServerBackend.js';
export * from './stableJson.js';
export * from './config.js';

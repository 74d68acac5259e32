// Code shared by the awsrds and awsaurora backends.
export * from './client.js';
export * from './config.js';
export * from './errors.js';
export * from './maintenance.js';
export * from './naming.js';
export * from './requestBudget.js';
export * from './sizing.js';
export * from './tags.js';
export * from './versions.js';

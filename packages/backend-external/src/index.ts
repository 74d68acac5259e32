/**
 * Backend `external`: an existing PostgreSQL server the admin registers; teams get isolated
 * logins and databases on it. Useful on-premise, and it lets the whole product run locally.
 */
import { defineBackend, SqlAdmin } from '@hybridcloud-postgresql/core';
import { AdminPasswordSource } from './adminPassword.js';
import { ExternalConfigSchema, type ExternalConfig } from './config.js';
import { ExternalBackend } from './externalBackend.js';

export { ExternalConfigSchema, type ExternalConfig } from './config.js';
export { ExternalBackend } from './externalBackend.js';
export { serverRoleName, databaseNames, fitIdentifier } from './names.js';

export default defineBackend<ExternalConfig>({
  id: 'external',
  displayName: 'Existing (external) PostgreSQL server',
  configSchema: ExternalConfigSchema,
  create(ctx) {
    const password = new AdminPasswordSource(ctx.config, () => ctx.kubeConfig, ctx.operatorNamespace);
    password.checkConfigured();
    // Own pools: the backend's admin connection is separate from core's per-server pools.
    return new ExternalBackend(ctx.config, new SqlAdmin(), password, ctx.log);
  },
});

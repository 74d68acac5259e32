/**
 * Backend `azurepostgresflexible`: Azure Database for PostgreSQL flexible server, one server per
 * PostgreSQLServer. Databases are created through ARM (charset, collation); roles, grants and
 * extensions inside them by core's SQL module.
 */
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { defineBackend } from '@hybridcloud-postgresql/core';
import { Locks, armClientOptions, defaultCredential, type TokenCredential } from '@hybridcloud-postgresql/azure-common';
import { FlexibleConfigSchema, type FlexibleConfig } from './config.js';
import { FlexibleBackend } from './flexibleBackend.js';

export { FlexibleConfigSchema, dnsZone, type FlexibleConfig } from './config.js';
export { FlexibleBackend, DOCUMENTED_VERSIONS, FLEXIBLE_TYPE } from './flexibleBackend.js';
export * from './desired.js';

/** Builds the backend with explicit credentials (tests use a static token against the ARM fake). */
export function createFlexibleBackend(cfg: FlexibleConfig, credential: TokenCredential = defaultCredential(), opts: { pollIntervalMs?: number } = {}): FlexibleBackend {
  const options = armClientOptions(cfg);
  const client = new PostgreSQLManagementFlexibleServerClient(credential, cfg.subscription_id, options);
  return new FlexibleBackend(cfg, { client, locks: new Locks(credential, cfg.subscription_id, options), ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}) });
}

export default defineBackend<FlexibleConfig>({
  id: 'azurepostgresflexible',
  displayName: 'Azure Database for PostgreSQL flexible server',
  configSchema: FlexibleConfigSchema,
  configParent: 'azure',
  create(ctx) {
    const cfg = ctx.config;
    if (cfg.default_class !== undefined && !cfg.classes[cfg.default_class]) {
      throw new Error(`backends.azurepostgresflexible.default_class '${cfg.default_class}' names no class (classes: ${Object.keys(cfg.classes).join(', ') || 'none'})`);
    }
    return createFlexibleBackend(cfg);
  },
});

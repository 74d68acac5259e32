/**
 * Backend `azurepostgres`: Azure Database for PostgreSQL single server. LEGACY — Azure retired
 * single server on 2025-03-28; creating a server posts a Warning Event. Prefer azurepostgresflexible.
 */
import { PostgreSQLManagementClient } from '@azure/arm-postgresql';
import { NetworkManagementClient } from '@azure/arm-network';
import { PrivateDnsManagementClient } from '@azure/arm-privatedns';
import { defineBackend } from '@hybridcloud-postgresql/core';
import { Locks, armClientOptions, defaultCredential, type TokenCredential } from '@hybridcloud-postgresql/azure-common';
import { SingleConfigSchema, type SingleConfig } from './config.js';
import { SingleBackend } from './singleBackend.js';

export { SingleConfigSchema, type SingleConfig } from './config.js';
export { SingleBackend, SINGLE_TYPE, RETIREMENT_NOTICE } from './singleBackend.js';
export * from './desired.js';

export function createSingleBackend(cfg: SingleConfig, credential: TokenCredential = defaultCredential(), opts: { pollIntervalMs?: number } = {}): SingleBackend {
  const options = armClientOptions(cfg);
  return new SingleBackend(cfg, {
    client: new PostgreSQLManagementClient(credential, cfg.subscription_id, options),
    network: new NetworkManagementClient(credential, cfg.subscription_id, options),
    privateDns: new PrivateDnsManagementClient(credential, cfg.subscription_id, options),
    locks: new Locks(credential, cfg.subscription_id, options),
    ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
  });
}

export default defineBackend<SingleConfig>({
  id: 'azurepostgres',
  displayName: 'Azure Database for PostgreSQL single server (legacy, retired by Azure 2025-03-28)',
  configSchema: SingleConfigSchema,
  configParent: 'azure',
  create(ctx) {
    const cfg = ctx.config;
    if (cfg.default_class !== undefined && !cfg.classes[cfg.default_class]) {
      throw new Error(`backends.azurepostgres.default_class '${cfg.default_class}' names no class (classes: ${Object.keys(cfg.classes).join(', ') || 'none'})`);
    }
    ctx.log.warn('backend azurepostgres: Azure retired single server on 2025-03-28; this backend is legacy');
    return createSingleBackend(cfg);
  },
});

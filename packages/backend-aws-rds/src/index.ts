/**
 * Backend `awsrds`: AWS RDS for PostgreSQL, one DB instance per PostgreSQLServer.
 * Databases and users are created by core's SQL module over the instance endpoint.
 */
import { defineBackend } from '@hybridcloud-postgresql/core';
import { EngineVersionCatalog, createRdsClient } from '@hybridcloud-postgresql/aws-common';
import { RdsConfigSchema, effectiveClasses, type RdsConfig } from './config.js';
import { RdsBackend } from './rdsBackend.js';

export { RdsConfigSchema, type RdsConfig } from './config.js';
export { RdsBackend } from './rdsBackend.js';

export default defineBackend<RdsConfig>({
  id: 'awsrds',
  displayName: 'AWS RDS for PostgreSQL',
  configSchema: RdsConfigSchema,
  configParent: 'aws',
  create(ctx) {
    // Fail fast on a default_class that names no class.
    effectiveClasses(ctx.config);
    const { client } = createRdsClient({
      region: ctx.config.region,
      endpoint: ctx.config.endpoint,
      requestsPerSecond: ctx.config.requests_per_second,
      maxAttempts: ctx.config.max_attempts,
    });
    return new RdsBackend(ctx.config, client, new EngineVersionCatalog(client));
  },
});

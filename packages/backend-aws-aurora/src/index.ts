/**
 * Backend `awsaurora`: an Aurora PostgreSQL cluster with a single writer instance per
 * PostgreSQLServer (provisioned or Serverless v2). Databases and users are created by core's SQL
 * module over the cluster endpoint.
 */
import { defineBackend } from '@hybridcloud-postgresql/core';
import { EngineVersionCatalog, createRdsClient } from '@hybridcloud-postgresql/aws-common';
import { AuroraConfigSchema, effectiveClasses, type AuroraConfig } from './config.js';
import { AuroraBackend } from './auroraBackend.js';

export { AuroraConfigSchema, type AuroraConfig } from './config.js';
export { AuroraBackend } from './auroraBackend.js';

export default defineBackend<AuroraConfig>({
  id: 'awsaurora',
  displayName: 'AWS Aurora PostgreSQL',
  configSchema: AuroraConfigSchema,
  configParent: 'aws',
  create(ctx) {
    effectiveClasses(ctx.config);
    // ctx.config.region is the merged value: backends.awsaurora.region wins over backends.aws.region
    // (the Python operator read awsrds/aws for both backends).
    const { client } = createRdsClient({
      region: ctx.config.region,
      endpoint: ctx.config.endpoint,
      requestsPerSecond: ctx.config.requests_per_second,
      maxAttempts: ctx.config.max_attempts,
    });
    return new AuroraBackend(ctx.config, client, new EngineVersionCatalog(client));
  },
});

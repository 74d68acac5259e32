/**
 * Backend `helmyugabyte`: a YugabyteDB helm release per PostgreSQLServer, YSQL on port 5433.
 * Databases and users are core's SQL in the 'yugabyte' dialect (YSQL lacks some PostgreSQL options).
 */
import { defineBackend, type Capabilities, type ConnectionResolver } from '@hybridcloud-postgresql/core';
import { HelmServerBackend, helmBinary } from '@hybridcloud-postgresql/helm-common';
import { YugabyteConfigSchema, type YugabyteConfig } from './config.js';
import { YugabyteProfile } from './profile.js';

export { YugabyteConfigSchema, type YugabyteConfig } from './config.js';
export { YugabyteProfile, YSQL_PASSWORD_KEY, YSQL_PORT } from './profile.js';

export const capabilities: Capabilities = {
  sizeByCpuMemory: true,
  storageAutoGrow: false,
  backupRetention: false,
  geoRedundantBackup: false,
  serverExtensions: false,
  firewallRules: false,
  serverParameters: false,
  maintenanceWindow: false,
  // replicas_master/replicas_tserver (config) give a replicated cluster; the spec flag is not used.
  highAvailability: false,
};

export default defineBackend<YugabyteConfig>({
  id: 'helmyugabyte',
  displayName: 'YugabyteDB helm chart (in-cluster, YSQL)',
  configSchema: YugabyteConfigSchema,
  create(ctx) {
    const connectionResolver: ConnectionResolver | undefined = ctx.connectionResolver;
    const backend = new HelmServerBackend({
      profile: new YugabyteProfile(ctx.config),
      capabilities,
      kubeConfig: ctx.kubeConfig,
      helmBinary: helmBinary(ctx.config),
      log: ctx.log,
      ...(connectionResolver ? { connectionResolver } : {}),
    });
    return Object.assign(backend, { database: { dialect: 'yugabyte' as const } });
  },
});

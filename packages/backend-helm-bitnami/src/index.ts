/**
 * Backend `helmbitnami`: a bitnami/postgresql helm release per PostgreSQLServer, in the server's
 * namespace. Databases and users are core's default SQL over the admin connection.
 */
import { defineBackend, type Capabilities, type ConnectionResolver } from '@hybridcloud-postgresql/core';
import { HelmServerBackend, helmBinary } from '@hybridcloud-postgresql/helm-common';
import { BitnamiConfigSchema, type BitnamiConfig } from './config.js';
import { BitnamiProfile } from './profile.js';

export { BitnamiConfigSchema, type BitnamiConfig } from './config.js';
export { BitnamiProfile, ADMIN_PASSWORD_KEY } from './profile.js';

export const capabilities: Capabilities = {
  sizeByCpuMemory: true,
  storageAutoGrow: false,
  backupRetention: false,
  geoRedundantBackup: false,
  serverExtensions: false,
  firewallRules: false,
  serverParameters: false,
  maintenanceWindow: false,
  highAvailability: false,
};

export default defineBackend<BitnamiConfig>({
  id: 'helmbitnami',
  displayName: 'Bitnami PostgreSQL helm chart (in-cluster)',
  configSchema: BitnamiConfigSchema,
  create(ctx) {
    // Core may hand in the resolver it uses for SQL (tests, local development); production: identity.
    const connectionResolver: ConnectionResolver | undefined = ctx.connectionResolver;
    return new HelmServerBackend({
      profile: new BitnamiProfile(ctx.config),
      capabilities,
      kubeConfig: ctx.kubeConfig,
      helmBinary: helmBinary(ctx.config),
      log: ctx.log,
      ...(connectionResolver ? { connectionResolver } : {}),
    });
  },
});

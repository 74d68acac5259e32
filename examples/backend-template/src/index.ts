/**
 * The package's default export is what the operator loads: the result of defineBackend(), with
 * the same id as `hybridcloudPostgresqlBackend.id` in package.json.
 */
import { defineBackend, SqlAdmin } from '@hybridcloud-postgresql/core';
import { TeamDbConfigSchema, type TeamDbConfig } from './config.js';
import { TeamDbBackend } from './teamBackend.js';

export { TeamDbConfigSchema, type TeamDbConfig } from './config.js';
export { TeamDbBackend } from './teamBackend.js';

export default defineBackend<TeamDbConfig>({
  id: 'teamdb',
  displayName: 'A database per team on a named PostgreSQL server',
  configSchema: TeamDbConfigSchema,
  create(ctx) {
    const variable = ctx.config.admin_password_env;
    // Fail at startup (a config error naming the key), not at the first reconcile.
    if (!process.env[variable]) throw new Error(`backends.teamdb.admin_password_env: environment variable ${variable} is not set`);
    return new TeamDbBackend(ctx.config, new SqlAdmin(), () => process.env[variable] ?? '');
  },
});

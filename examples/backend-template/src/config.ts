/**
 * The config section `backends.teamdb` of the operator config file. Core validates it against
 * this schema (defaults filled in, unknown keys refused by name) before create() is called.
 */
import { Type, type Static } from '@sinclair/typebox';

export const TeamDbConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'The PostgreSQL server teams get their databases on.' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 5432 }),
    sslmode: Type.Union([Type.Literal('disable'), Type.Literal('prefer'), Type.Literal('require'), Type.Literal('verify-full')], { default: 'prefer' }),
    admin_username: Type.String({ minLength: 1, default: 'postgres', description: 'A superuser, or a role with CREATEDB and CREATEROLE.' }),
    admin_password_env: Type.String({ minLength: 1, description: 'Name of the environment variable that holds the admin password.' }),
    team_prefix: Type.String({ default: 'team_', maxLength: 16, pattern: '^[a-z_]*$', description: 'Prefix of every role this backend creates.' }),
  },
  { additionalProperties: false },
);
export type TeamDbConfig = Static<typeof TeamDbConfigSchema>;

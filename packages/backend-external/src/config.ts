import { Type, type Static } from '@sinclair/typebox';

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/** backends.external: an existing PostgreSQL server the operator administers. */
export const ExternalConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'Host name clients and the operator use to reach the server.' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 5432, description: 'Port of the server.' }),
    sslmode: Type.Union(SSL_MODES.map((m) => Type.Literal(m)), { default: 'prefer', description: 'libpq sslmode written into the credentials Secrets and used by the operator.' }),
    admin_username: Type.String({ minLength: 1, default: 'postgres', description: 'Operator login: a superuser, or a role with CREATEDB and CREATEROLE.' }),
    admin_password: Type.Optional(Type.String({ minLength: 1, description: 'Admin password inline (prefer admin_password_env or admin_password_secret).' })),
    admin_password_env: Type.Optional(Type.String({ minLength: 1, description: 'Name of an environment variable holding the admin password.' })),
    admin_password_secret: Type.Optional(
      Type.Object(
        {
          namespace: Type.Optional(Type.String({ minLength: 1, description: 'Namespace of the Secret; default: the operator namespace.' })),
          name: Type.String({ minLength: 1 }),
          key: Type.String({ minLength: 1, default: 'password' }),
        },
        { additionalProperties: false, description: 'A Secret holding the admin password.' },
      ),
    ),
    database: Type.String({ minLength: 1, default: 'postgres', description: 'Database the operator connects to for administration.' }),
    role_prefix: Type.String({ default: '', maxLength: 20, description: 'Prefix for every role and database the operator creates on this server. May stay empty: roles and databases the operator did not create are never taken over (NameTaken).' }),
    server_delete_fake: Type.Boolean({ default: false, description: 'Keep the server role when a PostgreSQLServer is deleted.' }),
    database_delete_fake: Type.Boolean({ default: false, description: 'Keep database and role when a PostgreSQLDatabase is deleted.' }),
  },
  { additionalProperties: false },
);

export type ExternalConfig = Static<typeof ExternalConfigSchema>;

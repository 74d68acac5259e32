/**
 * The ARM fake's servers cannot be connected to. For tests that run SQL, one real local
 * PostgreSQL stands in for every server: it speaks TLS (Azure requires it, clients use
 * sslmode=require); the admin login is created with the password that reached "Azure" (create)
 * and changed when a PATCH sends a new one; databases created or deleted through ARM appear or
 * disappear there, created by the admin login as Azure does. Core reaches it through its
 * ConnectionResolver, so the operator's code path stays the production one.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionResolver } from '@hybridcloud-postgresql/core';
import type { ArmFake } from '@hybridcloud-postgresql/azure-fake';

export interface StandInPostgres {
  host: string;
  port: number;
  psql(sql: string, opts?: { user?: string; password?: string; database?: string }): Promise<{ stdout: string }>;
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

export async function enableTls(pg: StandInPostgres): Promise<void> {
  const dataDir = (await pg.psql('SHOW data_directory')).stdout.trim();
  const crt = join(dataDir, 'server.crt');
  const key = join(dataDir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt, '-days', '2', '-subj', '/CN=azure-stand-in'], { stdio: 'ignore' });
  const { uid, gid } = statSync(dataDir);
  for (const f of [crt, key]) {
    chownSync(f, uid, gid);
    chmodSync(f, 0o600);
  }
  await pg.psql('ALTER SYSTEM SET ssl = on; SELECT pg_reload_conf();');
}

/** Wires the fake's hooks to the stand-in; returns the resolver core uses to reach "Azure" servers. */
export function azureStandIn(fake: ArmFake, pg: StandInPostgres, opts: { adminRole?: (server: string, login: string) => string } = {}): ConnectionResolver {
  const admins = new Map<string, { login: string; password: string }>();
  fake.hooks = {
    async adminPasswordSet(server, login, password) {
      // Single server logins look like admin@server; the role itself is 'admin'. With `adminRole`
      // each server gets an admin role of its own (a gateway maps the login to it), so servers
      // sharing one admin_username do not change each other's password in the one stand-in.
      const role = opts.adminRole ? opts.adminRole(server.name, login) : login.split('@')[0]!;
      admins.set(server.name, { login: role, password });
      await pg.psql(`DO $$ BEGIN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = ${literal(role)}) THEN
          ALTER ROLE ${ident(role)} WITH LOGIN CREATEDB CREATEROLE PASSWORD ${literal(password)};
        ELSE
          CREATE ROLE ${ident(role)} WITH LOGIN CREATEDB CREATEROLE PASSWORD ${literal(password)};
        END IF;
      END $$;`);
    },
    async databaseCreated(server, database, charset, collation) {
      const admin = admins.get(server.name);
      if (!admin) throw new Error(`no admin known for ${server.name}`);
      const create = (locale: string) =>
        pg.psql(`CREATE DATABASE ${ident(database)} TEMPLATE template0 ENCODING ${literal(charset)} LC_COLLATE ${literal(locale)} LC_CTYPE ${literal(locale)}`, { user: admin.login, password: admin.password, database: 'postgres' });
      // Azure's default collations (en_US.utf8, single server's English_United States.1252) may not
      // exist where the stand-in runs: C stands in for a locale the stand-in lacks.
      await create(collation).catch((err: Error) => (/invalid locale name/.test(err.message) ? create('C') : Promise.reject(err)));
    },
    async databaseDeleted(_server, database) {
      await pg.psql(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`);
    },
  };
  return {
    resolve: async (_server, endpoint) => (endpoint.host.endsWith('.postgres.database.azure.com') ? { host: pg.host, port: pg.port } : { host: endpoint.host, port: endpoint.port }),
  };
}

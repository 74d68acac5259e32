/**
 * moto's RDS endpoints cannot be connected to. For tests that run SQL, a real local PostgreSQL
 * stands in for every RDS instance and Aurora cluster: it speaks TLS (RDS requires it, clients
 * use sslmode=require), the master user is created with the MasterUserPassword that reached
 * "AWS" and changed when ModifyDB* sends a new one, as RDS does. Core reaches it through its
 * ConnectionResolver, so the operator's code path stays the production one.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionResolver } from '@hybridcloud-postgresql/core';
import type { RdsProxy } from './rdsProxy.js';

export interface StandInPostgres {
  host: string;
  port: number;
  psql(sql: string, opts?: { user?: string; password?: string; database?: string }): Promise<{ stdout: string }>;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Turns TLS on with a self-signed certificate in the data directory. */
export async function enableTls(pg: StandInPostgres): Promise<void> {
  const dataDir = (await pg.psql('SHOW data_directory')).stdout.trim();
  const crt = join(dataDir, 'server.crt');
  const key = join(dataDir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '2', '-subj', '/CN=rds-stand-in'], { stdio: 'ignore' });
  const { uid, gid } = statSync(dataDir);
  for (const f of [crt, key]) {
    chownSync(f, uid, gid);
    chmodSync(f, 0o600);
  }
  await pg.psql("ALTER SYSTEM SET ssl = on; SELECT pg_reload_conf();");
}

/**
 * Plays RDS's master user on the stand-in: CreateDBInstance / CreateDBCluster create it,
 * ModifyDBInstance / ModifyDBCluster with MasterUserPassword change its password. Like RDS's
 * master user it may create databases and roles but is not a superuser.
 */
export function playMasterUser(proxy: RdsProxy, pg: StandInPostgres): void {
  const masterUsers = new Map<string, string>(); // instance or cluster identifier → master user
  proxy.onAccepted = async (action, params) => {
    const id = params.get('DBInstanceIdentifier') ?? params.get('DBClusterIdentifier') ?? '';
    const user = params.get('MasterUsername');
    const password = params.get('MasterUserPassword');
    if ((action === 'CreateDBInstance' || action === 'CreateDBCluster') && user && password !== null) {
      masterUsers.set(id, user);
      await pg.psql(`DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(user)}) THEN
    CREATE ROLE ${quoteIdent(user)} LOGIN CREATEDB CREATEROLE;
  END IF;
END $$;
ALTER ROLE ${quoteIdent(user)} PASSWORD ${quoteLiteral(password)};`);
    }
    if ((action === 'ModifyDBInstance' || action === 'ModifyDBCluster') && password !== null) {
      const master = masterUsers.get(id);
      if (master) await pg.psql(`ALTER ROLE ${quoteIdent(master)} PASSWORD ${quoteLiteral(password)};`);
    }
  };
}

/** Every *.rds.amazonaws.com endpoint → the stand-in. */
export function standInResolver(pg: { host: string; port: number }): ConnectionResolver {
  return {
    resolve: async (_server, endpoint) => (endpoint.host.endsWith('.rds.amazonaws.com') ? { host: pg.host, port: pg.port } : { host: endpoint.host, port: endpoint.port }),
  };
}

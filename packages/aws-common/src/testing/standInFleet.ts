/**
 * One stand-in PostgreSQL per RDS instance / Aurora cluster, as in AWS, where every instance is a
 * server of its own. A single shared stand-in cannot play several servers: they all have the
 * master user of the config, so creating (or resetting the password of) one server would change
 * the master password of every other one. The fleet starts a TLS PostgreSQL when
 * CreateDBInstance / CreateDBCluster reaches moto, creates the master user in it (not a
 * superuser, as on RDS), changes its password on ModifyDB* with MasterUserPassword, and stops it
 * once DeleteDBInstance / DeleteDBCluster was accepted. Its resolver maps an endpoint host
 * (`<identifier>.….rds.amazonaws.com`) to the stand-in of that identifier.
 */
import type { ConnectionResolver } from '@hybridcloud-postgresql/core';
import { enableTls, type StandInPostgres } from './postgresStandIn.js';
import type { RdsProxy } from './rdsProxy.js';

export interface FleetPostgres extends StandInPostgres {
  stop(): Promise<void>;
}

export interface StandInFleet {
  resolver: ConnectionResolver;
  /** The stand-in of an instance / cluster identifier (undefined before its create call). */
  get(identifier: string): Promise<FleetPostgres | undefined>;
  close(): Promise<void>;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function standInFleet(proxy: RdsProxy, start: () => Promise<FleetPostgres>): StandInFleet {
  const servers = new Map<string, Promise<FleetPostgres>>();
  const masters = new Map<string, string>();
  const stopping: Promise<void>[] = [];
  const setPassword = async (id: string, password: string) => {
    const pg = await servers.get(id);
    const user = masters.get(id);
    if (pg && user) await pg.psql(`ALTER ROLE ${quoteIdent(user)} PASSWORD ${quoteLiteral(password)};`);
  };
  proxy.onAccepted = async (action, params) => {
    const id = params.get('DBInstanceIdentifier') ?? params.get('DBClusterIdentifier') ?? '';
    const user = params.get('MasterUsername');
    const password = params.get('MasterUserPassword');
    if ((action === 'CreateDBInstance' || action === 'CreateDBCluster') && user && password !== null) {
      if (!servers.has(id)) {
        servers.set(id, (async () => {
          const pg = await start();
          await enableTls(pg);
          return pg;
        })());
      }
      const pg = await servers.get(id)!;
      masters.set(id, user);
      await pg.psql(`DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(user)}) THEN
    CREATE ROLE ${quoteIdent(user)} LOGIN CREATEDB CREATEROLE;
  END IF;
END $$;`);
      await setPassword(id, password);
    }
    if ((action === 'ModifyDBInstance' || action === 'ModifyDBCluster') && password !== null) await setPassword(id, password);
    // An Aurora writer (DeleteDBInstance with no stand-in of its own) leaves the cluster's alone.
    if ((action === 'DeleteDBInstance' || action === 'DeleteDBCluster') && servers.has(id)) {
      const pg = servers.get(id)!;
      servers.delete(id);
      masters.delete(id);
      stopping.push(pg.then((p) => p.stop()).catch(() => undefined));
    }
  };
  return {
    resolver: {
      resolve: async (_server, endpoint) => {
        if (!endpoint.host.endsWith('.rds.amazonaws.com')) return { host: endpoint.host, port: endpoint.port };
        const pg = await servers.get(endpoint.host.split('.')[0]!);
        // No stand-in (deleted, never created): unreachable, as the endpoint of a gone instance.
        return pg ? { host: pg.host, port: pg.port } : { host: '127.0.0.1', port: 9 };
      },
    },
    get: async (id) => servers.get(id),
    close: async () => {
      const all = [...servers.values()];
      servers.clear();
      await Promise.all([...stopping, ...all.map((p) => p.then((s) => s.stop()).catch(() => undefined))]);
    },
  };
}

/**
 * A PostgreSQLServer is a team: a login role on the admin's PostgreSQL server (written into the
 * server's credentials Secret). Its PostgreSQLDatabases become databases owned by roles of their
 * own, created by core's SQL module through the admin login (the team role has no CREATEROLE, so
 * `adminConnection` hands core the admin). Names carry the namespace: teams never collide.
 */
import { createHash } from 'node:crypto';
import {
  judgeRole, terminal,
  type AdminConnection, type Backend, type Capabilities, type Claim, type DatabaseHooks, type Endpoint, type Op, type Problem,
  type Progress, type ServerObservation, type ServerRequest, type SqlAdmin,
} from '@hybridcloud-postgresql/core';
import type { TeamDbConfig } from './config.js';

/** Spec fields this backend honours: none (core reports the others in status.unsupportedFields). */
const CAPABILITIES: Capabilities = {
  sizeByCpuMemory: false, storageAutoGrow: false, backupRetention: false, geoRedundantBackup: false, serverExtensions: false,
  firewallRules: false, serverParameters: false, maintenanceWindow: false, highAvailability: false,
};

/** PostgreSQL cuts names at 63 bytes: long ones keep a head and a hash, so two CRs never share one. */
function fit(name: string): string {
  if (Buffer.byteLength(name) <= 63) return name;
  return `${name.slice(0, 52)}_${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;
}

export class TeamDbBackend implements Backend {
  readonly id = 'teamdb';
  readonly capabilities = CAPABILITIES;
  readonly database: DatabaseHooks;

  constructor(private readonly config: TeamDbConfig, private readonly sql: SqlAdmin, private readonly password: () => string) {
    this.database = {
      names: (_server, db) => {
        const n = fit(`${config.team_prefix}${db.namespace}_${db.name}`.replace(/-/g, '_'));
        return { databaseName: n, userName: n };
      },
      adminConnection: async () => this.admin(),
      // The team login may act as owner of its own databases, nothing else.
      databaseProvisioned: (_op, server, db, admin) => this.sql.grantMembership(admin, db.userName, this.role(server)),
    };
  }

  private role(s: { namespace: string; name: string }): string {
    return fit(`${this.config.team_prefix}${s.namespace}.${s.name}`);
  }

  private claim(s: ServerRequest): Claim {
    return { kind: 'PostgreSQLServer', namespace: s.namespace, name: s.name, uid: s.uid, adopt: s.adopt === true };
  }

  private endpoint(s: ServerRequest): Endpoint {
    return { host: this.config.host, port: this.config.port, sslmode: this.config.sslmode, adminUsername: this.role(s), adminDatabase: 'postgres' };
  }

  private admin(): AdminConnection {
    const c = this.config;
    return { host: c.host, port: c.port, user: c.admin_username, password: this.password(), database: 'postgres', ssl: c.sslmode !== 'disable' && c.sslmode !== 'prefer', sslmode: c.sslmode };
  }

  validateServer(): Problem[] {
    return [];
  }

  async observeServer(_op: Op, s: ServerRequest): Promise<ServerObservation> {
    const facts = await this.sql.roleFacts(this.admin(), this.role(s));
    if (!facts) return { exists: false, upToDate: false, ready: false };
    const judged = judgeRole(facts, this.claim(s));
    // A role of that name someone else made is never touched.
    if (judged.state === 'taken') throw terminal('NameTaken', judged.message);
    const ok = facts.canLogin && judged.state === 'ours';
    return { exists: true, upToDate: ok, ready: ok, endpoint: this.endpoint(s), message: ok ? 'team role exists' : 'team role cannot log in' };
  }

  async createServer(_op: Op, s: ServerRequest, adminPassword: string): Promise<Progress> {
    // Idempotent: after a crash core calls it again, and the role must end with this password.
    const { created } = await this.sql.ensureRole(this.admin(), this.role(s), adminPassword, { login: true, claim: this.claim(s) });
    if (!created) await this.sql.setPassword(this.admin(), this.role(s), adminPassword);
    return { state: 'ready', endpoint: this.endpoint(s) };
  }

  async updateServer(_op: Op, s: ServerRequest, _seen: ServerObservation, adminPassword?: string): Promise<Progress> {
    await this.sql.ensureRole(this.admin(), this.role(s), adminPassword, { login: true, claim: this.claim(s) });
    if (adminPassword !== undefined) await this.sql.setPassword(this.admin(), this.role(s), adminPassword);
    return { state: 'ready', endpoint: this.endpoint(s) };
  }

  async deleteServer(op: Op, s: ServerRequest): Promise<Progress> {
    const { skipped } = await this.sql.dropRole(this.admin(), this.role(s), this.claim(s));
    if (skipped) op.warn('NotDropped', `Role left on the server: ${skipped}`);
    return { state: 'gone' };
  }

  async close(): Promise<void> {
    await this.sql.close();
  }
}

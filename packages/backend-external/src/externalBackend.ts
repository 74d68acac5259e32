/**
 * Backend `external`: many PostgreSQLServers share one existing PostgreSQL server.
 *
 * Isolation design. Each PostgreSQLServer is a login role (its "admin", written into the
 * server's credentials Secret) WITHOUT CREATEDB/CREATEROLE: before PostgreSQL 16 CREATEROLE
 * lets a role alter every other non-superuser role, i.e. other teams' logins. So the operator's
 * own admin login creates databases and their roles (DatabaseHooks.adminConnection), and:
 *   - every database is owned by its own role and has CONNECT revoked from PUBLIC (core's SQL),
 *   - the server role is made a member of each of its databases' roles (databaseProvisioned),
 *     so the team admin can act as owner of exactly its databases and reach nothing else,
 *   - all names carry the namespace (names.ts), so two teams' CRs never map to one role.
 * Deleting a PostgreSQLServer drops its role (core waits until its databases are gone first;
 * dropRole hands anything the role still owns to a NOLOGIN role without rights).
 *
 * Ownership: the server role carries core's marker (the CR's uid). A role of the derived name the
 * operator did not make for this CR (a hand-made role, another CR's) is never re-passworded or
 * dropped: Ready=False, reason NameTaken, unless the CR may adopt it (core's adoption rules).
 */
import type {
  AdminConnection, Backend, Capabilities, Claim, DatabaseHooks, DatabaseRequest, Endpoint, Logger, Op, Problem, Progress,
  ServerObservation, ServerRequest, SqlAdmin,
} from '@hybridcloud-postgresql/core';
import { judgeRole, terminal } from '@hybridcloud-postgresql/core';
import type { AdminPasswordSource } from './adminPassword.js';
import type { ExternalConfig } from './config.js';
import { databaseNames, serverRoleName } from './names.js';

const NOTHING: Capabilities = {
  sizeByCpuMemory: false,
  storageAutoGrow: false,
  backupRetention: false,
  geoRedundantBackup: false,
  serverExtensions: false,
  firewallRules: false,
  serverParameters: false,
  maintenanceWindow: false,
  highAvailability: false,
};

export class ExternalBackend implements Backend {
  readonly id = 'external';
  readonly capabilities = NOTHING;
  readonly database: DatabaseHooks;

  constructor(
    private readonly config: ExternalConfig,
    private readonly sql: SqlAdmin,
    private readonly adminPassword: AdminPasswordSource,
    private readonly log: Logger,
  ) {
    this.database = {
      dialect: 'postgresql',
      names: (server, db) => databaseNames(this.config.role_prefix, db.namespace, db.name),
      adminConnection: () => this.admin(),
      databaseProvisioned: (_op, server, db, admin) => this.sql.grantMembership(admin, db.userName, this.roleOf(server)),
      keepDatabaseOnDelete: () => this.config.database_delete_fake,
    };
  }

  roleOf(s: { namespace: string; name: string }): string {
    return serverRoleName(this.config.role_prefix, s.namespace, s.name);
  }

  private claim(s: ServerRequest): Claim {
    return { kind: 'PostgreSQLServer', namespace: s.namespace, name: s.name, uid: s.uid, adopt: s.adopt === true };
  }

  private endpoint(s: ServerRequest): Endpoint {
    return { host: this.config.host, port: this.config.port, sslmode: this.config.sslmode, adminUsername: this.roleOf(s), adminDatabase: this.config.database };
  }

  async admin(): Promise<AdminConnection> {
    const c = this.config;
    return {
      host: c.host,
      port: c.port,
      user: c.admin_username,
      password: await this.adminPassword.get(),
      database: c.database,
      ssl: ['require', 'verify-ca', 'verify-full'].includes(c.sslmode),
      sslmode: c.sslmode,
    };
  }

  validateServer(_s: ServerRequest): Problem[] {
    // Every Kubernetes name maps to a valid role name (names.ts); nothing else is configurable.
    return [];
  }

  async observeServer(_op: Op, s: ServerRequest): Promise<ServerObservation> {
    const admin = await this.admin();
    const role = this.roleOf(s);
    const facts = await this.sql.roleFacts(admin, role);
    if (!facts) return { exists: false, upToDate: false, ready: false };
    const judged = judgeRole(facts, this.claim(s));
    if (judged.state === 'taken') throw terminal('NameTaken', judged.message);
    // Adoptable: ensureRole (update) marks it; until then it is not up to date.
    const canLogin = facts.canLogin && judged.state === 'ours';
    return { exists: true, upToDate: canLogin, ready: canLogin, endpoint: this.endpoint(s), message: canLogin ? 'role exists' : 'role cannot log in' };
  }

  async createServer(op: Op, s: ServerRequest, adminPassword: string): Promise<Progress> {
    const admin = await this.admin();
    const role = this.roleOf(s);
    const { created } = await this.sql.ensureRole(admin, role, adminPassword, { login: true, claim: this.claim(s) });
    // ensureRole leaves an existing role's password alone; a creation retried after a crash
    // must still end with the password the Secret holds.
    if (!created) await this.sql.setPassword(admin, role, adminPassword);
    op.log.info({ role }, 'server role ready');
    return { state: 'ready', endpoint: this.endpoint(s) };
  }

  async updateServer(_op: Op, s: ServerRequest, _seen: ServerObservation, adminPassword?: string): Promise<Progress> {
    const admin = await this.admin();
    const role = this.roleOf(s);
    await this.sql.ensureRole(admin, role, adminPassword, { login: true, claim: this.claim(s) });
    if (adminPassword !== undefined) await this.sql.setPassword(admin, role, adminPassword);
    return { state: 'ready', endpoint: this.endpoint(s) };
  }

  async deleteServer(op: Op, s: ServerRequest): Promise<Progress> {
    if (this.config.server_delete_fake) {
      op.log.info({ role: this.roleOf(s) }, 'server role kept (server_delete_fake)');
      return { state: 'gone' };
    }
    const { skipped } = await this.sql.dropRole(await this.admin(), this.roleOf(s), this.claim(s));
    if (skipped) op.warn('NotDropped', `Role left on the server: ${skipped}`);
    return { state: 'gone' };
  }

  /** Names core uses for a database of this server (exposed for tests and tools). */
  namesFor(db: Pick<DatabaseRequest, 'namespace' | 'name'>): { databaseName: string; userName: string } {
    return databaseNames(this.config.role_prefix, db.namespace, db.name);
  }

  async close(): Promise<void> {
    await this.sql.close();
  }
}

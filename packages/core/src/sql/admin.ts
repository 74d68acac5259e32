/**
 * The only place the operator writes SQL. Identifiers are always quoted (after a length check),
 * values are bind parameters wherever PostgreSQL allows them; the few utility statements that
 * cannot take parameters (CREATE DATABASE options) use pg's escapeLiteral, and passwords are sent
 * as SCRAM verifiers computed client-side. Every connection has connect and statement timeouts.
 */
import pg from 'pg';
import type { AdminConnection } from '../backend/contract.js';
import { terminal } from '../backend/errors.js';
import { classifyPgError } from './errors.js';
import { assertIdentifier, quoteIdent, quoteLiteral } from './names.js';
import { PoolManager, clientConfig } from './pools.js';
import { isScramSafe, scramVerifier } from './scram.js';

export type SqlDialect = 'postgresql' | 'yugabyte';
export type Connection = AdminConnection & { sslmode?: string };

export interface DatabaseOptions {
  /** Role that owns the database (ALTER DATABASE … OWNER TO when it differs). */
  owner?: string;
  /** ENCODING, e.g. UTF8. Only applied on creation: PostgreSQL cannot change it later. */
  encoding?: string;
  /** LC_COLLATE and LC_CTYPE (ctype defaults to the collation). Creation only. */
  collation?: string;
  ctype?: string;
  dialect?: SqlDialect;
}

export interface RoleOptions {
  login?: boolean;
  createdb?: boolean;
  createrole?: boolean;
  dialect?: SqlDialect;
}

export interface LoginCheck {
  ok: boolean;
  /** PostgreSQL's error message when the login failed. */
  error?: string;
}

const SYSTEM_DATABASES = new Set(['postgres', 'template0', 'template1']);

export class SqlAdmin {
  constructor(readonly pools: PoolManager = new PoolManager()) {}

  /** Runs one statement on the admin pool; errors are classified (retryable / terminal). */
  private async run<R extends pg.QueryResultRow = pg.QueryResultRow>(conn: Connection, doing: string, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pools.pool(conn).query<R>(text, values);
    } catch (err) {
      throw classifyPgError(err, doing);
    }
  }

  /**
   * A short-lived connection to another database on the same server (grants on schema public and
   * extensions live inside each database). Not pooled: there may be thousands of databases.
   */
  async inDatabase<T>(conn: Connection, database: string, doing: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client(clientConfig({ ...conn, database }, this.pools.timeouts));
    client.on('error', () => undefined);
    try {
      await client.connect();
      return await fn(client);
    } catch (err) {
      throw classifyPgError(err, doing);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** server_version_num, e.g. 150004. */
  async serverVersion(conn: Connection): Promise<number> {
    const r = await this.run<{ v: string }>(conn, 'reading the server version', 'SELECT current_setting($1) AS v', ['server_version_num']);
    return Number(r.rows[0]?.v ?? 0);
  }

  async databaseExists(conn: Connection, name: string): Promise<boolean> {
    const r = await this.run(conn, `checking database ${name}`, 'SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [name]);
    return r.rowCount === 1;
  }

  async databaseOwner(conn: Connection, name: string): Promise<string | undefined> {
    const r = await this.run<{ owner: string }>(conn, `reading owner of database ${name}`,
      'SELECT pg_catalog.pg_get_userbyid(datdba) AS owner FROM pg_catalog.pg_database WHERE datname = $1', [name]);
    return r.rows[0]?.owner;
  }

  async roleExists(conn: Connection, name: string): Promise<boolean> {
    const r = await this.run(conn, `checking role ${name}`, 'SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [name]);
    return r.rowCount === 1;
  }

  /** Databases owned by a role (the server role's databases on the external backend). */
  async databasesOwnedBy(conn: Connection, role: string): Promise<string[]> {
    const r = await this.run<{ datname: string }>(conn, `listing databases of ${role}`,
      'SELECT datname FROM pg_catalog.pg_database d JOIN pg_catalog.pg_roles r ON r.oid = d.datdba WHERE r.rolname = $1 ORDER BY 1', [role]);
    return r.rows.map((row) => row.datname);
  }

  /**
   * CREATE DATABASE when missing; sets the owner when it differs. CREATE DATABASE cannot run in a
   * transaction nor take parameters, so the existence check is a parameterised query and the
   * options are escaped literals. A non-default collation needs TEMPLATE template0.
   */
  async ensureDatabase(conn: Connection, name: string, opts: DatabaseOptions = {}): Promise<{ created: boolean }> {
    assertIdentifier(name, 'database name');
    let created = false;
    if (opts.owner) await this.ensureActingAs(conn, opts.owner);
    if (!(await this.databaseExists(conn, name))) {
      const parts = [`CREATE DATABASE ${quoteIdent(name)}`];
      if (opts.owner) parts.push(`OWNER ${quoteIdent(opts.owner)}`);
      if (opts.encoding) parts.push(`ENCODING ${quoteLiteral(opts.encoding)}`);
      // YSQL accepts only the default collation at database level.
      if (opts.collation && opts.dialect !== 'yugabyte') {
        parts.push(`LC_COLLATE ${quoteLiteral(opts.collation)} LC_CTYPE ${quoteLiteral(opts.ctype ?? opts.collation)}`);
      }
      if (opts.encoding || (opts.collation && opts.dialect !== 'yugabyte')) parts.push('TEMPLATE template0');
      try {
        await this.run(conn, `creating database ${name}`, parts.join(' '));
        created = true;
      } catch (err) {
        // Lost a race with another creator (a second reconcile, a restarted operator): fine.
        if (!(await this.databaseExists(conn, name))) throw err;
      }
    }
    if (opts.owner && !created && (await this.databaseOwner(conn, name)) !== opts.owner) {
      await this.run(conn, `setting owner of database ${name}`, `ALTER DATABASE ${quoteIdent(name)} OWNER TO ${quoteIdent(opts.owner)}`);
    }
    return { created };
  }

  /**
   * CREATE DATABASE … OWNER r and ALTER DATABASE … OWNER TO r need the connected user to be a member
   * of r unless it is a superuser. Cloud admins (the RDS/Aurora master user, Azure's admin) are not
   * superusers but have CREATEROLE, so they can grant the role to themselves first.
   */
  private async ensureActingAs(conn: Connection, role: string): Promise<void> {
    const r = await this.run<{ ok: boolean }>(conn, `checking whether the admin may act as ${role}`,
      `SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) OR pg_catalog.pg_has_role(current_user, $1, 'MEMBER') AS ok`, [role]);
    if (r.rows[0]?.ok) return;
    await this.run(conn, `granting ${role} to the admin`, `GRANT ${quoteIdent(role)} TO CURRENT_USER`);
  }

  /** CREATE ROLE when missing, with the password; an existing role keeps its password. */
  async ensureRole(conn: Connection, name: string, password: string | undefined, opts: RoleOptions = {}): Promise<{ created: boolean }> {
    assertIdentifier(name, 'role name');
    const attrs = [
      opts.login === false ? 'NOLOGIN' : 'LOGIN',
      opts.createdb ? 'CREATEDB' : 'NOCREATEDB',
      opts.createrole ? 'CREATEROLE' : 'NOCREATEROLE',
    ];
    const existing = await this.run<{ rolsuper: boolean; rolcanlogin: boolean; rolcreatedb: boolean; rolcreaterole: boolean }>(conn, `checking role ${name}`,
      'SELECT rolsuper, rolcanlogin, rolcreatedb, rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = $1', [name]);
    const row = existing.rows[0];
    if (row?.rolsuper) {
      // Never take over (and re-password) a superuser because a CR happens to share its name.
      throw terminal('InvalidName', `role ${name} exists and is a superuser; it cannot be managed by the operator`);
    }
    if (row) {
      // Only when drifted: a resync of a ready object should not write to the catalog either.
      const drifted = row.rolcanlogin !== (opts.login !== false) || row.rolcreatedb !== !!opts.createdb || row.rolcreaterole !== !!opts.createrole;
      if (drifted) await this.run(conn, `updating role ${name}`, `ALTER ROLE ${quoteIdent(name)} WITH ${attrs.join(' ')}`);
      return { created: false };
    }
    const pw = password === undefined ? '' : ` PASSWORD ${passwordLiteral(password, opts.dialect)}`;
    try {
      await this.run(conn, `creating role ${name}`, `CREATE ROLE ${quoteIdent(name)} WITH ${attrs.join(' ')}${pw}`);
    } catch (err) {
      if (!(await this.roleExists(conn, name))) throw err;
      if (password !== undefined) await this.setPassword(conn, name, password, opts.dialect);
      return { created: false };
    }
    return { created: true };
  }

  async setPassword(conn: Connection, role: string, password: string, dialect?: SqlDialect): Promise<void> {
    await this.run(conn, `setting the password of role ${role}`, `ALTER ROLE ${quoteIdent(role)} WITH PASSWORD ${passwordLiteral(password, dialect)}`);
  }

  /** Makes `member` a member of `role` (it may then act as the role, e.g. as database owner). */
  async grantMembership(conn: Connection, role: string, member: string): Promise<void> {
    const r = await this.run(conn, `checking membership of ${member} in ${role}`,
      `SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.roleid
        JOIN pg_catalog.pg_roles u ON u.oid = m.member WHERE r.rolname = $1 AND u.rolname = $2`, [role, member]);
    if (r.rowCount === 0) await this.run(conn, `granting ${role} to ${member}`, `GRANT ${quoteIdent(role)} TO ${quoteIdent(member)}`);
  }

  /**
   * Only `role` (and superusers / the owner) may connect: REVOKE ALL … FROM PUBLIC removes the
   * default CONNECT and TEMPORARY every role has on a new database.
   */
  async restrictDatabase(conn: Connection, database: string, role: string): Promise<void> {
    await this.run(conn, `restricting database ${database}`, `REVOKE ALL ON DATABASE ${quoteIdent(database)} FROM PUBLIC`);
    await this.run(conn, `granting database ${database} to ${role}`, `GRANT ALL ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(role)}`);
  }

  /** Grants on schema public and extensions, executed INSIDE the database they belong to. */
  async setupInsideDatabase(conn: Connection, database: string, opts: { role: string; extensions?: readonly string[] }): Promise<void> {
    for (const ext of opts.extensions ?? []) assertIdentifier(ext, 'extension name');
    await this.inDatabase(conn, database, `preparing database ${database}`, async (client) => {
      // PG15+ no longer lets everyone create in public; the database's role needs it explicitly.
      // (A team may have dropped schema public on purpose: then there is nothing to grant.)
      const pub = await client.query("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'public'");
      if (pub.rowCount === 1) await client.query(`GRANT ALL ON SCHEMA public TO ${quoteIdent(opts.role)}`);
      for (const ext of opts.extensions ?? []) {
        try {
          await client.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(ext)} CASCADE`);
        } catch (err) {
          throw classifyPgError(err, `creating extension ${ext} in database ${database}`);
        }
      }
    });
  }

  /** Drops a database even with open sessions (WITH (FORCE) on PG13+, terminate them before). */
  async dropDatabase(conn: Connection, name: string, dialect?: SqlDialect): Promise<void> {
    assertIdentifier(name, 'database name');
    if (SYSTEM_DATABASES.has(name)) throw new Error(`refusing to drop system database ${name}`);
    if (!(await this.databaseExists(conn, name))) return;
    const version = await this.serverVersion(conn);
    if (version >= 130000 && dialect !== 'yugabyte') {
      await this.run(conn, `dropping database ${name}`, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      return;
    }
    await this.run(conn, `disconnecting sessions of ${name}`, 'SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()', [name]);
    await this.run(conn, `dropping database ${name}`, `DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
  }

  /**
   * Drops a role. Objects it owns or privileges granted to it would block DROP ROLE ("objects
   * depend on it", a trap of the original), so in every database that holds any, ownership is
   * reassigned to the admin and its privileges dropped first.
   */
  async dropRole(conn: Connection, name: string): Promise<void> {
    assertIdentifier(name, 'role name');
    if (!(await this.roleExists(conn, name))) return;
    const dbs = await this.run<{ datname: string }>(conn, `listing databases for role ${name}`,
      'SELECT datname FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1');
    const dependent = await this.run<{ datname: string | null }>(conn, `listing dependencies of role ${name}`,
      `SELECT DISTINCT d.datname FROM pg_catalog.pg_shdepend s
         LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
        WHERE s.refobjid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)
          AND s.refclassid = 'pg_catalog.pg_authid'::regclass`, [name]);
    const needCleanup = new Set(dependent.rows.map((r) => r.datname).filter((d): d is string => d !== null));
    for (const { datname } of dbs.rows) {
      if (!needCleanup.has(datname)) continue;
      await this.inDatabase(conn, datname, `releasing objects of role ${name} in ${datname}`, async (client) => {
        await client.query(`REASSIGN OWNED BY ${quoteIdent(name)} TO CURRENT_USER`);
        await client.query(`DROP OWNED BY ${quoteIdent(name)}`);
      });
    }
    // Databases it owns are not covered by REASSIGN in another database.
    for (const db of await this.databasesOwnedBy(conn, name)) {
      await this.run(conn, `reassigning database ${db}`, `ALTER DATABASE ${quoteIdent(db)} OWNER TO CURRENT_USER`);
    }
    await this.run(conn, `dropping role ${name}`, `DROP ROLE IF EXISTS ${quoteIdent(name)}`);
  }

  /** Whether these credentials log in (used to verify Secrets and password resets). */
  async checkLogin(conn: Connection): Promise<LoginCheck> {
    const client = new pg.Client(clientConfig(conn, this.pools.timeouts));
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Whether a role may log in (rolcanlogin) — a NOLOGIN leftover must not be handed out. */
  async roleCanLogin(conn: Connection, name: string): Promise<boolean> {
    const r = await this.run<{ rolcanlogin: boolean }>(conn, `checking role ${name}`, 'SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = $1', [name]);
    return r.rows[0]?.rolcanlogin === true;
  }

  async close(): Promise<void> {
    await this.pools.close();
  }
}

/**
 * The PASSWORD clause. A SCRAM verifier when we can compute exactly what the server would
 * (printable ASCII; PostgreSQL stores the verifier as is). YugabyteDB and passwords needing
 * SASLprep get an escaped literal, which the server hashes itself.
 */
function passwordLiteral(password: string, dialect?: SqlDialect): string {
  if (dialect !== 'yugabyte' && isScramSafe(password)) return quoteLiteral(scramVerifier(password));
  return quoteLiteral(password);
}

/**
 * The only place the operator writes SQL. Identifiers are always quoted (after a length check),
 * values are bind parameters wherever PostgreSQL allows them; the few utility statements that
 * cannot take parameters (CREATE DATABASE options) use pg's escapeLiteral, and passwords are sent
 * as SCRAM verifiers computed client-side. Every connection has connect and statement timeouts.
 *
 * Tenants are hostile and own their databases (ARCHITECTURE §5, the advice after CVE-2018-1058):
 *  - every session pins search_path=pg_catalog,pg_temp at startup (pools.ts), and statements
 *    name catalog objects and operators fully, so nothing a tenant creates is ever resolved;
 *  - extensions go into a schema the tenant cannot write (EXTENSION_SCHEMA), never into public;
 *  - objects of a dropped role go to a NOLOGIN role without rights, never to the admin;
 *  - roles and databases are managed only when they carry our marker (ownership.ts).
 */
import pg from 'pg';
import { createHash } from 'node:crypto';
import type { AdminConnection, PasswordFormat } from '../backend/contract.js';
import { retryable, terminal } from '../backend/errors.js';
import { assertMayWrite, currentReconcileSignal } from '../controller/reconcileContext.js';
import { classifyPgError } from './errors.js';
import { assertIdentifier, quoteIdent, quoteLiteral } from './names.js';
import {
  ADOPT_HINT, MARKER_PREFIX, ORPHAN_MARKER, ORPHAN_ROLE, judgeRole, markerFor, parseMarker, privilegedAttributes, type Claim, type RoleFacts,
} from './ownership.js';
import { PoolManager, clientConfig } from './pools.js';
import { isScramSafe, scramVerifier } from './scram.js';

export type SqlDialect = 'postgresql' | 'yugabyte';
export type Connection = AdminConnection & { sslmode?: string };

export interface DatabaseOptions {
  /**
   * Role that owns the database; ensureRole must have accepted it for `claim` first. An existing
   * database owned by another role is NameTaken, unless claim.adopt or it is owned by `adoptFrom`.
   */
  owner: string;
  claim: Claim;
  /** A role whose databases may be taken over (the admin login, when a backend creates databases outside SQL). */
  adoptFrom?: string;
  /** ENCODING, e.g. UTF8. Only applied on creation: PostgreSQL cannot change it later. */
  encoding?: string;
  /** LC_COLLATE and LC_CTYPE (ctype defaults to the collation). Creation only. */
  collation?: string;
  ctype?: string;
  dialect?: SqlDialect;
}

export interface RoleOptions {
  /** The object the role is for: an existing role is used only when marked for it (or adoptable). */
  claim: Claim;
  login?: boolean;
  createdb?: boolean;
  createrole?: boolean;
  dialect?: SqlDialect;
  /** How the password is sent (default SCRAM; md5 for servers that authenticate with md5 only). */
  passwordFormat?: PasswordFormat;
}

export interface LoginCheck {
  ok: boolean;
  /** PostgreSQL's error message when the login failed. */
  error?: string;
}

const SYSTEM_DATABASES = new Set(['postgres', 'template0', 'template1']);

/** Where CREATE EXTENSION puts extensions: owned by the admin, USAGE for the tenant, never writable by it. */
export const EXTENSION_SCHEMA = 'extensions';

/** Result of a guarded drop: what was not dropped, and why. */
export interface DropResult {
  dropped: boolean;
  /** Why nothing was dropped (not ours); undefined when dropped or already gone. */
  skipped?: string;
}

export class SqlAdmin {
  constructor(readonly pools: PoolManager = new PoolManager()) {}

  /** Runs one statement on the admin pool; errors are classified (retryable / terminal). */
  private run<R extends pg.QueryResultRow = pg.QueryResultRow>(conn: Connection, doing: string, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.session(conn, doing, (client) => client.query<R>(text, values));
  }

  /** Runs statements in one transaction on a pooled admin session (CREATE ROLE and its marker together). */
  private transaction<T>(conn: Connection, doing: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.session(
      conn,
      doing,
      async (client) => {
        await client.query('BEGIN');
        const out = await fn(client);
        await client.query('COMMIT');
        return out;
      },
      async (client) => void (await client.query('ROLLBACK').catch(() => undefined)),
    );
  }

  /**
   * A pooled admin session tied to the running reconcile (bindSession); errors are classified, and
   * a session cut short (cancelled, fenced) never goes back to the pool.
   */
  private async session<T>(conn: Connection, doing: string, fn: (client: pg.PoolClient) => Promise<T>, onError?: (client: pg.PoolClient) => Promise<void>): Promise<T> {
    let client: pg.PoolClient;
    const release = await this.pools.slot(conn);
    try {
      client = await this.pools.pool(conn).connect();
    } catch (err) {
      release();
      throw classifyPgError(err, doing, conn.user);
    }
    const bound = bindSession(client);
    try {
      return await fn(client);
    } catch (err) {
      await onError?.(client);
      throw classifyPgError(bound.cancelled() ?? err, doing, conn.user);
    } finally {
      client.release(bound.end());
      release();
    }
  }

  /**
   * A short-lived connection to another database on the same server (grants on schema public and
   * extensions live inside each database). Not pooled: there may be thousands of databases. The
   * session settings are pinned like the pool's (a tenant's ALTER DATABASE … SET does not apply).
   */
  async inDatabase<T>(conn: Connection, database: string, doing: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const release = await this.pools.slot(conn);
    const client = new pg.Client(clientConfig({ ...conn, database }, this.pools.timeouts));
    client.on('error', () => undefined);
    const session = bindSession(client);
    try {
      await client.connect();
      return await fn(client);
    } catch (err) {
      throw classifyPgError(session.cancelled() ?? err, doing, conn.user);
    } finally {
      session.end();
      await client.end().catch(() => undefined);
      release();
    }
  }

  /** server_version_num, e.g. 150004. */
  async serverVersion(conn: Connection): Promise<number> {
    const r = await this.run<{ v: string }>(conn, 'reading the server version', 'SELECT pg_catalog.current_setting($1) AS v', ['server_version_num']);
    return Number(r.rows[0]?.v ?? 0);
  }

  async databaseExists(conn: Connection, name: string): Promise<boolean> {
    const r = await this.run(conn, `checking database ${name}`, 'SELECT 1 FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) $1::pg_catalog.name', [name]);
    return r.rowCount === 1;
  }

  async databaseOwner(conn: Connection, name: string): Promise<string | undefined> {
    const r = await this.run<{ owner: string }>(conn, `reading owner of database ${name}`,
      'SELECT pg_catalog.pg_get_userbyid(datdba) AS owner FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) $1::pg_catalog.name', [name]);
    return r.rows[0]?.owner;
  }

  async roleExists(conn: Connection, name: string): Promise<boolean> {
    const r = await this.run(conn, `checking role ${name}`, 'SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1::pg_catalog.name', [name]);
    return r.rowCount === 1;
  }

  /** Attributes, marker and owned databases of a role; undefined when there is no such role. */
  async roleFacts(conn: Connection, name: string): Promise<RoleFacts | undefined> {
    const r = await this.run<{ rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolreplication: boolean; rolbypassrls: boolean; rolcanlogin: boolean; comment: string | null; dbs: string[] | null }>(
      conn, `checking role ${name}`,
      `SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, r.rolcanlogin,
              pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment,
              (SELECT pg_catalog.array_agg(d.datname::pg_catalog.text ORDER BY d.datname) FROM pg_catalog.pg_database d
                WHERE d.datdba OPERATOR(pg_catalog.=) r.oid) AS dbs
         FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) $1::pg_catalog.name`, [name]);
    const row = r.rows[0];
    if (!row) return undefined;
    return {
      name, superuser: row.rolsuper, createrole: row.rolcreaterole, createdb: row.rolcreatedb, replication: row.rolreplication,
      bypassrls: row.rolbypassrls, canLogin: row.rolcanlogin, comment: row.comment, databases: row.dbs ?? [],
    };
  }

  /** Whether `name` exists and is marked for `claim` (or may be adopted by it). */
  async roleClaimable(conn: Connection, name: string, claim: Claim): Promise<boolean> {
    const facts = await this.roleFacts(conn, name);
    if (!facts) return false;
    const judged = judgeRole(facts, claim);
    return judged.state === 'ours' || judged.state === 'adopt';
  }

  /** Databases owned by a role (the server role's databases on the external backend). */
  async databasesOwnedBy(conn: Connection, role: string): Promise<string[]> {
    const r = await this.run<{ datname: string }>(conn, `listing databases of ${role}`,
      'SELECT d.datname FROM pg_catalog.pg_database d JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) d.datdba WHERE r.rolname OPERATOR(pg_catalog.=) $1::pg_catalog.name ORDER BY 1', [role]);
    return r.rows.map((row) => row.datname);
  }

  /**
   * CREATE DATABASE when missing; an existing database must be owned by `opts.owner` (or be
   * adoptable, then its owner is changed). CREATE DATABASE cannot run in a transaction nor take
   * parameters, so the existence check is a parameterised query and the options are escaped
   * literals. A non-default collation needs TEMPLATE template0.
   */
  async ensureDatabase(conn: Connection, name: string, opts: DatabaseOptions): Promise<{ created: boolean }> {
    assertIdentifier(name, 'database name');
    let created = false;
    await this.ensureActingAs(conn, opts.owner);
    if (!(await this.databaseExists(conn, name))) {
      const parts = [`CREATE DATABASE ${quoteIdent(name)}`, `OWNER ${quoteIdent(opts.owner)}`];
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
        // Lost a race with another creator (a second reconcile, a restarted operator): checked below.
        if (!(await this.databaseExists(conn, name))) throw err;
      }
    }
    const owner = created ? opts.owner : await this.databaseOwner(conn, name);
    if (owner !== undefined && owner !== opts.owner) {
      const holder = await this.roleFacts(conn, owner);
      if (!(await this.mayTakeDatabase(conn, owner, holder, opts))) {
        const marker = parseMarker(holder?.comment);
        throw terminal('NameTaken', `database ${name} is taken: it is owned by role ${owner}${marker ? ` (${marker.kind} ${marker.object})` : ''}, not by ${opts.owner}; ${opts.claim.adopt ? 'it cannot be adopted' : ADOPT_HINT}`);
      }
      await this.run(conn, `setting owner of database ${name}`, `ALTER DATABASE ${quoteIdent(name)} OWNER TO ${quoteIdent(opts.owner)}`);
    }
    return { created };
  }

  /**
   * Whether a database owned by someone else than its role may be taken over: one the backend made
   * outside SQL (adoptFrom), or, when adoption is allowed, one of the admin login itself (the Python
   * operator left its databases owned by the admin) or of an unprivileged role no other object holds.
   */
  private async mayTakeDatabase(conn: Connection, owner: string, holder: RoleFacts | undefined, opts: { claim: Claim; adoptFrom?: string | undefined }): Promise<boolean> {
    if (owner === opts.adoptFrom) return true;
    // The admin's login is not always its role name (single server: login admin@server, role
    // admin): the admin's databases are owned by the session's role.
    const isAdmin = async () => owner === conn.user || owner === (await this.run<{ u: string }>(conn, 'reading the admin role', 'SELECT CURRENT_USER AS u')).rows[0]?.u;
    if (opts.adoptFrom !== undefined && (await isAdmin())) return true;
    if (!opts.claim.adopt) return false;
    if (await isAdmin()) return true;
    if (!holder || holder.superuser) return false;
    const marker = parseMarker(holder.comment);
    return marker === undefined || marker.uid === opts.claim.uid;
  }

  /**
   * CREATE DATABASE … OWNER r, ALTER DATABASE … OWNER TO r and REASSIGN OWNED … TO r need the
   * connected user to be a member of r unless it is a superuser. Cloud admins (the RDS/Aurora
   * master user, Azure's admin) and the minimal operator login are not superusers but have
   * CREATEROLE, so they can grant the role to themselves first.
   */
  private async ensureActingAs(conn: Connection, role: string): Promise<void> {
    const r = await this.run<{ ok: boolean }>(conn, `checking whether the admin may act as ${role}`,
      `SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) CURRENT_USER) OR pg_catalog.pg_has_role(CURRENT_USER, $1::pg_catalog.name, 'MEMBER') AS ok`, [role]);
    if (r.rows[0]?.ok) return;
    await this.run(conn, `granting ${role} to the admin`, `GRANT ${quoteIdent(role)} TO CURRENT_USER`);
  }

  /**
   * CREATE ROLE (with our marker, in one transaction) when missing. An existing role is used only
   * when it is marked for opts.claim, or adoptable (then it is marked now); otherwise NameTaken.
   * Tenant roles never get SUPERUSER, REPLICATION or BYPASSRLS (and CREATEDB/CREATEROLE only when
   * asked for). An existing role keeps its password.
   */
  async ensureRole(conn: Connection, name: string, password: string | undefined, opts: RoleOptions): Promise<{ created: boolean }> {
    assertIdentifier(name, 'role name');
    const attrs = [
      opts.login === false ? 'NOLOGIN' : 'LOGIN',
      'NOSUPERUSER',
      opts.createdb ? 'CREATEDB' : 'NOCREATEDB',
      opts.createrole ? 'CREATEROLE' : 'NOCREATEROLE',
      'NOREPLICATION',
      'NOBYPASSRLS',
    ];
    const facts = await this.roleFacts(conn, name);
    if (facts) {
      await this.acceptExistingRole(conn, facts, opts, attrs);
      return { created: false };
    }
    const pw = password === undefined ? '' : ` PASSWORD ${passwordLiteral(password, opts.dialect, name, opts.passwordFormat)}`;
    try {
      await this.transaction(conn, `creating role ${name}`, async (c) => {
        await c.query(`CREATE ROLE ${quoteIdent(name)} WITH ${attrs.join(' ')}${pw}`);
        await c.query(`COMMENT ON ROLE ${quoteIdent(name)} IS ${quoteLiteral(markerFor(opts.claim))}`);
      });
    } catch (err) {
      // Lost a race (another reconcile created it): fine if it is ours, NameTaken if not.
      const now = await this.roleFacts(conn, name);
      if (!now) throw err;
      await this.acceptExistingRole(conn, now, opts, attrs);
      return { created: false };
    }
    return { created: true };
  }

  private async acceptExistingRole(conn: Connection, facts: RoleFacts, opts: RoleOptions, attrs: string[]): Promise<void> {
    const asked = [opts.createdb ? 'CREATEDB' : '', opts.createrole ? 'CREATEROLE' : ''];
    const judged = judgeRole(facts, opts.claim, asked);
    if (judged.state === 'taken') throw terminal('NameTaken', judged.message);
    if (judged.state === 'adopt') {
      await this.run(conn, `marking role ${facts.name}`, `COMMENT ON ROLE ${quoteIdent(facts.name)} IS ${quoteLiteral(markerFor(opts.claim))}`);
    }
    // Only when drifted: a resync of a ready object should not write to the catalog either.
    const drifted = facts.canLogin !== (opts.login !== false) || facts.createdb !== !!opts.createdb || facts.createrole !== !!opts.createrole;
    if (drifted) await this.run(conn, `updating role ${facts.name}`, `ALTER ROLE ${quoteIdent(facts.name)} WITH ${attrs.filter((a) => a !== 'NOREPLICATION' && a !== 'NOBYPASSRLS' && a !== 'NOSUPERUSER').join(' ')}`);
  }

  async setPassword(conn: Connection, role: string, password: string, dialect?: SqlDialect, format?: PasswordFormat): Promise<void> {
    await this.run(conn, `setting the password of role ${role}`, `ALTER ROLE ${quoteIdent(role)} WITH PASSWORD ${passwordLiteral(password, dialect, role, format)}`);
  }

  /** Makes `member` a member of `role` (it may then act as the role, e.g. as database owner). */
  async grantMembership(conn: Connection, role: string, member: string): Promise<void> {
    const r = await this.run(conn, `checking membership of ${member} in ${role}`,
      `SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.roleid
        JOIN pg_catalog.pg_roles u ON u.oid OPERATOR(pg_catalog.=) m.member
       WHERE r.rolname OPERATOR(pg_catalog.=) $1::pg_catalog.name AND u.rolname OPERATOR(pg_catalog.=) $2::pg_catalog.name`, [role, member]);
    if (r.rowCount === 0) await this.run(conn, `granting ${role} to ${member}`, `GRANT ${quoteIdent(role)} TO ${quoteIdent(member)}`);
  }

  /**
   * On older PostgreSQL releases a session may grant membership in its own role to anyone (grantor = the
   * role itself). Tenants must not hand their roles around behind our back: such grants on roles
   * the operator created are revoked. Returns the revoked "role → member" pairs.
   */
  async revokeSelfGrantedMemberships(conn: Connection): Promise<string[]> {
    const r = await this.run<{ role: string; member: string }>(conn, 'listing self-granted memberships',
      `SELECT r.rolname AS role, u.rolname AS member FROM pg_catalog.pg_auth_members m
         JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.roleid
         JOIN pg_catalog.pg_roles u ON u.oid OPERATOR(pg_catalog.=) m.member
        WHERE m.grantor OPERATOR(pg_catalog.=) m.roleid
          AND pg_catalog.starts_with(pg_catalog.shobj_description(r.oid, 'pg_authid'), $1::pg_catalog.text)`, [MARKER_PREFIX]);
    const out: string[] = [];
    for (const { role, member } of r.rows) {
      await this.run(conn, `revoking ${role} from ${member}`, `REVOKE ${quoteIdent(role)} FROM ${quoteIdent(member)}`);
      out.push(`${role} → ${member}`);
    }
    return out;
  }

  /**
   * Only `role` (and superusers / the owner) may connect: REVOKE ALL … FROM PUBLIC removes the
   * default CONNECT and TEMPORARY every role has on a new database.
   */
  async restrictDatabase(conn: Connection, database: string, role: string): Promise<void> {
    await this.run(conn, `restricting database ${database}`, `REVOKE ALL ON DATABASE ${quoteIdent(database)} FROM PUBLIC`);
    await this.run(conn, `granting database ${database} to ${role}`, `GRANT ALL ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(role)}`);
  }

  /**
   * Grants on schema public and extensions, executed INSIDE the database they belong to, in a
   * pinned session. Extensions are created in EXTENSION_SCHEMA, owned by the admin, so their
   * scripts (which run as a superuser with the target schema on their search_path) never see an
   * object the tenant planted; the role finds them through its per-database search_path.
   * Nothing here would work as the tenant (SET ROLE): a tenant owning schema public already has
   * what the GRANT gives, so it is skipped; what is left needs the admin's rights, and the pinned
   * session with qualified names keeps every object the tenant made out of its way.
   */
  async setupInsideDatabase(conn: Connection, database: string, opts: { role: string; extensions?: readonly string[] }): Promise<void> {
    for (const ext of opts.extensions ?? []) assertIdentifier(ext, 'extension name');
    await this.inDatabase(conn, database, `preparing database ${database}`, async (client) => {
      // PG15+ no longer lets everyone create in public; the database's role needs it explicitly
      // (as owner through pg_database_owner it normally has it already).
      // (A team may have dropped schema public on purpose: then there is nothing to grant.)
      const pub = await client.query<{ ok: boolean }>(
        `SELECT pg_catalog.has_schema_privilege($1::pg_catalog.name, n.oid, 'CREATE, USAGE') AS ok
           FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) 'public'::pg_catalog.name`, [opts.role]);
      if (pub.rowCount === 1 && !pub.rows[0]!.ok) await client.query(`GRANT ALL ON SCHEMA public TO ${quoteIdent(opts.role)}`);
      const missing: string[] = [];
      for (const ext of opts.extensions ?? []) {
        const have = await client.query('SELECT 1 FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) $1::pg_catalog.name', [ext]);
        if (have.rowCount === 0) missing.push(ext);
      }
      if (missing.length === 0) return;
      await this.ensureExtensionSchema(client, database, opts.role);
      for (const ext of missing) {
        try {
          await client.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(ext)} SCHEMA ${quoteIdent(EXTENSION_SCHEMA)} CASCADE`);
        } catch (err) {
          throw classifyPgError(err, `creating extension ${ext} in database ${database}`);
        }
      }
    });
  }

  /**
   * The extension schema, owned by the admin (USAGE for the role). A schema of that name the
   * tenant made first is a trap (its objects would be on the extension script's search_path):
   * refused. The role's search_path in this database is set once, when the schema is created.
   */
  private async ensureExtensionSchema(client: pg.Client, database: string, role: string): Promise<void> {
    const s = await client.query<{ mine: boolean }>(
      `SELECT n.nspowner OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) CURRENT_USER) AS mine
         FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) $1::pg_catalog.name`, [EXTENSION_SCHEMA]);
    if (s.rowCount === 1 && !s.rows[0]!.mine) {
      throw terminal('ExtensionSchemaTaken', `schema ${EXTENSION_SCHEMA} in database ${database} was not created by the operator; drop or rename it so extensions can be installed safely`);
    }
    if (s.rowCount === 0) {
      await client.query(`CREATE SCHEMA ${quoteIdent(EXTENSION_SCHEMA)}`);
      await client.query(`GRANT USAGE ON SCHEMA ${quoteIdent(EXTENSION_SCHEMA)} TO ${quoteIdent(role)}`);
      await client.query(`ALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(database)} SET search_path = "$user", public, ${quoteIdent(EXTENSION_SCHEMA)}`);
    }
  }

  /**
   * Drops a database, even with open sessions (WITH (FORCE) on PG13+, terminate them before), but
   * only when it is owned by `opts.owner` and that role is ours for opts.claim (or adoptable).
   */
  async dropDatabase(conn: Connection, name: string, opts: { owner: string; claim: Claim; dialect?: SqlDialect | undefined; adoptFrom?: string | undefined }): Promise<DropResult> {
    assertIdentifier(name, 'database name');
    if (SYSTEM_DATABASES.has(name)) throw new Error(`refusing to drop system database ${name}`);
    const owner = await this.databaseOwner(conn, name);
    if (owner === undefined) return { dropped: false };
    const ownerOk = owner === opts.owner ? await this.roleClaimable(conn, owner, opts.claim) : await this.mayTakeDatabase(conn, owner, await this.roleFacts(conn, owner), opts);
    if (!ownerOk) return { dropped: false, skipped: `database ${name} is owned by role ${owner}, which the operator did not create for ${opts.claim.kind} ${opts.claim.namespace}/${opts.claim.name}` };
    const version = await this.serverVersion(conn);
    if (version >= 130000 && opts.dialect !== 'yugabyte') {
      await this.run(conn, `dropping database ${name}`, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      return { dropped: true };
    }
    await this.run(conn, `disconnecting sessions of ${name}`, 'SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname OPERATOR(pg_catalog.=) $1::pg_catalog.name AND pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()', [name]);
    await this.run(conn, `dropping database ${name}`, `DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
    return { dropped: true };
  }

  /**
   * The NOLOGIN role without any rights that receives what dropped roles owned. Never the admin:
   * a SECURITY DEFINER function a tenant planted would otherwise run as a superuser.
   */
  async ensureOrphanRole(conn: Connection): Promise<string> {
    const facts = await this.roleFacts(conn, ORPHAN_ROLE);
    if (facts) {
      if (facts.comment !== ORPHAN_MARKER || facts.canLogin || privilegedAttributes(facts).length > 0) {
        throw terminal('NameTaken', `role ${ORPHAN_ROLE} exists but is not the operator's NOLOGIN owner of orphaned objects; drop or rename it`);
      }
    } else {
      try {
        await this.transaction(conn, `creating role ${ORPHAN_ROLE}`, async (c) => {
          await c.query(`CREATE ROLE ${quoteIdent(ORPHAN_ROLE)} WITH NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT`);
          await c.query(`COMMENT ON ROLE ${quoteIdent(ORPHAN_ROLE)} IS ${quoteLiteral(ORPHAN_MARKER)}`);
        });
      } catch (err) {
        if (!(await this.roleExists(conn, ORPHAN_ROLE))) throw err;
      }
    }
    await this.ensureActingAs(conn, ORPHAN_ROLE);
    return ORPHAN_ROLE;
  }

  /**
   * Drops a role the operator created for `claim` (a role that is not ours is left alone; the
   * result says why). Objects it owns or privileges granted to it would block DROP ROLE ("objects
   * depend on it", a trap of the original), so in every database that holds any, ownership goes
   * to the orphan role (NOLOGIN, no rights; where the admin cannot do that, the objects are
   * dropped) and its privileges are dropped first.
   */
  async dropRole(conn: Connection, name: string, claim: Claim): Promise<DropResult> {
    assertIdentifier(name, 'role name');
    const facts = await this.roleFacts(conn, name);
    if (!facts) return { dropped: false };
    const judged = judgeRole(facts, claim);
    if (judged.state === 'taken') return { dropped: false, skipped: judged.message };
    const dependent = await this.run<{ datname: string | null }>(conn, `listing dependencies of role ${name}`,
      `SELECT DISTINCT d.datname FROM pg_catalog.pg_shdepend s
         LEFT JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) s.dbid
        WHERE s.refobjid OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1::pg_catalog.name)
          AND s.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_authid'::pg_catalog.regclass
          AND (d.oid IS NULL OR (d.datallowconn AND NOT d.datistemplate))`, [name]);
    const needCleanup = dependent.rows.map((r) => r.datname).filter((d): d is string => d !== null);
    const owned = facts.databases;
    if (needCleanup.length > 0 || owned.length > 0) {
      const orphan = await this.ensureOrphanRole(conn);
      await this.ensureActingAs(conn, name);
      for (const datname of needCleanup) {
        await this.inDatabase(conn, datname, `releasing objects of role ${name} in ${datname}`, async (client) => {
          await client.query('BEGIN');
          try {
            // A non-superuser admin cannot give the orphan role objects in schemas it may not
            // create in: those objects are dropped with DROP OWNED instead.
            await client.query('SAVEPOINT reassign');
            await client.query(`REASSIGN OWNED BY ${quoteIdent(name)} TO ${quoteIdent(orphan)}`).catch(async () => client.query('ROLLBACK TO SAVEPOINT reassign'));
            await client.query(`DROP OWNED BY ${quoteIdent(name)}`);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
        });
      }
      // Databases it owns are not covered by REASSIGN in another database.
      for (const db of owned) {
        await this.run(conn, `reassigning database ${db}`, `ALTER DATABASE ${quoteIdent(db)} OWNER TO ${quoteIdent(orphan)}`);
      }
    }
    await this.run(conn, `dropping role ${name}`, `DROP ROLE IF EXISTS ${quoteIdent(name)}`);
    return { dropped: true };
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
    const r = await this.run<{ rolcanlogin: boolean }>(conn, `checking role ${name}`, 'SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1::pg_catalog.name', [name]);
    return r.rows[0]?.rolcanlogin === true;
  }

  async close(): Promise<void> {
    await this.pools.close();
  }
}

/**
 * The PASSWORD clause. An md5 verifier when the backend's server authenticates with md5 only
 * (Azure single server). Else a SCRAM verifier when we can compute exactly what the server would
 * (printable ASCII; PostgreSQL stores the verifier as is). YugabyteDB and passwords needing
 * SASLprep get an escaped literal, which the server hashes itself.
 */
function passwordLiteral(password: string, dialect: SqlDialect | undefined, role: string, format?: PasswordFormat): string {
  if (format === 'md5') return quoteLiteral(`md5${createHash('md5').update(password + role).digest('hex')}`);
  if (dialect !== 'yugabyte' && isScramSafe(password)) return quoteLiteral(scramVerifier(password));
  return quoteLiteral(password);
}

/**
 * Ties a session to the reconcile it runs in (controller/reconcileContext.ts): every statement
 * passes the write fence first (a deposed leader or a cancelled reconcile sends no more SQL), and
 * cancelling the reconcile (deadline, shutdown, lost leadership) cuts the connection at once, so a
 * statement in flight ends now instead of at statement_timeout. Outside a reconcile: no-op.
 */
function bindSession(client: pg.ClientBase): { cancelled(): Error | undefined; end(): boolean } {
  const signal = currentReconcileSignal();
  const query = client.query;
  let cut: Error | undefined;
  client.query = ((...args: unknown[]) => {
    try {
      assertMayWrite();
    } catch (err) {
      cut ??= err as Error;
      return Promise.reject(err);
    }
    return (query as (...a: unknown[]) => unknown).apply(client, args);
  }) as typeof client.query;
  // A cut connection emits 'error' on a checked-out client, which has no listener of its own.
  const swallow = (): void => undefined;
  client.on('error', swallow);
  const onAbort = (): void => {
    cut ??= signal?.reason instanceof Error ? signal.reason : new Error('reconcile cancelled');
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    cancelled: () => (cut ? retryable(`cancelled: ${cut.message}`, cut, 'Cancelled') : undefined),
    end: () => {
      signal?.removeEventListener('abort', onAbort);
      client.query = query;
      if (cut === undefined) client.off('error', swallow);
      return cut !== undefined;
    },
  };
}

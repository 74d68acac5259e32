/**
 * The raw-SQL floor of the 100-database job: the statements core's DatabaseReconciler and the
 * external backend run for one new PostgreSQLDatabase (core/src/sql/admin.ts: ensureRole,
 * ensureDatabase, restrictDatabase, setupInsideDatabase, the backend's databaseProvisioned and
 * revokeSelfGrantedMemberships), sent straight through `pg` with the operator's parallelism: a
 * pinned admin pool of `parallel` connections, a short-lived session inside each new database
 * (as core does), and then one login as the new role, which is what the bench waits for. No
 * Kubernetes, no controller: what PostgreSQL itself needs for the same work.
 */
import pg from 'pg';
import { clientConfig, quoteIdent, quoteLiteral, scramVerifier } from '@hybridcloud-postgresql/core';

export interface FloorTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface FloorResult {
  seconds: number;
  /** Statements sent per database (admin pool + inside the database + the login check). */
  statementsPerDatabase: number;
  /** New connections per database (inside the database + the login). */
  connectionsPerDatabase: number;
  /** Drops the roles and databases the floor made. */
  cleanUp(): Promise<void>;
}

const MARKER = (i: number) => `hybridcloud-postgresql-operator:PostgreSQLDatabase:floor/db-${i}:00000000-0000-0000-0000-${String(i).padStart(12, '0')}`;

/** One database's statements, in core's order; returns the number of statements sent. */
async function provision(admin: pg.Pool, t: FloorTarget, serverRole: string, prefix: string, i: number): Promise<number> {
  const role = `${prefix}_${i}`;
  const db = role;
  const password = `Floor-${i}-${Math.random().toString(36).slice(2)}`;
  let n = 0;
  const q = async (c: pg.ClientBase, text: string, values: unknown[] = []) => (n++, c.query(text, values));
  const one = async (text: string, values: unknown[] = []) => {
    const c = await admin.connect();
    try {
      return await q(c, text, values);
    } finally {
      c.release();
    }
  };
  // ensureRole: role facts, then CREATE ROLE + marker in one transaction
  await one(`SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, r.rolcanlogin,
              pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment,
              (SELECT pg_catalog.array_agg(d.datname::pg_catalog.text ORDER BY d.datname) FROM pg_catalog.pg_database d
                WHERE d.datdba OPERATOR(pg_catalog.=) r.oid) AS dbs
         FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) $1::pg_catalog.name`, [role]);
  {
    const c = await admin.connect();
    try {
      await q(c, 'BEGIN');
      await q(c, `CREATE ROLE ${quoteIdent(role)} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${quoteLiteral(scramVerifier(password))}`);
      await q(c, `COMMENT ON ROLE ${quoteIdent(role)} IS ${quoteLiteral(MARKER(i))}`);
      await q(c, 'COMMIT');
    } finally {
      c.release();
    }
  }
  // ensureDatabase: may the admin act as the owner, does it exist, create
  await one(`SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) CURRENT_USER) OR pg_catalog.pg_has_role(CURRENT_USER, $1::pg_catalog.name, 'MEMBER') AS ok`, [role]);
  await one('SELECT 1 FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) $1::pg_catalog.name', [db]);
  await one(`CREATE DATABASE ${quoteIdent(db)} OWNER ${quoteIdent(role)}`);
  // restrictDatabase
  await one(`REVOKE ALL ON DATABASE ${quoteIdent(db)} FROM PUBLIC`);
  await one(`GRANT ALL ON DATABASE ${quoteIdent(db)} TO ${quoteIdent(role)}`);
  // setupInsideDatabase: a pinned session inside the new database (no extensions in the job)
  const inside = new pg.Client(clientConfig({ ...t, database: db, ssl: false }));
  inside.on('error', () => undefined);
  try {
    await inside.connect();
    await q(inside, `SELECT pg_catalog.has_schema_privilege($1::pg_catalog.name, n.oid, 'CREATE, USAGE') AS ok
           FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) 'public'::pg_catalog.name`, [role]);
  } finally {
    await inside.end().catch(() => undefined);
  }
  // external backend's databaseProvisioned: membership of the server role
  await one(`SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.roleid
        JOIN pg_catalog.pg_roles u ON u.oid OPERATOR(pg_catalog.=) m.member
       WHERE r.rolname OPERATOR(pg_catalog.=) $1::pg_catalog.name AND u.rolname OPERATOR(pg_catalog.=) $2::pg_catalog.name`, [role, serverRole]);
  await one(`GRANT ${quoteIdent(role)} TO ${quoteIdent(serverRole)}`);
  // revokeSelfGrantedMemberships (nothing to revoke)
  await one(`SELECT r.rolname AS role, u.rolname AS member FROM pg_catalog.pg_auth_members m
         JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.roleid
         JOIN pg_catalog.pg_roles u ON u.oid OPERATOR(pg_catalog.=) m.member
        WHERE m.grantor OPERATOR(pg_catalog.=) m.roleid
          AND pg_catalog.starts_with(pg_catalog.shobj_description(r.oid, 'pg_authid'), $1::pg_catalog.text)`, ['hybridcloud-postgresql-operator:']);
  // The login the bench waits for.
  const login = new pg.Client({ host: t.host, port: t.port, user: role, password, database: db });
  login.on('error', () => undefined);
  try {
    await login.connect();
    await q(login, 'SELECT 1');
  } finally {
    await login.end().catch(() => undefined);
  }
  return n;
}

/** Runs `count` databases through the floor, `parallel` at a time; cleanUp() drops what it made. */
export async function sqlFloor(t: FloorTarget, count: number, parallel: number, serverRole: string): Promise<FloorResult> {
  const prefix = `floor_${Date.now().toString(36)}`;
  const admin = new pg.Pool({ ...clientConfig({ ...t, ssl: false }), max: parallel });
  admin.on('error', () => undefined);
  const cleanUp = async () => {
    for (let i = 0; i < count; i++) {
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(`${prefix}_${i}`)}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${quoteIdent(`${prefix}_${i}`)}`).catch(() => undefined);
    }
    await admin.end();
  };
  let statements = 0;
  try {
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: parallel }, async () => {
      while (next < count) {
        const sent = await provision(admin, t, serverRole, prefix, next++);
        statements += sent;
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, statementsPerDatabase: statements / count, connectionsPerDatabase: 2, cleanUp };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

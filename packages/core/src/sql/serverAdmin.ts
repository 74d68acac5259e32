/**
 * The statements an in-cluster backend needs on its own server's admin login: trying a login,
 * changing the admin password inside the running server (the charts read their password only when
 * the data directory is initialised, so a changed helm value alone leaves the database on the old
 * password), and making the chart's custom admin user a superuser. One short-lived, pinned
 * session each (same settings as every other operator session, see pools.ts).
 *
 * Passwords are sent as verifiers computed here (SCRAM, or md5 for YSQL whose default md5
 * authentication accepts it on every release), like psql's \password: never the clear text.
 */
import pg from 'pg';
import type { AdminConnection } from '../backend/contract.js';
import { retryable } from '../backend/errors.js';
import { classifyPgError } from './errors.js';
import { quoteIdent, quoteLiteral } from './names.js';
import { clientConfig, type SqlTimeouts } from './pools.js';

export type LoginResult = 'ok' | 'auth-failed' | 'unreachable';

const TIMEOUTS: SqlTimeouts = { connectMs: 10_000, statementMs: 30_000, idleMs: 1_000 };

async function withClient<T>(conn: AdminConnection & { sslmode?: string }, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(clientConfig(conn, TIMEOUTS));
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Tries to log in with these credentials. */
export async function tryAdminLogin(conn: AdminConnection & { sslmode?: string }): Promise<LoginResult> {
  try {
    await withClient(conn, (c) => c.query('SELECT 1'));
    return 'ok';
  } catch (err) {
    const code = (err as { code?: string }).code;
    // 28P01 invalid_password, 28000 invalid_authorization_specification (no such role / hba reject)
    if (code === '28P01' || code === '28000') return 'auth-failed';
    // An SQLSTATE means the server answered: something other than reachability is wrong (missing database …).
    if (code && /^[0-9A-Z]{5}$/.test(code)) throw retryable(`Logging in to ${conn.host}:${conn.port} as ${conn.user} failed: ${(err as Error).message}`, err, 'AdminLoginFailed');
    return 'unreachable';
  }
}

/** Logs in with `conn` and sets the password verifier of `role` (normally conn.user itself). */
export async function setRolePasswordVerifier(conn: AdminConnection & { sslmode?: string }, role: string, verifier: string): Promise<void> {
  try {
    await withClient(conn, (c) => c.query(`ALTER ROLE ${quoteIdent(role)} WITH PASSWORD ${quoteLiteral(verifier)}`));
  } catch (err) {
    throw classifyPgError(err, `setting the password of role ${role}`);
  }
}

/** Creates (or updates) `role` as a login superuser with this password verifier (the chart's own admin user). */
export async function ensureSuperuserRole(conn: AdminConnection & { sslmode?: string }, role: string, verifier: string): Promise<void> {
  try {
    await withClient(conn, async (c) => {
      const exists = (await c.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1::pg_catalog.name', [role])).rowCount === 1;
      const verb = exists ? 'ALTER' : 'CREATE';
      await c.query(`${verb} ROLE ${quoteIdent(role)} WITH LOGIN SUPERUSER CREATEDB CREATEROLE PASSWORD ${quoteLiteral(verifier)}`);
    });
  } catch (err) {
    throw classifyPgError(err, `ensuring admin role ${role}`);
  }
}

/**
 * The one SQL statement an in-cluster backend needs itself: changing the admin password inside the
 * running server. (The charts read their password only when the data directory is initialised, so
 * a changed helm value alone leaves the database on the old password, trap #19.)
 *
 * The new password is sent as a SCRAM-SHA-256 verifier computed here, like psql's \password, so the
 * clear text never reaches the server's statement log.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { retryable, scramVerifier, type AdminConnection } from '@hybridcloud-postgresql/core';

export type LoginResult = 'ok' | 'auth-failed' | 'unreachable';

export interface AdminSql {
  /** Tries to log in with these credentials. */
  tryLogin(conn: AdminConnection): Promise<LoginResult>;
  /** Logs in with `conn` and sets the password of role `role` (normally conn.user itself). */
  setPassword(conn: AdminConnection, role: string, newPassword: string, format?: PasswordFormat): Promise<void>;
  /** Creates (or updates) `role` as a login superuser with this password. */
  ensureSuperuser(conn: AdminConnection, role: string, password: string, format?: PasswordFormat): Promise<void>;
}

/**
 * How the password is sent: a SCRAM verifier (PostgreSQL ≥ 10), or an md5 verifier for YSQL, whose
 * default `md5` authentication also accepts it on every YugabyteDB release. Never the clear text.
 */
export type PasswordFormat = 'scram' | 'md5';

export function md5Verifier(password: string, role: string): string {
  return `md5${createHash('md5').update(password + role).digest('hex')}`;
}

function verifier(password: string, role: string, format: PasswordFormat = 'scram'): string {
  return format === 'md5' ? md5Verifier(password, role) : scramVerifier(password);
}

// One SCRAM implementation: core's SQL module's (re-exported for this package's tests).
export { scramVerifier };

function client(conn: AdminConnection): pg.Client {
  return new pg.Client({
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: conn.database,
    ssl: conn.ssl ? { rejectUnauthorized: false } : false,
    connectionTimeoutMillis: 10_000,
    statement_timeout: 30_000,
  });
}

export const pgAdminSql: AdminSql = {
  async tryLogin(conn) {
    const c = client(conn);
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('SELECT 1');
      return 'ok';
    } catch (err) {
      const code = (err as { code?: string }).code;
      // 28P01 invalid_password, 28000 invalid_authorization_specification (no such role / hba reject)
      if (code === '28P01' || code === '28000') return 'auth-failed';
      // An SQLSTATE means the server answered: something other than reachability is wrong (missing database …).
      if (code && /^[0-9A-Z]{5}$/.test(code)) throw retryable(`Logging in to ${conn.host}:${conn.port} as ${conn.user} failed: ${(err as Error).message}`, err, 'AdminLoginFailed');
      return 'unreachable';
    } finally {
      await c.end().catch(() => undefined);
    }
  },
  async setPassword(conn, role, newPassword, format) {
    const c = client(conn);
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query(`ALTER ROLE ${c.escapeIdentifier(role)} WITH PASSWORD ${c.escapeLiteral(verifier(newPassword, role, format))}`);
    } finally {
      await c.end().catch(() => undefined);
    }
  },
  async ensureSuperuser(conn, role, password, format) {
    const c = client(conn);
    c.on('error', () => undefined);
    try {
      await c.connect();
      const exists = (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 1;
      const verb = exists ? 'ALTER' : 'CREATE';
      await c.query(`${verb} ROLE ${c.escapeIdentifier(role)} WITH LOGIN SUPERUSER CREATEDB CREATEROLE PASSWORD ${c.escapeLiteral(verifier(password, role, format))}`);
    } finally {
      await c.end().catch(() => undefined);
    }
  },
};

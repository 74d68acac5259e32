/**
 * What an in-cluster backend needs on its server's admin login: trying a login, changing the admin
 * password inside the running server (the charts read their password only when the data directory
 * is initialised, so a changed helm value alone leaves the database on the old password, trap #19),
 * and the chart's custom admin user. The SQL itself lives in core's SQL module (pinned sessions,
 * quoted identifiers); this package only chooses the password verifier format.
 */
import { createHash } from 'node:crypto';
import {
  ensureSuperuserRole, scramVerifier, setRolePasswordVerifier, tryAdminLogin, type AdminConnection, type LoginResult,
} from '@hybridcloud-postgresql/core';

export type { LoginResult };

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

export const pgAdminSql: AdminSql = {
  tryLogin: (conn) => tryAdminLogin(conn),
  setPassword: (conn, role, newPassword, format) => setRolePasswordVerifier(conn, role, verifier(newPassword, role, format)),
  ensureSuperuser: (conn, role, password, format) => ensureSuperuserRole(conn, role, verifier(password, role, format)),
};

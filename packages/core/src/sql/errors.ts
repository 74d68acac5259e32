/**
 * Maps node-postgres / network errors to core's three error kinds. Messages are PostgreSQL's own
 * (they never echo statement text, so a password in a statement cannot leak through them).
 */
import { BackendError, retryable, terminal } from '../backend/errors.js';

interface PgLikeError {
  code?: string;
  message?: string;
}

/** SQLSTATEs caused by what the user asked for: retrying cannot help until the spec changes. */
const TERMINAL_CODES: Record<string, string> = {
  '22023': 'InvalidSpec', // invalid_parameter_value: unknown locale / encoding
  '42704': 'InvalidSpec', // undefined_object: unknown collation or template
  '0A000': 'InvalidSpec', // feature_not_supported
  '58P01': 'ExtensionUnavailable', // undefined_file: extension control file missing
  '42602': 'InvalidName', // invalid_name
  '42622': 'InvalidName', // name_too_long
  '22021': 'InvalidSpec', // character_not_in_repertoire: encoding mismatch
  '42809': 'InvalidSpec', // wrong_object_type: PostgreSQL's code for an invalid locale name
};

export function classifyPgError(err: unknown, doing: string, login?: string): BackendError {
  if (err instanceof BackendError) return err;
  const e = (err ?? {}) as PgLikeError;
  const message = `${doing}: ${e.message ?? String(err)}`;
  const code = e.code ?? '';
  const reason = TERMINAL_CODES[code];
  if (reason !== undefined) return terminal(reason, message, err);
  if (code === '28P01' || code === '28000') return retryable(message, err, 'AdminLoginFailed');
  if (code === '42501') return retryable(insufficientPrivilege(message, login), err, 'InsufficientPrivilege');
  if (code.startsWith('08') || /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|timeout/i.test(code + ' ' + (e.message ?? ''))) {
    return retryable(message, err, 'ServerUnreachable');
  }
  return retryable(message, err, 'SqlError');
}

/**
 * A plugin author's most likely first error: the backend's server login cannot create roles or
 * databases. Name the fix and the login.
 */
function insufficientPrivilege(message: string, login: string | undefined): string {
  return `${message}. The login core provisions through${login ? ` ('${login}')` : ''} lacks a privilege (CREATEROLE/CREATEDB or ownership); a backend whose server login is deliberately unprivileged returns a privileged login from its database.adminConnection hook (docs/plugins.md)`;
}

/**
 * SCRAM-SHA-256 verifiers computed client-side (RFC 5802/7677, PostgreSQL's pg_authid format).
 * CREATE ROLE … PASSWORD cannot take a bind parameter; sending the verifier instead of the clear
 * password keeps the password out of server logs (log_statement), pg_stat_statements and
 * statement-level audit tools, exactly as `psql \password` does.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export const SCRAM_ITERATIONS = 4096;

/** True when SASLprep is the identity for this password, so our hash equals the server's. */
export function isScramSafe(password: string): boolean {
  // Printable ASCII only: SASLprep maps/prohibits some non-ASCII code points (and ASCII controls).
  return /^[\x20-\x7e]+$/.test(password);
}

export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

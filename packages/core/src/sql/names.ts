/**
 * PostgreSQL names derived from Kubernetes names. The original injected names unquoted and let
 * PostgreSQL silently truncate them at 63 bytes, so the Secret's dbname/username could name a
 * different object than the one created. Here every name is checked and always quoted.
 */
import pg from 'pg';
import { terminal } from '../backend/errors.js';

/** NAMEDATALEN - 1: PostgreSQL truncates longer identifiers silently. */
export const MAX_IDENTIFIER_BYTES = 63;

/** metadata.name with '-' → '_' (as the original: existing databases keep their names). */
export function databaseNameFor(metadataName: string): string {
  return metadataName.replaceAll('-', '_');
}

/** Why a name cannot be used as an identifier, or undefined when it can. */
export function identifierProblem(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name.includes('\0')) return 'the name contains a NUL character';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES) {
    return `"${name}" is ${bytes} bytes long; PostgreSQL names are limited to ${MAX_IDENTIFIER_BYTES} bytes and would be truncated`;
  }
  return undefined;
}

/** Throws a terminal error (reason InvalidName) for names PostgreSQL would mangle. */
export function assertIdentifier(name: string, what = 'name'): string {
  const problem = identifierProblem(name);
  if (problem !== undefined) throw terminal('InvalidName', `invalid ${what}: ${problem}; choose a shorter metadata.name`);
  return name;
}

/** Quotes an identifier with pg's escapeIdentifier (libpq's rules), after the length check. */
export function quoteIdent(name: string): string {
  return pg.escapeIdentifier(assertIdentifier(name));
}

/**
 * Quotes a string literal for the few statements that cannot take parameters (CREATE DATABASE
 * options). pg's escapeLiteral uses the E'' form when backslashes occur, so the result does not
 * depend on standard_conforming_strings.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw terminal('InvalidSpec', 'a value contains a NUL character');
  return pg.escapeLiteral(value);
}

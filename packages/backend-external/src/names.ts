/**
 * Names on a physical server shared by many namespaces. Kubernetes names are unique only within
 * a namespace, so every name carries its namespace, in a form that cannot collide:
 *   server login:   <prefix><namespace>.<server name>        e.g. team-a.main
 *   database/role:  <prefix><namespace>_<database name, - → _>  e.g. team-a_orders_db
 * Namespaces contain neither '.' nor '_', so the first of them ends the namespace and tells the
 * kind apart; within a kind the rest is the (injective) CR name. Nothing is lossy-sanitised, so
 * two CRs never map to one role. Names over 63 bytes keep a readable head plus a hash of the
 * full name (PostgreSQL would otherwise truncate silently and merge distinct names).
 */
import { createHash } from 'node:crypto';
import { MAX_IDENTIFIER_BYTES, databaseNameFor } from '@hybridcloud-postgresql/core';

export function fitIdentifier(full: string): string {
  if (Buffer.byteLength(full, 'utf8') <= MAX_IDENTIFIER_BYTES) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 10);
  // Names here are ASCII (Kubernetes names), so slicing characters slices bytes.
  return `${full.slice(0, MAX_IDENTIFIER_BYTES - hash.length - 1)}~${hash}`;
}

export function serverRoleName(prefix: string, namespace: string, name: string): string {
  return fitIdentifier(`${prefix}${namespace}.${name}`);
}

export function databaseNames(prefix: string, namespace: string, name: string): { databaseName: string; userName: string } {
  const n = fitIdentifier(`${prefix}${namespace}_${databaseNameFor(name)}`);
  return { databaseName: n, userName: n };
}

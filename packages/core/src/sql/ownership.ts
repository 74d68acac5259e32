/**
 * What the operator created, recorded on the server itself: every role it creates carries a
 * comment naming the object it was created for (kind, namespace/name and metadata.uid). Only the
 * role is marked: a tenant owns its database and could rewrite the database's comment, but it can
 * neither comment on roles (needs CREATEROLE / ADMIN) nor create databases (no CREATEDB), so a
 * database is ours exactly when its owner is a role marked for the same object.
 *
 * The operator never re-passwords, re-owns or drops a role or database it cannot prove it made,
 * except where adoption was asked for (Claim.adopt: objects the Python operator left, or the
 * per-object annotation documented in the README) — and never a superuser or a role marked for
 * another object, adoption or not.
 */

/** The object a role or database is created for. */
export interface Claim {
  kind: 'PostgreSQLServer' | 'PostgreSQLDatabase';
  namespace: string;
  name: string;
  /** metadata.uid: survives nothing but the object itself (a re-created CR is another owner). */
  uid: string;
  /** Take over an existing unmarked role/database of this name (see adoptionAllowed in core). */
  adopt?: boolean;
}

export const MARKER_PREFIX = 'hybridcloud-postgresql-operator:';
/** Comment of the NOLOGIN role that receives objects of dropped roles (see SqlAdmin.dropRole). */
export const ORPHAN_MARKER = `${MARKER_PREFIX} owner of objects left by dropped roles`;
export const ORPHAN_ROLE = 'hybridcloud_orphaned_objects';

export function markerFor(c: Claim): string {
  return `${MARKER_PREFIX} ${c.kind} ${c.namespace}/${c.name} uid=${c.uid}`;
}

export interface Marker {
  kind: string;
  object: string;
  uid: string;
}

export function parseMarker(comment: string | null | undefined): Marker | undefined {
  if (!comment?.startsWith(MARKER_PREFIX)) return undefined;
  const m = /^\s*(\S+) (.*) uid=(.*)$/.exec(comment.slice(MARKER_PREFIX.length));
  return m ? { kind: m[1]!, object: m[2]!, uid: m[3]! } : undefined;
}

/** Facts about an existing role, read with one catalog query. */
export interface RoleFacts {
  name: string;
  superuser: boolean;
  createrole: boolean;
  createdb: boolean;
  replication: boolean;
  bypassrls: boolean;
  canLogin: boolean;
  comment: string | null;
  /** Databases it owns. */
  databases: string[];
}

/** Attributes a tenant role must never have. */
export function privilegedAttributes(r: RoleFacts): string[] {
  return [
    r.superuser ? 'SUPERUSER' : '', r.createrole ? 'CREATEROLE' : '', r.createdb ? 'CREATEDB' : '',
    r.replication ? 'REPLICATION' : '', r.bypassrls ? 'BYPASSRLS' : '',
  ].filter((a) => a !== '');
}

/** Who holds a role, for a NameTaken message a person can act on. */
export function describeHolder(r: RoleFacts): string {
  const marker = parseMarker(r.comment);
  if (marker) return `it belongs to ${marker.kind} ${marker.object} (uid ${marker.uid})`;
  const attrs = [...privilegedAttributes(r), r.canLogin ? 'LOGIN' : 'NOLOGIN'];
  const owns = r.databases.length > 0 ? `, owner of database${r.databases.length > 1 ? 's' : ''} ${r.databases.join(', ')}` : '';
  return `it was not created by the operator (${attrs.join(' ')}${owns})`;
}

export const ADOPT_HINT = 'rename the object, or annotate it with hybridcloud.maibornwolff.de/adopt=true to take the existing one over';

export type RoleClaim = { state: 'ours' } | { state: 'adopt' } | { state: 'taken'; message: string };

/** Whether `claim` may manage the existing role `r` (`asked`: attributes the operator gives it itself). */
export function judgeRole(r: RoleFacts, claim: Claim, asked: readonly string[] = []): RoleClaim {
  const marker = parseMarker(r.comment);
  const privileged = privilegedAttributes(r).filter((a) => !asked.includes(a));
  if (r.superuser) return { state: 'taken', message: `role ${r.name} already exists and is a superuser; the operator never manages it` };
  if (marker?.uid === claim.uid) {
    // Ours, but someone with more rights than a tenant gave it attributes: say so, do not use it.
    if (privileged.length > 0) return { state: 'taken', message: `role ${r.name} was created by the operator but has ${privileged.join(', ')} now; remove them (ALTER ROLE) to let the operator manage it again` };
    return { state: 'ours' };
  }
  if (marker || r.comment === ORPHAN_MARKER) return { state: 'taken', message: `role ${r.name} is taken: ${describeHolder(r)}` };
  if (!claim.adopt) return { state: 'taken', message: `role ${r.name} is taken: ${describeHolder(r)}; ${ADOPT_HINT}` };
  if (privileged.length > 0) return { state: 'taken', message: `role ${r.name} has ${privileged.join(', ')} and cannot be adopted as a tenant role` };
  return { state: 'adopt' };
}

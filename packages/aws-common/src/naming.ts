import { createHash } from 'node:crypto';
/** Names of RDS resources: deterministic from the CR, checked against RDS's identifier rules. */

export interface NameOverride {
  namespace: string;
  name: string;
  aws_identifier: string;
}

/** `name_overrides` entry for the object, else `name_pattern` with {namespace} and {name}. */
export function awsIdentifier(cfg: { name_pattern: string; name_overrides?: NameOverride[] | undefined }, namespace: string, name: string): string {
  const override = cfg.name_overrides?.find((o) => o.namespace === namespace && o.name === name);
  if (override) return override.aws_identifier;
  return formatPattern(cfg.name_pattern, { namespace, name });
}

export function formatPattern(pattern: string, vars: Record<string, string>): string {
  return pattern.replace(/\{(\w+)\}/g, (whole, key: string) => vars[key] ?? whole);
}

/**
 * RDS DB instance / cluster identifier rules: 1–63 letters, digits or hyphens, first a letter,
 * no trailing hyphen, no two consecutive hyphens. Returns a problem message or undefined.
 */
export function identifierProblem(id: string, maxLength = 63): string | undefined {
  if (id.length === 0) return 'the AWS identifier is empty';
  if (id.length > maxLength) return `the AWS identifier '${id}' is ${id.length} characters long, at most ${maxLength} are allowed (shorten the name or change name_pattern)`;
  if (!/^[A-Za-z]/.test(id)) return `the AWS identifier '${id}' must start with a letter (adjust name_pattern, e.g. a prefix)`;
  if (!/^[A-Za-z0-9-]+$/.test(id)) return `the AWS identifier '${id}' may only contain letters, digits and hyphens`;
  if (id.endsWith('-') || id.includes('--')) return `the AWS identifier '${id}' must not end with a hyphen or contain two consecutive hyphens`;
  return undefined;
}

/**
 * Identifier of the final snapshot taken on delete: derived from the instance identifier and the
 * CR's uid, so every retry (and a restarted operator) uses the same name, while a re-created CR
 * with the same name gets its own snapshot.
 */
export function finalSnapshotIdentifier(identifier: string, uid: string): string {
  const suffix = `-final-${uid.replace(/[^A-Za-z0-9]/g, '').slice(0, 8).toLowerCase() || 'snapshot'}`;
  return `${identifier.slice(0, 255 - suffix.length)}${suffix}`;
}

/**
 * A tag for "this password was sent to AWS", kept in the CR's backend state so that a password
 * change is requested once, not on every reconcile until AWS has applied it. Never the password.
 */
export function passwordChangeTag(uid: string, password: string): string {
  return createHash('sha256').update(`${uid}:${password}`).digest('hex').slice(0, 32);
}

/**
 * Virtual backend sections (`azure`, `aws`): every key there is a fallback for the backends that
 * name it as `configParent`, key by key. Objects (network, parameters, tags) merge deeply; lists
 * and scalars from the specific section win as a whole. `null` means "not set" (the original
 * treated None as missing), so it never shadows a parent value.
 */
import type { TSchema } from '@sinclair/typebox';
import { childSchema, isPlainObject, schemaTypes } from './schemaWalk.js';

/** Removes null values recursively (null = unset). */
export function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = stripNulls(v);
  return out;
}

/**
 * The child's effective section: parent keys the child's schema knows, overridden by the child's
 * own. Parent keys the child does not know are left out (they may belong to a sibling).
 */
export function mergeParent(parent: Record<string, unknown>, child: Record<string, unknown>, schema: TSchema | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...child };
  for (const [key, pv] of Object.entries(parent)) {
    const sub = childSchema(schema, key);
    if (!sub) continue;
    const cv = out[key];
    if (cv === undefined) out[key] = structuredClone(pv);
    else if (isPlainObject(cv) && isPlainObject(pv) && schemaTypes(sub).has('object')) out[key] = mergeParent(pv, cv, sub);
  }
  return out;
}

/** Leaf paths of the parent section no child schema knows. */
export function keysUnknownToAll(parent: Record<string, unknown>, childSchemas: readonly TSchema[], prefix: string[] = []): string[][] {
  const unknown: string[][] = [];
  for (const [key, value] of Object.entries(parent)) {
    const subs = childSchemas.map((s) => childSchema(s, key)).filter((s): s is TSchema => s !== undefined);
    if (subs.length === 0) unknown.push([...prefix, key]);
    else if (isPlainObject(value)) {
      const objectSubs = subs.filter((s) => schemaTypes(s).has('object'));
      if (objectSubs.length > 0) unknown.push(...keysUnknownToAll(value, objectSubs, [...prefix, key]));
    }
  }
  return unknown;
}

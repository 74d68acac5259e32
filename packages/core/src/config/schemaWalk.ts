/**
 * Small helpers to navigate JSON schemas (as TypeBox emits them) by key. Used to resolve
 * HYBRIDCLOUD_* overrides against the schema and to decide which virtual-parent keys a backend
 * understands.
 */
import type { TSchema } from '@sinclair/typebox';

type Json = Record<string, unknown>;

const asObj = (s: unknown): Json | undefined => (s && typeof s === 'object' ? (s as Json) : undefined);

/** Members of a union (anyOf/oneOf), or the schema itself. */
export function variants(schema: TSchema | undefined): Json[] {
  const s = asObj(schema);
  if (!s) return [];
  const members = (s['anyOf'] ?? s['oneOf']) as unknown[] | undefined;
  return Array.isArray(members) ? members.flatMap((m) => variants(m as TSchema)) : [s];
}

/** Declared property names of an object schema (all union members). */
export function propertyKeys(schema: TSchema | undefined): string[] {
  const keys = new Set<string>();
  for (const v of variants(schema)) for (const k of Object.keys(asObj(v['properties']) ?? {})) keys.add(k);
  return [...keys];
}

/** The schema of arbitrary keys (records, additionalProperties), if any key is allowed. */
export function additionalSchema(schema: TSchema | undefined): TSchema | undefined {
  for (const v of variants(schema)) {
    const pattern = asObj(v['patternProperties']);
    if (pattern) {
      const first = Object.values(pattern)[0];
      if (first) return first as TSchema;
    }
    const add = v['additionalProperties'];
    if (add === true) return {} as TSchema;
    if (asObj(add)) return add as TSchema;
  }
  return undefined;
}

/** Schema of `key` inside an object schema; undefined when the key is not allowed there. */
export function childSchema(schema: TSchema | undefined, key: string): TSchema | undefined {
  const found: TSchema[] = [];
  for (const v of variants(schema)) {
    const prop = asObj(v['properties'])?.[key];
    if (prop) found.push(prop as TSchema);
  }
  if (found.length === 1) return found[0];
  if (found.length > 1) return { anyOf: found } as unknown as TSchema;
  return additionalSchema(schema);
}

/** Schema at a path, or undefined when some key on the way is unknown. */
export function schemaAt(schema: TSchema | undefined, path: readonly string[]): TSchema | undefined {
  let cur = schema;
  for (const key of path) {
    cur = childSchema(cur, key);
    if (!cur) return undefined;
  }
  return cur;
}

/** JSON types a schema accepts ('unknown' when it does not say, e.g. Type.Unknown()). */
export function schemaTypes(schema: TSchema | undefined): Set<string> {
  const types = new Set<string>();
  for (const v of variants(schema)) {
    const t = v['type'];
    if (typeof t === 'string') types.add(t);
    else if (Array.isArray(t)) for (const x of t) types.add(String(x));
    else if ('const' in v) types.add(typeof v['const'] === 'string' ? 'string' : typeof v['const']);
    else types.add('unknown');
  }
  if (types.size === 0) types.add('unknown');
  return types;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Runs a TypeBox schema over a value and turns the errors into dotted-path problems. */
import type { TSchema } from '@sinclair/typebox';
import { Value, type ValueError } from '@sinclair/typebox/value';
import type { ConfigProblem } from './errors.js';
import { isSecretKey } from './render.js';
import { isPlainObject, variants } from './schemaWalk.js';

/** The offending value for a message: never a credential's, never a wall of JSON. */
function shown(e: ValueError): string {
  const key = e.path.split('/').pop() ?? '';
  if (isSecretKey(key) && e.value !== undefined) return '<redacted>';
  const text = JSON.stringify(e.value) ?? 'nothing';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function describe(e: ValueError): string {
  const s = e.schema;
  if (e.message.startsWith('Unexpected property')) return 'unknown key';
  if (e.message.startsWith('Expected required property')) return 'required key is missing';
  const consts = variants(s).map((v) => v['const']).filter((c) => c !== undefined);
  if (consts.length > 0 && consts.length === variants(s).length) {
    return `must be one of ${consts.map((c) => JSON.stringify(c)).join(', ')}, got ${shown(e)}`;
  }
  return `${e.message.replace(/^Expected/, 'expected')}, got ${shown(e)}`;
}

export function toDotted(pointer: string): string[] {
  return pointer.split('/').slice(1).map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Problems of `value` against `schema`; one per offending key, paths prefixed with `prefix`. */
export function validateValue(schema: TSchema, value: unknown, prefix: readonly string[] = []): Array<ConfigProblem & { segments: string[] }> {
  const seen = new Set<string>();
  const problems: Array<ConfigProblem & { segments: string[] }> = [];
  for (const e of Value.Errors(schema, value)) {
    const segments = [...prefix, ...toDotted(e.path)];
    const path = segments.join('.');
    if (seen.has(path)) continue;
    seen.add(path);
    problems.push({ path, segments, message: describe(e) });
  }
  return problems;
}

/**
 * Defaults applied on a copy (TypeBox's Default mutates). TypeBox does not descend into the
 * values of a Record (e.g. `classes.<name>.storage_type`), so those are filled in here as well.
 */
export function withDefaults<T>(schema: TSchema, value: unknown): T {
  return recordDefaults(schema, Value.Default(schema, structuredClone(value))) as T;
}

function recordDefaults(schema: TSchema, value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = schema['items'] as TSchema | undefined;
    return items ? value.map((v) => recordDefaults(items, v)) : value;
  }
  if (!isPlainObject(value)) return value;
  const props = (schema['properties'] ?? {}) as Record<string, TSchema>;
  const patterns = Object.values((schema['patternProperties'] ?? {}) as Record<string, TSchema>);
  for (const [key, v] of Object.entries(value)) {
    const prop = props[key];
    if (prop) value[key] = recordDefaults(prop, v);
    else if (patterns[0]) value[key] = recordDefaults(patterns[0], Value.Default(patterns[0], v));
  }
  return value;
}

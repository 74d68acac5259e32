/**
 * TypeBox (JSON Schema) → Kubernetes structural schema (apiextensions.k8s.io/v1 JSONSchemaProps).
 * Kubernetes accepts a subset of OpenAPI v3: no `const`, `$id`, `patternProperties`,
 * `uniqueItems: true`, and a `type` on every node. Unions are only allowed for the shapes the
 * API uses (string literals → enum, `X | null` → nullable); anything else is a build-time error
 * naming the field, so a schema change cannot silently produce an invalid CRD.
 */
export type JSONSchemaProps = Record<string, unknown>;

const COPY = [
  'description', 'type', 'format', 'default', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'multipleOf', 'enum', 'nullable', 'example',
];

export function toStructural(schema: unknown, path = ''): JSONSchemaProps {
  const s = schema as Record<string, unknown>;
  const where = path || '(root)';
  const union = (s['anyOf'] ?? s['oneOf']) as Array<Record<string, unknown>> | undefined;
  if (union) {
    const nonNull = union.filter((m) => m['type'] !== 'null');
    const nullable = nonNull.length < union.length;
    let base: JSONSchemaProps;
    if (nonNull.length > 0 && nonNull.every((m) => 'const' in m && typeof m['const'] === 'string')) {
      base = { type: 'string', enum: nonNull.map((m) => m['const']) };
    } else if (nonNull.length === 1) {
      base = toStructural(nonNull[0], path);
    } else {
      throw new Error(`${where}: unions other than string literals or X|null cannot be expressed in a structural schema`);
    }
    return withExtensions(s, { ...base, ...pick(s, ['description', 'default']), ...(nullable ? { nullable: true } : {}) });
  }
  if ('const' in s) return withExtensions(s, { ...pick(s, COPY), type: typeof s['const'], enum: [s['const']] });
  const out: JSONSchemaProps = pick(s, COPY);
  if (typeof out['type'] !== 'string') throw new Error(`${where}: every node of a structural schema needs a single type`);
  if (s['uniqueItems'] === true) throw new Error(`${where}: uniqueItems is not allowed in CRDs; use x-kubernetes-list-type: set`);
  if (out['type'] === 'object') {
    const props = s['properties'] as Record<string, unknown> | undefined;
    if (props && Object.keys(props).length > 0) {
      out['properties'] = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, toStructural(v, path ? `${path}.${k}` : k)]));
    }
    const required = s['required'] as string[] | undefined;
    if (required?.length) out['required'] = [...required];
    const pattern = s['patternProperties'] as Record<string, unknown> | undefined;
    const additional = pattern ? Object.values(pattern)[0] : s['additionalProperties'];
    if (additional && typeof additional === 'object') out['additionalProperties'] = toStructural(additional, `${path}[*]`);
  }
  if (out['type'] === 'array') out['items'] = toStructural(s['items'], `${path}[]`);
  return withExtensions(s, out);
}

function pick(s: Record<string, unknown>, keys: readonly string[]): JSONSchemaProps {
  const out: JSONSchemaProps = {};
  for (const k of keys) if (s[k] !== undefined) out[k] = s[k];
  return out;
}

/** Kubernetes extensions (x-kubernetes-validations, list types, preserve-unknown) are copied as is. */
function withExtensions(s: Record<string, unknown>, out: JSONSchemaProps): JSONSchemaProps {
  for (const [k, v] of Object.entries(s)) if (k.startsWith('x-kubernetes-')) out[k] = v;
  return out;
}

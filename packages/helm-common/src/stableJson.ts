/** JSON with sorted object keys, for comparing desired helm values with the deployed ones. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sort(value));
}

function sort(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sort);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, sort((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * Reading and changing helm values (nested plain objects), shared by the chart profiles: the
 * bitnami and yugabyte charts keep the same facts under different keys (`image` vs `Image`).
 */

/** The value at `path`, or undefined when any step is missing or not an object. */
export function valueAt(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const k of path) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
}

/** A string or number as a string (helm values may hold either); anything else is undefined. */
export const asString = (v: unknown): string | undefined => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);

/** `<imageKey>.tag` of the values. */
export function valuesImageTagAt(values: Record<string, unknown>, imageKey: string): string | undefined {
  return asString(valueAt(values, [imageKey, 'tag']));
}

/** A copy of the values with `<imageKey>.tag` set, the rest of the image section kept. */
export function withImageTagAt(values: Record<string, unknown>, imageKey: string, tag: string): Record<string, unknown> {
  const out = structuredClone(values);
  out[imageKey] = { ...((out[imageKey] as Record<string, unknown> | undefined) ?? {}), tag };
  return out;
}

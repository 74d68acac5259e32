/** Tags the operator puts on servers: who owns it, plus the admin's extra tags. */
export const TAG_NAMESPACE = 'hybridcloud-postgresql-operator:namespace';
export const TAG_NAME = 'hybridcloud-postgresql-operator:name';
export const TAG_MARKED_FOR_DELETION = 'hybridcloud-postgresql-operator:marked-for-deletion';

export function operatorTags(extra: Readonly<Record<string, string>>, s: { namespace: string; name: string }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(extra)) {
    out[k.replaceAll('{namespace}', s.namespace).replaceAll('{name}', s.name)] = v.replaceAll('{namespace}', s.namespace).replaceAll('{name}', s.name);
  }
  out[TAG_NAMESPACE] = s.namespace;
  out[TAG_NAME] = s.name;
  return out;
}

/** Keys of `wanted` whose value differs in `live` (tags added by others are left alone). */
export function missingTags(wanted: Readonly<Record<string, string>>, live: Readonly<Record<string, string>> | undefined): string[] {
  return Object.entries(wanted)
    .filter(([k, v]) => live?.[k] !== v)
    .map(([k]) => k);
}

/** The tag set to send: ARM replaces tags as a whole, so the live ones are kept. */
export function mergedTags(live: Readonly<Record<string, string>> | undefined, wanted: Readonly<Record<string, string>>): Record<string, string> {
  return { ...(live ?? {}), ...wanted };
}

/** 'ours' when tagged for this object, 'untagged' when no owner tags, else the foreign owner. */
export function ownership(live: Readonly<Record<string, string>> | undefined, s: { namespace: string; name: string }): 'ours' | 'untagged' | { owner: string } {
  const ns = live?.[TAG_NAMESPACE];
  const name = live?.[TAG_NAME];
  if (ns === undefined && name === undefined) return 'untagged';
  if (ns === s.namespace && name === s.name) return 'ours';
  return { owner: `${ns ?? '?'}/${name ?? '?'}` };
}

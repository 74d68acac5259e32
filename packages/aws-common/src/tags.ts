import type { Tag } from '@aws-sdk/client-rds';
import { formatPattern } from './naming.js';

/** Tag keys of the Python operator, kept so that servers it created are recognised. */
export const TAG_NAMESPACE = 'hybridcloud-postgresql-operator:namespace';
export const TAG_NAME = 'hybridcloud-postgresql-operator:name';
/** New: the CR's uid, telling a re-created CR of the same name apart. */
export const TAG_UID = 'hybridcloud-postgresql-operator:uid';

/** Operator tags plus the admin's `tags` with {namespace}/{name} filled in. Operator tags win. */
export function desiredTags(configTags: Record<string, string>, req: { namespace: string; name: string; uid: string }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(configTags)) {
    const vars = { namespace: req.namespace, name: req.name };
    out[formatPattern(k, vars)] = formatPattern(String(v), vars);
  }
  out[TAG_NAMESPACE] = req.namespace;
  out[TAG_NAME] = req.name;
  if (req.uid) out[TAG_UID] = req.uid;
  return out;
}

export function toTagList(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function fromTagList(list: readonly Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of list ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/** Tags to add or change so that `live` contains `desired`. Other tags on the resource are left alone. */
export function missingTags(desired: Record<string, string>, live: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(desired)) if (live[k] !== v) out[k] = v;
  return out;
}

/**
 * The tags a diff should add, split: the uid tag alone on a server that has no uid tag at all
 * (one the Python operator created: it tagged only namespace and name) is `deferred`, so that
 * adopting such a server writes nothing (issue 15); it is added with the next change that writes
 * anyway. Any other missing tag is added at once, the uid tag with it.
 */
export function tagChanges(desired: Record<string, string>, live: Record<string, string>): { tags: Record<string, string>; deferredTags: Record<string, string> } {
  const missing = missingTags(desired, live);
  const keys = Object.keys(missing);
  if (keys.length === 1 && keys[0] === TAG_UID && live[TAG_UID] === undefined) return { tags: {}, deferredTags: missing };
  return { tags: missing, deferredTags: {} };
}

export type Ownership = 'ours' | 'untagged' | { owner: string };

/** Whose server is this? Decided by the namespace/name tags; the uid may differ after a re-create. */
export function ownership(live: Record<string, string>, req: { namespace: string; name: string }): Ownership {
  const ns = live[TAG_NAMESPACE];
  const name = live[TAG_NAME];
  if (ns === undefined && name === undefined) return 'untagged';
  if (ns === req.namespace && name === req.name) return 'ours';
  return { owner: `${ns ?? '?'}/${name ?? '?'}` };
}

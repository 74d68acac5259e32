/** Which API collection a helper or informer works on. */
import { DATABASE_KIND, GROUP, SERVER_KIND, VERSION } from '../api/schema.js';

export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const SERVER_RESOURCE: ResourceType = { group: GROUP, version: VERSION, plural: SERVER_KIND.plural, kind: SERVER_KIND.kind, namespaced: true };
export const DATABASE_RESOURCE: ResourceType = { group: GROUP, version: VERSION, plural: DATABASE_KIND.plural, kind: DATABASE_KIND.kind, namespaced: true };
export const SECRET_RESOURCE: ResourceType = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
export const CONFIGMAP_RESOURCE: ResourceType = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
export const EVENT_RESOURCE: ResourceType = { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true };
export const LEASE_RESOURCE: ResourceType = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true };

export const apiVersionOf = (r: ResourceType): string => (r.group ? `${r.group}/${r.version}` : r.version);

/** The REST path of the collection, cluster-wide when namespace is undefined. */
export function collectionPath(r: ResourceType, namespace?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return namespace && r.namespaced ? `${base}/namespaces/${encodeURIComponent(namespace)}/${r.plural}` : `${base}/${r.plural}`;
}

/** The REST path of one object, or of its collection when `name` is undefined (where a create POSTs). */
export function objectPath(r: ResourceType, namespace: string | undefined, name?: string): string {
  const collection = collectionPath(r, namespace);
  return name === undefined ? collection : `${collection}/${encodeURIComponent(name)}`;
}

/** The work-queue key of an object: "namespace/name" (or "name" when cluster-scoped). */
export const objectKey = (namespace: string | undefined, name: string): string => (namespace ? `${namespace}/${name}` : name);

export function parseKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

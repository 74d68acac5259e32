/**
 * Thin typed helpers for our custom resources and the few core objects the operator touches
 * (Secrets, ConfigMaps), over core's keep-alive JSON client (KubeHttp; no client-node at run
 * time, see kube/connection.ts). Every error leaves as a KubeApiError (status code, reason,
 * message) except "not found" on reads, which is `undefined`. Merge patches carry their content
 * type explicitly.
 */
import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { KubeHttp } from '../reconcile/kubeHttp.js';
import type { KubeConnection } from './connection.js';
import { orUndefined, toKubeError } from './errors.js';
import { collectionPath, objectPath, SECRET_RESOURCE, type ResourceType } from './resource.js';

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continueToken?: string;
}

export interface KubeList<T> {
  items: T[];
  /** Typed core lists (V1ListMeta) name the token `_continue`; raw custom-object lists `continue`. */
  metadata?: { resourceVersion?: string; continue?: string; _continue?: string };
}

/** The continue token of a list page, whichever way client-node deserialised it. */
export const continueOf = (page: KubeList<unknown>): string | undefined => page.metadata?._continue || page.metadata?.continue || undefined;

export interface MetadataPatch {
  /** Precondition: the patch fails with 409 when the object changed since this version. */
  resourceVersion?: string;
  finalizers?: string[];
  /** null removes a key (merge-patch semantics). */
  labels?: Record<string, string | null>;
  annotations?: Record<string, string | null>;
}

const MERGE = 'application/merge-patch+json';

async function wrap<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw toKubeError(err, what);
  }
}

const SUPPORTED_CORE = new Set(['secrets', 'configmaps']);

export class KubeClient {
  private readonly http: KubeHttp;

  constructor(readonly kubeConfig: KubeConnection) {
    this.http = new KubeHttp(kubeConfig);
  }

  private objectPath(r: ResourceType, namespace: string, name: string, what: string): string {
    if (!r.group && !SUPPORTED_CORE.has(r.plural)) throw new Error(`KubeClient.${what}: unsupported core resource ${r.plural}`);
    return objectPath(r, namespace, name);
  }

  /** Reads one object; undefined when it does not exist. */
  async get<T extends KubernetesObject>(r: ResourceType, namespace: string, name: string): Promise<T | undefined> {
    return wrap(`get ${r.kind} ${namespace}/${name}`, orUndefined(this.http.request<T>('GET', this.objectPath(r, namespace, name, 'get'))));
  }

  /** One page of a list (informers page through it with limit/continue). */
  async list<T extends KubernetesObject>(r: ResourceType, o: ListOptions = {}): Promise<KubeList<T>> {
    if (!r.group && !SUPPORTED_CORE.has(r.plural)) throw new Error(`KubeClient.list: unsupported core resource ${r.plural}`);
    const q = new URLSearchParams();
    if (o.labelSelector) q.set('labelSelector', o.labelSelector);
    if (o.fieldSelector) q.set('fieldSelector', o.fieldSelector);
    if (o.limit) q.set('limit', String(o.limit));
    if (o.continueToken) q.set('continue', o.continueToken);
    const query = q.size ? `?${q}` : '';
    return wrap(`list ${r.plural}${o.namespace ? ` in ${o.namespace}` : ''}`, this.http.request<KubeList<T>>('GET', `${collectionPath(r, o.namespace)}${query}`));
  }

  /** Every page of a list; resourceVersion is the list's (for a following watch). */
  async listAll<T extends KubernetesObject>(r: ResourceType, o: Omit<ListOptions, 'continueToken'> = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.list<T>(r, { limit: 500, ...o, ...(continueToken ? { continueToken } : {}) });
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      continueToken = continueOf(page);
    } while (continueToken);
    return { items, resourceVersion };
  }

  /**
   * Merge-patches metadata (finalizers, labels, annotations). Pass resourceVersion when
   * replacing a list such as finalizers, so a concurrent writer gets a 409 instead of being
   * overwritten. Returns the updated object, or undefined when it is gone.
   */
  async patchMetadata<T extends KubernetesObject>(r: ResourceType, namespace: string, name: string, patch: MetadataPatch): Promise<T | undefined> {
    return wrap(`patch metadata of ${r.kind} ${namespace}/${name}`, orUndefined(this.http.request<T>('PATCH', this.objectPath(r, namespace, name, 'patchMetadata'), { metadata: patch }, MERGE)));
  }

  /** Merge-patches the /status subresource of a custom resource; undefined when it is gone. */
  async patchStatus<T extends KubernetesObject>(r: ResourceType, namespace: string, name: string, status: object, o: { resourceVersion?: string } = {}): Promise<T | undefined> {
    const body = { ...(o.resourceVersion ? { metadata: { resourceVersion: o.resourceVersion } } : {}), status };
    return wrap(`patch status of ${r.kind} ${namespace}/${name}`, orUndefined(this.http.request<T>('PATCH', `${this.objectPath(r, namespace, name, 'patchStatus')}/status`, body, MERGE)));
  }

  /** Adds a finalizer unless present (precondition: the object's resourceVersion). */
  async addFinalizer<T extends KubernetesObject>(r: ResourceType, obj: T, finalizer: string): Promise<T | undefined> {
    const current = obj.metadata?.finalizers ?? [];
    if (current.includes(finalizer)) return obj;
    return this.patchMetadata<T>(r, obj.metadata!.namespace!, obj.metadata!.name!, { resourceVersion: obj.metadata!.resourceVersion!, finalizers: [...current, finalizer] });
  }

  /** Removes finalizers (precondition: the object's resourceVersion). */
  async removeFinalizers<T extends KubernetesObject>(r: ResourceType, obj: T, ...finalizers: string[]): Promise<T | undefined> {
    const current = obj.metadata?.finalizers ?? [];
    if (!current.some((f) => finalizers.includes(f))) return obj;
    return this.patchMetadata<T>(r, obj.metadata!.namespace!, obj.metadata!.name!, { resourceVersion: obj.metadata!.resourceVersion!, finalizers: current.filter((f) => !finalizers.includes(f)) });
  }

  // --- Secrets -------------------------------------------------------------------------------

  getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    return wrap(`get Secret ${namespace}/${name}`, orUndefined(this.http.request<V1Secret>('GET', secretPath(namespace, name))));
  }

  createSecret(secret: V1Secret): Promise<V1Secret> {
    const namespace = secret.metadata!.namespace!;
    return wrap(`create Secret ${namespace}/${secret.metadata?.name}`, this.http.request<V1Secret>('POST', secretPath(namespace), secret));
  }

  /** PUT; with metadata.resourceVersion set, a concurrent change makes it fail with 409. */
  replaceSecret(secret: V1Secret): Promise<V1Secret> {
    const namespace = secret.metadata!.namespace!;
    const name = secret.metadata!.name!;
    return wrap(`replace Secret ${namespace}/${name}`, this.http.request<V1Secret>('PUT', secretPath(namespace, name), secret));
  }

  /** Deletes; true when it existed. */
  async deleteSecret(namespace: string, name: string, o: { resourceVersion?: string } = {}): Promise<boolean> {
    const body = o.resourceVersion ? { preconditions: { resourceVersion: o.resourceVersion } } : undefined;
    const r = await wrap(`delete Secret ${namespace}/${name}`, orUndefined(this.http.request<unknown>('DELETE', secretPath(namespace, name), body)));
    return r !== undefined;
  }

  /** Closes the keep-alive connections. */
  close(): void {
    this.http.close();
  }
}

const secretPath = (namespace: string, name?: string): string => objectPath(SECRET_RESOURCE, namespace, name);

/**
 * Thin typed helpers over client-node 2.x for our custom resources and the few core objects the
 * operator touches (Secrets, ConfigMaps). Every error leaves as a KubeApiError (status code,
 * reason, message) except "not found" on reads, which is `undefined`.
 *
 * Merge patches always carry the explicit content type: client-node's generated code defaults to
 * JSON-Patch, and a merge-style body sent as JSON-Patch is rejected (toolchain-notes §1).
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Secret,
} from '@kubernetes/client-node';
import { isNotFound, toKubeError } from './errors.js';
import type { ResourceType } from './resource.js';

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

const mergePatch = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function wrap<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw toKubeError(err, what);
  }
}

export class KubeClient {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;

  constructor(readonly kubeConfig: KubeConfig) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  /** Reads one object; undefined when it does not exist. */
  async get<T extends KubernetesObject>(r: ResourceType, namespace: string, name: string): Promise<T | undefined> {
    const what = `get ${r.kind} ${namespace}/${name}`;
    if (r.group) {
      return wrap(what, orUndefined(this.custom.getNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace, name }) as Promise<T>));
    }
    switch (r.plural) {
      case 'secrets':
        return wrap(what, orUndefined(this.core.readNamespacedSecret({ namespace, name }) as Promise<T>));
      case 'configmaps':
        return wrap(what, orUndefined(this.core.readNamespacedConfigMap({ namespace, name }) as Promise<T>));
      default:
        throw new Error(`KubeClient.get: unsupported core resource ${r.plural}`);
    }
  }

  /** One page of a list (informers page through it with limit/continue). */
  async list<T extends KubernetesObject>(r: ResourceType, o: ListOptions = {}): Promise<KubeList<T>> {
    const q = {
      ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}),
      ...(o.fieldSelector ? { fieldSelector: o.fieldSelector } : {}),
      ...(o.limit ? { limit: o.limit } : {}),
      ...(o.continueToken ? { _continue: o.continueToken } : {}),
    };
    const what = `list ${r.plural}${o.namespace ? ` in ${o.namespace}` : ''}`;
    if (r.group) {
      const g = { group: r.group, version: r.version, plural: r.plural };
      return wrap(
        what,
        (o.namespace ? this.custom.listNamespacedCustomObject({ ...g, namespace: o.namespace, ...q }) : this.custom.listClusterCustomObject({ ...g, ...q })) as Promise<KubeList<T>>,
      );
    }
    switch (r.plural) {
      case 'secrets':
        return wrap(what, (o.namespace ? this.core.listNamespacedSecret({ namespace: o.namespace, ...q }) : this.core.listSecretForAllNamespaces(q)) as Promise<KubeList<T>>);
      case 'configmaps':
        return wrap(what, (o.namespace ? this.core.listNamespacedConfigMap({ namespace: o.namespace, ...q }) : this.core.listConfigMapForAllNamespaces(q)) as Promise<KubeList<T>>);
      default:
        throw new Error(`KubeClient.list: unsupported core resource ${r.plural}`);
    }
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
    const body = { metadata: patch };
    const what = `patch metadata of ${r.kind} ${namespace}/${name}`;
    if (r.group) {
      return wrap(what, orUndefined(this.custom.patchNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace, name, body }, mergePatch()) as Promise<T>));
    }
    switch (r.plural) {
      case 'secrets':
        return wrap(what, orUndefined(this.core.patchNamespacedSecret({ namespace, name, body }, mergePatch()) as Promise<T>));
      case 'configmaps':
        return wrap(what, orUndefined(this.core.patchNamespacedConfigMap({ namespace, name, body }, mergePatch()) as Promise<T>));
      default:
        throw new Error(`KubeClient.patchMetadata: unsupported core resource ${r.plural}`);
    }
  }

  /** Merge-patches the /status subresource of a custom resource; undefined when it is gone. */
  async patchStatus<T extends KubernetesObject>(r: ResourceType, namespace: string, name: string, status: object, o: { resourceVersion?: string } = {}): Promise<T | undefined> {
    const body = { ...(o.resourceVersion ? { metadata: { resourceVersion: o.resourceVersion } } : {}), status };
    return wrap(
      `patch status of ${r.kind} ${namespace}/${name}`,
      orUndefined(this.custom.patchNamespacedCustomObjectStatus({ group: r.group, version: r.version, plural: r.plural, namespace, name, body }, mergePatch()) as Promise<T>),
    );
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
    return wrap(`get Secret ${namespace}/${name}`, orUndefined(this.core.readNamespacedSecret({ namespace, name })));
  }

  createSecret(secret: V1Secret): Promise<V1Secret> {
    const namespace = secret.metadata!.namespace!;
    return wrap(`create Secret ${namespace}/${secret.metadata?.name}`, this.core.createNamespacedSecret({ namespace, body: secret }));
  }

  /** PUT; with metadata.resourceVersion set, a concurrent change makes it fail with 409. */
  replaceSecret(secret: V1Secret): Promise<V1Secret> {
    const namespace = secret.metadata!.namespace!;
    const name = secret.metadata!.name!;
    return wrap(`replace Secret ${namespace}/${name}`, this.core.replaceNamespacedSecret({ namespace, name, body: secret }));
  }

  /** Deletes; true when it existed. */
  async deleteSecret(namespace: string, name: string, o: { resourceVersion?: string } = {}): Promise<boolean> {
    const body = o.resourceVersion ? { preconditions: { resourceVersion: o.resourceVersion } } : undefined;
    const r = await wrap(`delete Secret ${namespace}/${name}`, orUndefined(this.core.deleteNamespacedSecret({ namespace, name, ...(body ? { body } : {}) })));
    return r !== undefined;
  }
}

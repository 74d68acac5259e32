/** Builds informers for a resource type: cluster-wide, or one per watched namespace. */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.js';
import type { KubeClient } from '../kube/client.js';
import { collectionPath, type ResourceType } from '../kube/resource.js';
import { Informer, InformerGroup, type InformerOptions, type ObjectInformer } from './informer.js';

export interface ResourceInformerOptions extends Omit<InformerOptions, 'name'> {
  /** Empty or undefined: all namespaces (one cluster-wide watch). */
  namespaces?: readonly string[];
  labelSelector?: string;
  fieldSelector?: string;
  name?: string;
}

export function createResourceInformer<T extends KubernetesObject>(kubeConfig: KubeConnection, client: KubeClient, r: ResourceType, o: ResourceInformerOptions): ObjectInformer<T> {
  const name = o.name ?? r.plural;
  const selectors = { ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}), ...(o.fieldSelector ? { fieldSelector: o.fieldSelector } : {}) };
  const one = (namespace: string | undefined) =>
    new Informer<T>(
      kubeConfig,
      {
        path: collectionPath(r, namespace),
        list: () => client.listAll<T>(r, { ...(namespace ? { namespace } : {}), ...selectors }),
        ...selectors,
      },
      { ...o, name: namespace ? `${name}@${namespace}` : name },
    );
  const namespaces = [...new Set(o.namespaces ?? [])];
  if (namespaces.length === 0) return one(undefined);
  if (namespaces.length === 1) return one(namespaces[0]);
  return new InformerGroup<T>(name, namespaces.map(one));
}

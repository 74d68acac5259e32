/**
 * The Kubernetes reads and writes the reconcilers need, and nothing else. Merge patches carry
 * the explicit content type (client-node defaults to JSON-Patch, see toolchain-notes §1); list
 * replacements (finalizers) carry the resourceVersion so a concurrent writer gets a 409 instead
 * of being overwritten.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.js';
import { orUndefined } from '../kube/errors.js';
import { DATABASE_RESOURCE, objectPath, SECRET_RESOURCE, SERVER_RESOURCE } from '../kube/resource.js';
import { KubeHttp } from './kubeHttp.js';
import type { PostgreSQLDatabase, PostgreSQLServer, ResourceStatus } from '../api/schema.js';

export type Kind = 'server' | 'database';
export type AnyResource = PostgreSQLServer | PostgreSQLDatabase;

export interface MetadataPatch {
  resourceVersion?: string;
  finalizers?: string[];
  labels?: Record<string, string | null>;
  annotations?: Record<string, string | null>;
}

export interface KubeAccess {
  getServer(namespace: string, name: string): Promise<PostgreSQLServer | undefined>;
  getDatabase(namespace: string, name: string): Promise<PostgreSQLDatabase | undefined>;
  listDatabases(namespace: string): Promise<PostgreSQLDatabase[]>;
  /** Merge-patches metadata; returns the updated object (undefined when it is gone). */
  patchMetadata<T extends AnyResource>(kind: Kind, namespace: string, name: string, patch: MetadataPatch): Promise<T | undefined>;
  /** Merge-patches the status subresource. */
  patchStatus(kind: Kind, namespace: string, name: string, status: ResourceStatus): Promise<AnyResource | void>;
  getSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** Creates, or replaces when metadata.resourceVersion is set (optimistic concurrency). */
  writeSecret(secret: V1Secret): Promise<V1Secret>;
  deleteSecret(namespace: string, name: string): Promise<void>;
}

const MERGE = 'application/merge-patch+json';
const crPath = (kind: Kind, namespace: string, name?: string) => objectPath(kind === 'server' ? SERVER_RESOURCE : DATABASE_RESOURCE, namespace, name);
const secretPath = (namespace: string, name?: string) => objectPath(SECRET_RESOURCE, namespace, name);

export function createKubeAccess(kc: KubeConnection, http: KubeHttp = new KubeHttp(kc)): KubeAccess {
  return {
    getServer: (namespace, name) => orUndefined(http.request<PostgreSQLServer>('GET', crPath('server', namespace, name))),
    getDatabase: (namespace, name) => orUndefined(http.request<PostgreSQLDatabase>('GET', crPath('database', namespace, name))),
    async listDatabases(namespace) {
      return (await http.request<{ items: PostgreSQLDatabase[] }>('GET', crPath('database', namespace))).items;
    },
    patchMetadata: (kind, namespace, name, patch) => orUndefined(http.request('PATCH', crPath(kind, namespace, name), { metadata: patch }, MERGE)),
    patchStatus: (kind, namespace, name, status) => http.request<AnyResource>('PATCH', `${crPath(kind, namespace, name)}/status`, { status }, MERGE),
    getSecret: (namespace, name) => orUndefined(http.request<V1Secret>('GET', secretPath(namespace, name))),
    async writeSecret(secret) {
      const namespace = secret.metadata!.namespace!;
      if (secret.metadata?.resourceVersion) return http.request<V1Secret>('PUT', secretPath(namespace, secret.metadata.name!), secret);
      return http.request<V1Secret>('POST', secretPath(namespace), secret);
    },
    async deleteSecret(namespace, name) {
      await orUndefined(http.request('DELETE', secretPath(namespace, name)));
    },
  };
}

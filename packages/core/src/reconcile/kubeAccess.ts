/**
 * The Kubernetes reads and writes the reconcilers need, and nothing else. Merge patches carry
 * the explicit content type (client-node defaults to JSON-Patch, see toolchain-notes §1); list
 * replacements (finalizers) carry the resourceVersion so a concurrent writer gets a 409 instead
 * of being overwritten.
 */
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Secret,
} from '@kubernetes/client-node';
import { DATABASE_KIND, GROUP, SERVER_KIND, VERSION, type PostgreSQLDatabase, type PostgreSQLServer, type ResourceStatus } from '../api/schema.js';

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
  patchStatus(kind: Kind, namespace: string, name: string, status: ResourceStatus): Promise<void>;
  getSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** Creates, or replaces when metadata.resourceVersion is set (optimistic concurrency). */
  writeSecret(secret: V1Secret): Promise<V1Secret>;
  deleteSecret(namespace: string, name: string): Promise<void>;
}

const plural = (kind: Kind) => (kind === 'server' ? SERVER_KIND.plural : DATABASE_KIND.plural);
const merge = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof ApiException && err.code === 409;
}

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export function createKubeAccess(kc: KubeConfig): KubeAccess {
  const co = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const ref = (kind: Kind, namespace: string) => ({ group: GROUP, version: VERSION, namespace, plural: plural(kind) });
  return {
    getServer: (namespace, name) => orUndefined(co.getNamespacedCustomObject({ ...ref('server', namespace), name }) as Promise<PostgreSQLServer>),
    getDatabase: (namespace, name) => orUndefined(co.getNamespacedCustomObject({ ...ref('database', namespace), name }) as Promise<PostgreSQLDatabase>),
    async listDatabases(namespace) {
      const list = (await co.listNamespacedCustomObject({ ...ref('database', namespace) })) as { items: PostgreSQLDatabase[] };
      return list.items;
    },
    patchMetadata: (kind, namespace, name, patch) =>
      orUndefined(co.patchNamespacedCustomObject({ ...ref(kind, namespace), name, body: { metadata: patch } }, merge())),
    async patchStatus(kind, namespace, name, status) {
      await co.patchNamespacedCustomObjectStatus({ ...ref(kind, namespace), name, body: { status } }, merge());
    },
    getSecret: (namespace, name) => orUndefined(core.readNamespacedSecret({ namespace, name })),
    async writeSecret(secret) {
      const namespace = secret.metadata!.namespace!;
      if (secret.metadata?.resourceVersion) return core.replaceNamespacedSecret({ namespace, name: secret.metadata.name!, body: secret });
      return core.createNamespacedSecret({ namespace, body: secret });
    },
    async deleteSecret(namespace, name) {
      await orUndefined(core.deleteNamespacedSecret({ namespace, name }));
    },
  };
}

/**
 * KubeAccess that reads from the informer caches (controller-runtime's delegating client): the
 * reconcilers' GETs of servers, databases and our own Secrets cost no API request, so a converged
 * object's resync makes none at all. Writes go to the API server unchanged and carry the
 * resourceVersion of what was read (finalizers, Secrets), so a decision taken on a stale cache
 * ends in a 409 and a requeue, never in a lost update.
 *
 * Until the caches are attached and synced (and for anything they cannot answer) reads go live:
 * the Secret cache holds only Secrets labelled as ours, so a name it does not know may still be
 * someone else's Secret and is read from the API server.
 */
import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import type { PostgreSQLDatabase, PostgreSQLServer, ResourceStatus } from '../api/schema.js';
import type { AnyResource, Kind, KubeAccess, MetadataPatch } from './kubeAccess.js';

/** What an informer offers (controller/informer.ts ObjectInformer). */
export interface CacheSource {
  get(namespace: string, name: string): KubernetesObject | undefined;
  list(namespace?: string): KubernetesObject[];
  hasSynced(): boolean;
}

export interface CacheSources {
  servers?: CacheSource;
  databases?: CacheSource;
  /** Label-selected: only our Secrets. */
  secrets?: CacheSource;
}

/** Reconcilers mutate what they read (status, annotations): never the cached object itself. */
const copy = <T>(o: KubernetesObject | undefined): T | undefined => (o ? (structuredClone(o) as T) : undefined);

export class CachedKubeAccess implements KubeAccess {
  private sources: CacheSources = {};
  constructor(private readonly live: KubeAccess) {}

  /** Called once the manager made its informers; before that every read is live. */
  attach(sources: CacheSources): void {
    this.sources = sources;
  }

  private synced(s: CacheSource | undefined): s is CacheSource {
    return !!s && s.hasSynced();
  }

  async getServer(namespace: string, name: string): Promise<PostgreSQLServer | undefined> {
    const s = this.sources.servers;
    if (this.synced(s)) return copy<PostgreSQLServer>(s.get(namespace, name));
    return this.live.getServer(namespace, name);
  }

  async getDatabase(namespace: string, name: string): Promise<PostgreSQLDatabase | undefined> {
    const s = this.sources.databases;
    if (this.synced(s)) return copy<PostgreSQLDatabase>(s.get(namespace, name));
    return this.live.getDatabase(namespace, name);
  }

  async listDatabases(namespace: string): Promise<PostgreSQLDatabase[]> {
    const s = this.sources.databases;
    if (this.synced(s)) return s.list(namespace).map((o) => copy<PostgreSQLDatabase>(o)!);
    return this.live.listDatabases(namespace);
  }

  async getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    const s = this.sources.secrets;
    const cached = this.synced(s) ? s.get(namespace, name) : undefined;
    if (cached) return copy<V1Secret>(cached);
    return this.live.getSecret(namespace, name);
  }

  patchMetadata<T extends AnyResource>(kind: Kind, namespace: string, name: string, patch: MetadataPatch): Promise<T | undefined> {
    return this.live.patchMetadata<T>(kind, namespace, name, patch);
  }
  patchStatus(kind: Kind, namespace: string, name: string, status: ResourceStatus): Promise<void> {
    return this.live.patchStatus(kind, namespace, name, status);
  }
  writeSecret(secret: V1Secret): Promise<V1Secret> {
    return this.live.writeSecret(secret);
  }
  deleteSecret(namespace: string, name: string): Promise<void> {
    return this.live.deleteSecret(namespace, name);
  }
}

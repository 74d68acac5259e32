/**
 * KubeAccess that reads from the informer caches (controller-runtime's delegating client): the
 * reconcilers' GETs of servers, databases and our own Secrets cost no API request, so a converged
 * object's resync makes none at all. Writes go to the API server unchanged and carry the
 * resourceVersion of what was read (finalizers, Secrets), so a decision taken on a stale cache
 * ends in a 409 and a requeue, never in a lost update.
 *
 * Our own writes are read back (read-your-writes): after a write the object is read live until
 * the cache has caught up with the resourceVersion the write returned. Without it a reconcile that
 * runs right after our own write (another event queued it) decides on the object as it was before
 * that write: it saw the reset-password label we had just removed and reset the password a second
 * time (found by the testkit's crash check), with the Secret briefly not matching the server.
 *
 * Until the caches are attached and synced (and for anything they cannot answer) reads go live:
 * the Secret cache holds only Secrets labelled as ours, so a name it does not know may still be
 * someone else's Secret and is read from the API server.
 */
import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import type { PostgreSQLDatabase, PostgreSQLServer, ResourceStatus } from '../api/schema.js';
import type { AnyResource, Kind, KubeAccess, MetadataPatch } from './kubeAccess.js';
import { pendingSecretName } from './passwords.js';

const PENDING_PREFIX = pendingSecretName('');

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

type Written = { kind: Kind | 'secret'; namespace: string; name: string };
const keyOf = (w: Written) => `${w.kind}/${w.namespace}/${w.name}`;
const isCount = (rv: string | undefined): rv is string => !!rv && /^\d+$/.test(rv);

export class CachedKubeAccess implements KubeAccess {
  private sources: CacheSources = {};
  /** Objects we wrote whose write the cache may not show yet → the resourceVersion written (null: deleted). */
  private readonly written = new Map<string, string | null>();
  /**
   * resourceVersions our recent writes returned, by object, until their watch event came (a few
   * per object: a finalizer patch and the status write right after it may both still be on their way).
   * Several handlers may ask about one event, so nothing is consumed; entries expire after 2 minutes.
   */
  private readonly echoes = new Map<string, { rvs: string[]; at: number }>();
  private writesSinceSweep = 0;
  /** Our writes still waiting for their answer, by object: their watch event may come first. */
  private readonly inFlight = new Map<string, { count: number; settled: Promise<void>; settle(): void }>();
  constructor(private readonly live: KubeAccess) {}

  /** Runs a write, known as in flight until it is answered (and remembered). */
  private async writing<R>(w: Written, write: () => Promise<R>): Promise<R> {
    const key = keyOf(w);
    let entry = this.inFlight.get(key);
    if (!entry) {
      let settle!: () => void;
      const settled = new Promise<void>((r) => (settle = r));
      entry = { count: 0, settled, settle };
      this.inFlight.set(key, entry);
    }
    entry.count++;
    try {
      return await write();
    } finally {
      if (--entry.count === 0) {
        this.inFlight.delete(key);
        entry.settle();
      }
    }
  }

  private remember(w: Written, result: unknown): void {
    const rv = (result as KubernetesObject | undefined)?.metadata?.resourceVersion;
    if (rv) {
      this.written.set(keyOf(w), rv);
      const now = Date.now();
      this.echoes.set(keyOf(w), { rvs: [...(this.echoes.get(keyOf(w))?.rvs ?? []), rv].slice(-4), at: now });
      if (++this.writesSinceSweep >= 256) {
        this.writesSinceSweep = 0;
        for (const [k, e] of this.echoes) if (now - e.at > 120_000) this.echoes.delete(k);
      }
    } else this.written.delete(keyOf(w));
  }

  /** Whether the cache shows our last write of the object (then the note is dropped). */
  private current(w: Written, cached: KubernetesObject | undefined): boolean {
    const key = keyOf(w);
    if (!this.written.has(key)) return true;
    const want = this.written.get(key);
    const have = cached?.metadata?.resourceVersion;
    // Not in the cache: gone (we never create CRs; a Secret the cache lacks is read live anyway).
    // resourceVersions are opaque, but etcd's are counters: a later one means the cache moved past our write.
    const caughtUp = !cached || (want !== null && (have === want || (isCount(have) && isCount(want) && BigInt(have) >= BigInt(want))));
    if (caughtUp) this.written.delete(key);
    return caughtUp;
  }

  /**
   * Whether a watch event shows exactly our own last write of the object (the resourceVersion the
   * write returned; a deletion we made). The reconcile that wrote it acted on that state already,
   * so the event need not queue it again (the expectations of controller-runtime's controllers).
   * Writes of spec-relevant metadata carry the resourceVersion they read, so the state at our
   * resourceVersion holds no change of someone else that we did not see. Does not drop the note.
   */
  isOwnWrite(kind: Kind | 'secret', obj: KubernetesObject, deleted = false): boolean | Promise<boolean> {
    const key = keyOf({ kind, namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' });
    // The event of a write whose answer has not come yet: decided once it has.
    const pending = this.inFlight.get(key);
    if (pending) return pending.settled.then(() => this.isOwnWrite(kind, obj, deleted));
    // A deletion we made: the delete event carries the last state, not a resourceVersion of ours.
    if (deleted) return this.written.has(key) && this.written.get(key) === null;
    return this.echoes.get(key)?.rvs.includes(obj.metadata?.resourceVersion ?? '') ?? false;
  }

  /** Called once the manager made its informers; before that every read is live. */
  attach(sources: CacheSources): void {
    this.sources = sources;
  }

  private synced(s: CacheSource | undefined): s is CacheSource {
    return !!s && s.hasSynced();
  }

  async getServer(namespace: string, name: string): Promise<PostgreSQLServer | undefined> {
    const s = this.sources.servers;
    if (this.synced(s)) {
      const cached = s.get(namespace, name);
      if (this.current({ kind: 'server', namespace, name }, cached)) return copy<PostgreSQLServer>(cached);
    }
    return this.live.getServer(namespace, name);
  }

  async getDatabase(namespace: string, name: string): Promise<PostgreSQLDatabase | undefined> {
    const s = this.sources.databases;
    if (this.synced(s)) {
      const cached = s.get(namespace, name);
      if (this.current({ kind: 'database', namespace, name }, cached)) return copy<PostgreSQLDatabase>(cached);
    }
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
    if (cached && this.current({ kind: 'secret', namespace, name }, cached)) return copy<V1Secret>(cached);
    // A pending Secret (named after a CR's uid) is only ever trusted when it is ours, and ours are
    // labelled, hence cached: a synced cache without it is the answer, and a converged object's
    // resync reads nothing live. (An unlabelled Secret of that name would answer our create with
    // 409 AlreadyExists; no password is ever read from it.)
    // Unless we wrote it and the cache does not show it yet (then live, read-your-writes).
    if (!cached && this.synced(s) && name.startsWith(PENDING_PREFIX) && (this.written.get(keyOf({ kind: 'secret', namespace, name })) ?? null) === null) return undefined;
    return this.live.getSecret(namespace, name);
  }

  // Each write is remembered before it counts as answered (writing): an event waiting for it then sees the note.
  async patchMetadata<T extends AnyResource>(kind: Kind, namespace: string, name: string, patch: MetadataPatch): Promise<T | undefined> {
    const w: Written = { kind, namespace, name };
    return this.writing(w, async () => {
      const result = await this.live.patchMetadata<T>(kind, namespace, name, patch);
      if (result) this.remember(w, result);
      else this.written.set(keyOf(w), null);
      return result;
    });
  }
  async patchStatus(kind: Kind, namespace: string, name: string, status: ResourceStatus): Promise<AnyResource | void> {
    const w: Written = { kind, namespace, name };
    return this.writing(w, async () => {
      const result = await this.live.patchStatus(kind, namespace, name, status);
      this.remember(w, result);
      return result;
    });
  }
  async writeSecret(secret: V1Secret): Promise<V1Secret> {
    const w: Written = { kind: 'secret', namespace: secret.metadata?.namespace ?? '', name: secret.metadata?.name ?? '' };
    return this.writing(w, async () => {
      const result = await this.live.writeSecret(secret);
      this.remember(w, result);
      return result;
    });
  }
  async deleteSecret(namespace: string, name: string): Promise<void> {
    const w: Written = { kind: 'secret', namespace, name };
    await this.writing(w, async () => {
      await this.live.deleteSecret(namespace, name);
      this.written.set(keyOf(w), null);
    });
  }
}

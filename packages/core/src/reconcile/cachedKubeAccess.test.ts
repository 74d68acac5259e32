import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { PostgreSQLServer } from '../api/schema.js';
import { CachedKubeAccess, type CacheSource } from './cachedKubeAccess.js';
import type { KubeAccess } from './kubeAccess.js';

const server = (rv: string, labels: Record<string, string> = {}) => ({ apiVersion: 'x', kind: 'PostgreSQLServer', metadata: { namespace: 'ns', name: 'pg', resourceVersion: rv, labels } }) as unknown as PostgreSQLServer;

function source(objects: Map<string, KubernetesObject>): CacheSource {
  return { get: (ns, name) => objects.get(`${ns}/${name}`), list: () => [...objects.values()], hasSynced: () => true };
}

function setup() {
  const cache = new Map<string, KubernetesObject>([['ns/pg', server('9', { 'operator/action': 'reset-password' })]]);
  let liveObject = server('10');
  const liveReads: string[] = [];
  const live = {
    getServer: async () => (liveReads.push('server'), liveObject),
    patchMetadata: async () => liveObject,
    patchStatus: async () => (liveObject = server('11')),
    getSecret: async () => (liveReads.push('secret'), undefined),
    deleteSecret: async () => undefined,
    writeSecret: async (s: V1Secret) => ({ ...s, metadata: { ...s.metadata, resourceVersion: '12' } }),
  } as unknown as KubeAccess;
  const kube = new CachedKubeAccess(live);
  kube.attach({ servers: source(cache), secrets: source(new Map()) });
  return { cache, kube, liveReads };
}

describe('CachedKubeAccess: read-your-writes', () => {
  it('reads an object live after our write until the cache shows that write, then from the cache again', async () => {
    const { cache, kube, liveReads } = setup();
    expect((await kube.getServer('ns', 'pg'))?.metadata.resourceVersion).toBe('9');
    expect(liveReads).toEqual([]);
    await kube.patchMetadata('server', 'ns', 'pg', { labels: { 'operator/action': null } }); // returns rv 10
    // The cache still has rv 9 with the label we just removed: not used.
    const after = await kube.getServer('ns', 'pg');
    expect(after?.metadata.labels?.['operator/action']).toBeUndefined();
    expect(liveReads).toEqual(['server']);
    cache.set('ns/pg', server('10'));
    await kube.getServer('ns', 'pg');
    expect(liveReads).toEqual(['server']);
  });

  it('a cache that moved past our write (a later resourceVersion) is used', async () => {
    const { cache, kube, liveReads } = setup();
    await kube.patchStatus('server', 'ns', 'pg', { conditions: [] }); // rv 11
    cache.set('ns/pg', server('15'));
    expect((await kube.getServer('ns', 'pg'))?.metadata.resourceVersion).toBe('15');
    expect(liveReads).toEqual([]);
  });

  it('a Secret we deleted but the cache still holds is read live', async () => {
    const { kube, liveReads } = setup();
    const secrets = new Map<string, KubernetesObject>([['ns/s', { metadata: { namespace: 'ns', name: 's', resourceVersion: '3' } }]]);
    kube.attach({ servers: source(new Map()), secrets: source(secrets) });
    await kube.deleteSecret('ns', 's');
    expect(await kube.getSecret('ns', 's')).toBeUndefined();
    expect(liveReads).toEqual(['secret']);
  });
});

describe('CachedKubeAccess: echoes of our own writes, pending Secrets', () => {
  it('an event showing exactly our write (its resourceVersion, a deletion we made) is our own; anything else is not', async () => {
    const { kube } = setup();
    await kube.patchMetadata('server', 'ns', 'pg', { finalizers: ['x'] }); // returns rv 10
    expect(kube.isOwnWrite('server', server('10'))).toBe(true);
    expect(kube.isOwnWrite('server', server('13'))).toBe(false); // someone else's later change
    expect(kube.isOwnWrite('server', server('10'), true)).toBe(false);
    await kube.patchStatus('server', 'ns', 'pg', { conditions: [] }); // rv 11, before the event of rv 10 came
    expect(kube.isOwnWrite('server', server('10'))).toBe(true);
    expect(kube.isOwnWrite('server', server('11'))).toBe(true);
    const written = await kube.writeSecret({ metadata: { namespace: 'ns', name: 'creds' } }); // rv 12
    expect(kube.isOwnWrite('secret', written)).toBe(true);
    await kube.deleteSecret('ns', 'creds');
    expect(kube.isOwnWrite('secret', written, true)).toBe(true);
    // Re-created by someone else after our delete: not ours.
    expect(kube.isOwnWrite('secret', { metadata: { namespace: 'ns', name: 'creds', resourceVersion: '20' } })).toBe(false);
    expect(kube.isOwnWrite('secret', { metadata: { namespace: 'ns', name: 'never', resourceVersion: '1' } })).toBe(false);
  });

  it('an event that comes before the answer to our write is decided once the answer is in', async () => {
    let answer!: (s: V1Secret) => void;
    const live = { writeSecret: () => new Promise<V1Secret>((r) => (answer = r)), getSecret: async () => undefined } as unknown as KubeAccess;
    const kube = new CachedKubeAccess(live);
    const writing = kube.writeSecret({ metadata: { namespace: 'ns', name: 'creds' } });
    const ours = kube.isOwnWrite('secret', { metadata: { namespace: 'ns', name: 'creds', resourceVersion: '5' } });
    const theirs = kube.isOwnWrite('secret', { metadata: { namespace: 'ns', name: 'creds', resourceVersion: '6' } });
    expect(ours).toBeInstanceOf(Promise);
    answer({ metadata: { namespace: 'ns', name: 'creds', resourceVersion: '5' } });
    await writing;
    expect(await ours).toBe(true);
    expect(await theirs).toBe(false);
    expect(kube.isOwnWrite('secret', { metadata: { namespace: 'ns', name: 'creds', resourceVersion: '5' } })).toBe(true);
  });

  it('a pending Secret the synced cache does not hold is absent without a live read, unless we just wrote it', async () => {
    const { kube, liveReads } = setup();
    expect(await kube.getSecret('ns', 'hybridcloud-postgresql-pending-u1')).toBeUndefined();
    expect(liveReads).toEqual([]);
    await kube.writeSecret({ metadata: { namespace: 'ns', name: 'hybridcloud-postgresql-pending-u1' } });
    await kube.getSecret('ns', 'hybridcloud-postgresql-pending-u1');
    expect(liveReads).toEqual(['secret']);
    // Any other name the cache lacks may be someone else's unlabelled Secret: read live.
    await kube.getSecret('ns', 'creds');
    expect(liveReads).toEqual(['secret', 'secret']);
  });
});

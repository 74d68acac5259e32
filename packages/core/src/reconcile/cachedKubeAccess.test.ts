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

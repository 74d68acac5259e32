import { ApiextensionsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, useControlPlane, type ControlPlane } from './index.js';

// Proof that the control plane is a real kube-apiserver: behaviours a fake would get wrong.
let cp: ControlPlane;
let ns: string;
let core: CoreV1Api;

beforeAll(async () => {
  cp = await useControlPlane();
  ns = await createTestNamespace(cp, 'kube-proof');
  core = cp.kubeConfig().makeApiClient(CoreV1Api);
});

const code = (err: unknown): number | undefined => (err as { code?: number }).code;

describe('kube-apiserver', () => {
  it('does ConfigMap CRUD and streams the changes to a watch', async () => {
    const events: string[] = [];
    const watch = new Watch(cp.kubeConfig());
    let watchDone: unknown;
    const controller = await watch.watch(`/api/v1/namespaces/${ns}/configmaps`, {}, (type, obj: V1ConfigMap) => {
      events.push(`${type} ${obj.metadata?.name} ${obj.data?.['k'] ?? ''}`.trim());
    }, (err) => { watchDone = err; });
    try {
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cm' }, data: { k: 'v1' } } });
      const read = await core.readNamespacedConfigMap({ namespace: ns, name: 'cm' });
      expect(read.data).toEqual({ k: 'v1' });
      read.data = { k: 'v2' };
      const replaced = await core.replaceNamespacedConfigMap({ namespace: ns, name: 'cm', body: read });
      expect(Number(replaced.metadata!.resourceVersion)).toBeGreaterThan(Number(read.metadata!.resourceVersion));
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'cm' });
      await expect(core.readNamespacedConfigMap({ namespace: ns, name: 'cm' })).rejects.toSatisfy((e) => code(e) === 404);
      await expect.poll(() => events, { timeout: 10_000 }).toEqual(['ADDED cm v1', 'MODIFIED cm v2', 'DELETED cm v2']);
      expect(watchDone).toBeUndefined();
    } finally {
      controller.abort();
    }
  });

  it('serves a CRD with a status subresource: status only changes through /status', async () => {
    const group = 'proof.testenv.example.com';
    const plural = `widgets${ns.replace(/[^a-z0-9]/g, '')}`; // unique per run: CRDs are cluster-scoped
    const ext = cp.kubeConfig().makeApiClient(ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({ body: {
      metadata: { name: `${plural}.${group}` },
      spec: {
        group, scope: 'Namespaced',
        names: { plural, singular: plural.slice(0, -1), kind: `W${plural.slice(1, -1)}`, listKind: `W${plural.slice(1, -1)}List` },
        versions: [{
          name: 'v1', served: true, storage: true, subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', properties: {
            spec: { type: 'object', properties: { size: { type: 'integer' } } },
            status: { type: 'object', properties: { phase: { type: 'string' } } },
          } } },
        }],
      },
    } });
    try {
      await cp.kubectl(['wait', '--for=condition=Established', `crd/${plural}.${group}`, '--timeout=30s']);
      const api = cp.kubeConfig().makeApiClient(CustomObjectsApi);
      const kind = `W${plural.slice(1, -1)}`;
      await api.createNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural, body: {
        apiVersion: `${group}/v1`, kind, metadata: { name: 'w' }, spec: { size: 1 }, status: { phase: 'ignored' },
      } });
      const created = await api.getNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural, name: 'w' }) as { status?: unknown; metadata: { generation: number } };
      expect(created.status).toBeUndefined(); // status is dropped on create when the subresource is on
      await api.patchNamespacedCustomObjectStatus({ group, version: 'v1', namespace: ns, plural, name: 'w', body: [{ op: 'add', path: '/status', value: { phase: 'Ready' } }] });
      const after = await api.getNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural, name: 'w' }) as { status?: { phase: string }; metadata: { generation: number } };
      expect(after.status).toEqual({ phase: 'Ready' });
      expect(after.metadata.generation).toBe(created.metadata.generation); // status writes do not bump generation
    } finally {
      await ext.deleteCustomResourceDefinition({ name: `${plural}.${group}` });
    }
  });

  it('keeps an object with a finalizer until the finalizer is removed', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'fin', finalizers: ['testenv.example.com/hold'] } } });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'fin' });
    const held = await core.readNamespacedConfigMap({ namespace: ns, name: 'fin' });
    expect(held.metadata?.deletionTimestamp).toBeDefined();
    await core.patchNamespacedConfigMap({ namespace: ns, name: 'fin', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await expect(core.readNamespacedConfigMap({ namespace: ns, name: 'fin' })).rejects.toSatisfy((e) => code(e) === 404);
  });

  it('merges server-side apply by field manager and reports conflicts', async () => {
    const objects = KubernetesObjectApi.makeApiClient(cp.kubeConfig());
    const cm = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa', namespace: ns }, data });
    await objects.patch(cm({ a: '1' }), undefined, undefined, 'manager-a', false, PatchStrategy.ServerSideApply);
    await objects.patch(cm({ b: '2' }), undefined, undefined, 'manager-b', false, PatchStrategy.ServerSideApply);
    const merged = await core.readNamespacedConfigMap({ namespace: ns, name: 'ssa' });
    expect(merged.data).toEqual({ a: '1', b: '2' });
    expect(merged.metadata?.managedFields?.map((m) => m.manager).sort()).toEqual(['manager-a', 'manager-b']);
    await expect(objects.patch(cm({ a: 'taken' }), undefined, undefined, 'manager-b', false, PatchStrategy.ServerSideApply))
      .rejects.toSatisfy((e) => code(e) === 409);
    await objects.patch(cm({ a: 'taken' }), undefined, undefined, 'manager-b', true, PatchStrategy.ServerSideApply);
    expect((await core.readNamespacedConfigMap({ namespace: ns, name: 'ssa' })).data).toEqual({ a: 'taken' });
  });

  it('rejects a Lease update with a stale resourceVersion (409)', async () => {
    const leases = cp.kubeConfig().makeApiClient(CoordinationV1Api);
    const lease = await leases.createNamespacedLease({ namespace: ns, body: { metadata: { name: 'leader' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } } });
    const stale = structuredClone(lease);
    lease.spec!.holderIdentity = 'b';
    await leases.replaceNamespacedLease({ namespace: ns, name: 'leader', body: lease });
    stale.spec!.holderIdentity = 'c';
    await expect(leases.replaceNamespacedLease({ namespace: ns, name: 'leader', body: stale })).rejects.toSatisfy((e) => code(e) === 409);
    expect((await leases.readNamespacedLease({ namespace: ns, name: 'leader' })).spec?.holderIdentity).toBe('b');
  });
});

afterAll(async () => {
  // The namespace stays Terminating (no controller-manager); delete it anyway so it is marked.
  await core?.deleteNamespace({ name: ns }).catch(() => undefined);
});

describe('kube-controller-manager', () => {
  it('cascades ownerReferences: deleting the owner deletes what it owns (garbage collector)', async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'gc-owner' } } });
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'gc-owned', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'gc-owner', uid: owner.metadata!.uid! }] }, stringData: { k: 'v' } },
    });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'gc-owner' });
    await expect.poll(async () => core.readNamespacedSecret({ namespace: ns, name: 'gc-owned' }).then(() => 'exists', (e) => code(e)), { timeout: 30_000, interval: 200 }).toBe(404);
  });

  it('deletes a namespace as a cluster does: content removed, finalizers respected, then the namespace goes', async () => {
    const victim = await createTestNamespace(cp, 'ns-delete');
    await core.createNamespacedSecret({ namespace: victim, body: { metadata: { name: 's' }, stringData: { k: 'v' } } });
    await core.createNamespacedConfigMap({ namespace: victim, body: { metadata: { name: 'held', finalizers: ['testenv.example/hold'] } } });
    // The default ServiceAccount appears by itself (serviceaccount controller).
    await expect.poll(async () => core.readNamespacedServiceAccount({ namespace: victim, name: 'default' }).then(() => true, () => false), { timeout: 30_000, interval: 200 }).toBe(true);
    await core.deleteNamespace({ name: victim });
    // The Secret goes at once; the ConfigMap waits on its finalizer and keeps the namespace Terminating.
    await expect.poll(async () => core.readNamespacedSecret({ namespace: victim, name: 's' }).then(() => 'exists', (e) => code(e)), { timeout: 30_000, interval: 200 }).toBe(404);
    // The namespace controller deletes resource kinds in its own order: the ConfigMap's delete may come after the Secret's.
    await expect.poll(async () => (await core.readNamespacedConfigMap({ namespace: victim, name: 'held' })).metadata?.deletionTimestamp !== undefined, { timeout: 30_000, interval: 200 }).toBe(true);
    expect((await core.readNamespace({ name: victim })).status?.phase).toBe('Terminating');
    await core.patchNamespacedConfigMap({ namespace: victim, name: 'held', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await expect.poll(async () => core.readNamespace({ name: victim }).then(() => 'exists', (e) => code(e)), { timeout: 60_000, interval: 300 }).toBe(404);
  }, 120_000);
});

/**
 * The informer against a real kube-apiserver: list + watch, add/update/delete, a 410 Gone answered
 * by a relist, recovery after RBAC revoked and granted again (an error client-node's own informer
 * would stop on), and recovery after its CRD was deleted and created again.
 */
import { randomBytes } from 'node:crypto';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { KubeClient } from '../kube/client.js';
import { CONFIGMAP_RESOURCE, collectionPath, type ResourceType } from '../kube/resource.js';
import { silentLogger } from '../observability/logger.js';
import { Informer, type InformerSource } from './informer.js';
import { createResourceInformer } from './informerFactory.js';

let cp: ControlPlane;
let admin: KubeConfig;
let core: CoreV1Api;
let ns: string;
const informers: Informer<V1ConfigMap>[] = [];

async function eventually<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function recorder() {
  const events: string[] = [];
  return {
    events,
    handlers: {
      onAdd: (o: V1ConfigMap) => events.push(`add:${o.metadata?.name}:${o.data?.['v'] ?? ''}`),
      onUpdate: (_: V1ConfigMap, o: V1ConfigMap) => events.push(`update:${o.metadata?.name}:${o.data?.['v'] ?? ''}`),
      onDelete: (o: V1ConfigMap) => events.push(`delete:${o.metadata?.name}`),
    },
  };
}

const cm = (name: string, v: string, namespace = ns): V1ConfigMap => ({ metadata: { name, namespace }, data: { v } });

function configMapSource(kc: KubeConfig, namespace: string): InformerSource<V1ConfigMap> {
  const client = new KubeClient(kc);
  return {
    path: collectionPath(CONFIGMAP_RESOURCE, namespace),
    labelSelector: 'informer-test=yes',
    async list() {
      return client.listAll<V1ConfigMap>(CONFIGMAP_RESOURCE, { namespace, labelSelector: 'informer-test=yes' });
    },
  };
}

const widgetCrd = (group: string) => ({
  metadata: { name: `widgets.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
});

const labelled = (name: string, v: string, namespace = ns): V1ConfigMap => ({ ...cm(name, v, namespace), metadata: { name, namespace, labels: { 'informer-test': 'yes' } } });

beforeAll(async () => {
  cp = await useControlPlane();
  admin = cp.kubeConfig();
  core = admin.makeApiClient(CoreV1Api);
  ns = await createTestNamespace(cp, 'informer');
});

afterAll(async () => {
  await Promise.all(informers.map((i) => i.stop()));
});

describe('Informer', () => {
  it('lists, then sees add, update and delete; the cache follows', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: labelled('before', '1') });
    const r = recorder();
    const inf = new Informer<V1ConfigMap>(admin, configMapSource(admin, ns), { name: 'cm', log: silentLogger });
    informers.push(inf);
    inf.addHandlers(r.handlers);
    expect(inf.hasSynced()).toBe(false);
    inf.start();
    expect(await inf.waitForSync(10_000)).toBe(true);
    expect(r.events).toEqual(['add:before:1']);

    await core.createNamespacedConfigMap({ namespace: ns, body: labelled('a', '1') });
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('unlabelled', '1') }); // filtered by the label selector
    await core.replaceNamespacedConfigMap({ namespace: ns, name: 'a', body: labelled('a', '2') });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'before' });
    await eventually('events', () => r.events.length >= 4);
    expect(r.events).toEqual(['add:before:1', 'add:a:1', 'update:a:2', 'delete:before']);
    expect(inf.get(ns, 'a')?.data?.['v']).toBe('2');
    expect(inf.get(ns, 'before')).toBeUndefined();
    expect(inf.list(ns).map((o) => o.metadata?.name)).toEqual(['a']);
    expect(inf.restarts).toBe(0);
  });

  it('restarts after its permissions are revoked, and catches up once they are back', async () => {
    const user = `informer-${randomBytes(3).toString('hex')}`;
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: user }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] }] } });
    const binding = { metadata: { name: user }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: user }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }] };
    await rbac.createNamespacedRoleBinding({ namespace: ns, body: binding });
    const kc = cp.kubeConfigForUser(user);
    const restartErrors: unknown[] = [];
    // Short server-side watch timeout so the revoked permission is hit within seconds, not minutes.
    const inf = new Informer<V1ConfigMap>(kc, { ...configMapSource(kc, ns), watchTimeoutSeconds: 2 }, {
      name: 'cm-rbac',
      log: silentLogger,
      restartBackoff: { baseMs: 200, maxMs: 1000 },
      onRestart: (e) => restartErrors.push(e),
    });
    informers.push(inf);
    inf.start();
    expect(await inf.waitForSync(10_000)).toBe(true);

    await rbac.deleteNamespacedRoleBinding({ namespace: ns, name: user });
    await eventually('a restart after 403', () => inf.restarts >= 2, 20_000);
    expect(restartErrors.some((e) => (e as { code?: number }).code === 403)).toBe(true);
    await core.createNamespacedConfigMap({ namespace: ns, body: labelled('while-revoked', '1') });
    expect(inf.get(ns, 'while-revoked')).toBeUndefined();

    await rbac.createNamespacedRoleBinding({ namespace: ns, body: binding });
    await eventually('the object created while revoked', () => inf.get(ns, 'while-revoked'), 20_000);
    const after = inf.restarts;
    await core.createNamespacedConfigMap({ namespace: ns, body: labelled('after', '1') });
    await eventually('a later object', () => inf.get(ns, 'after'), 10_000);
    expect(inf.restarts).toBe(after);
  });

  it('answers 410 Gone with a relist, not an error', async () => {
    // A fresh CRD's watch cache starts at its creation: a watch from resourceVersion 1 is "too old"
    // (the apiserver sends an ERROR event with code 410, as after etcd compaction in a long-lived cluster).
    const group = `gone${randomBytes(3).toString('hex')}.example.com`;
    const r: ResourceType = { group, version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true };
    const ext = admin.makeApiClient(ApiextensionsV1Api);
    const crd = widgetCrd(group);
    await ext.createCustomResourceDefinition({ body: crd });
    try {
      const co = admin.makeApiClient(CustomObjectsApi);
      const create = (name: string) => co.createNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'widgets', body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name } } });
      await eventually('CRD served', () => create('x').then(() => true, () => false));
      const client = new KubeClient(admin);
      let lists = 0;
      const rec = recorder();
      const inf = new Informer<V1ConfigMap>(admin, {
        path: collectionPath(r, ns),
        async list() {
          lists++;
          const l = await client.listAll<V1ConfigMap>(r, { namespace: ns });
          return lists === 1 ? { ...l, resourceVersion: '1' } : l;
        },
      }, { name: 'gone', log: silentLogger });
      informers.push(inf);
      inf.addHandlers(rec.handlers);
      inf.start();
      await eventually('the relist after 410', () => lists >= 2, 15_000);
      await create('y');
      await eventually('y', () => inf.get(ns, 'y'));
      expect(inf.restarts).toBe(0);
      expect(rec.events).toEqual(['add:x:', 'add:y:']); // the relist found x unchanged: no duplicate event
    } finally {
      await ext.deleteCustomResourceDefinition({ name: crd.metadata.name }).catch(() => undefined);
    }
  });

  it('survives its CRD being deleted and created again', async () => {
    const group = `it${randomBytes(3).toString('hex')}.example.com`;
    const r: ResourceType = { group, version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true };
    const ext = admin.makeApiClient(ApiextensionsV1Api);
    const crd = widgetCrd(group);
    const co = admin.makeApiClient(CustomObjectsApi);
    const create = (name: string) => co.createNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'widgets', body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name } } });
    const established = async () => {
      await eventually('CRD established', async () => (await ext.readCustomResourceDefinition({ name: crd.metadata.name })).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
      // Established can precede the REST endpoint by a moment
      await eventually('CRD served', () => create(`probe-${randomBytes(2).toString('hex')}`).then(() => true, () => false));
    };
    await ext.createCustomResourceDefinition({ body: crd });
    try {
      await established();
      const inf = createResourceInformer(admin, new KubeClient(admin), r, { name: 'widgets', namespaces: [ns], log: silentLogger, restartBackoff: { baseMs: 200, maxMs: 1000 } });
      informers.push(inf as Informer<V1ConfigMap>);
      inf.start();
      expect(await inf.waitForSync(10_000)).toBe(true);
      await create('one');
      await eventually('one', () => inf.get(ns, 'one'));

      await ext.deleteCustomResourceDefinition({ name: crd.metadata.name });
      await eventually('CRD gone', () => ext.readCustomResourceDefinition({ name: crd.metadata.name }).then(() => false, () => true), 30_000);
      await eventually('a restart', () => inf.restarts >= 1, 30_000);
      await eventually('cache emptied by the relist', () => !inf.get(ns, 'one'), 30_000).catch(() => undefined);

      await ext.createCustomResourceDefinition({ body: crd });
      await established();
      await create('two');
      await eventually('two after the CRD came back', () => inf.get(ns, 'two'), 30_000);
      expect(inf.get(ns, 'one')).toBeUndefined();
    } finally {
      await ext.deleteCustomResourceDefinition({ name: crd.metadata.name }).catch(() => undefined);
    }
  });
});

/**
 * KubeClient and KubeEventRecorder against a real kube-apiserver with our CRDs: merge patches
 * with the right content type, resourceVersion preconditions (409), status subresource,
 * Secrets, error parsing, Event aggregation and best-effort recording.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyCrds, createTestNamespace, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { API_VERSION, type PostgreSQLServer } from '../api/schema.js';
import { silentLogger } from '../observability/logger.js';
import { KubeClient } from './client.js';
import { isConflict, isForbidden, isNotFound, KubeApiError, kubeStatus } from './errors.js';
import { KubeEventRecorder } from './eventRecorder.js';
import { SECRET_RESOURCE, SERVER_RESOURCE } from './resource.js';

let cp: ControlPlane;
let kc: KubeConfig;
let client: KubeClient;
let ns: string;

const server = (name: string): PostgreSQLServer => ({
  apiVersion: API_VERSION,
  kind: 'PostgreSQLServer',
  metadata: { name, namespace: ns },
  spec: { credentialsSecret: `${name}-creds` } as PostgreSQLServer['spec'],
});

async function createServer(name: string): Promise<PostgreSQLServer> {
  return (await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ group: SERVER_RESOURCE.group, version: SERVER_RESOURCE.version, namespace: ns, plural: SERVER_RESOURCE.plural, body: server(name) })) as PostgreSQLServer;
}

beforeAll(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
  kc = cp.kubeConfig();
  client = new KubeClient(kc);
  ns = await createTestNamespace(cp, 'kubeclient');
});

describe('KubeClient', () => {
  it('gets and lists custom resources; a missing one is undefined', async () => {
    await createServer('one');
    await createServer('two');
    expect((await client.get<PostgreSQLServer>(SERVER_RESOURCE, ns, 'one'))?.metadata.name).toBe('one');
    expect(await client.get(SERVER_RESOURCE, ns, 'missing')).toBeUndefined();
    const page = await client.list(SERVER_RESOURCE, { namespace: ns, limit: 1 });
    expect(page.items).toHaveLength(1);
    expect(page.metadata?.continue).toBeTruthy();
    const all = await client.listAll(SERVER_RESOURCE, { namespace: ns, limit: 1 });
    expect(all.items.map((i) => i.metadata?.name).sort()).toEqual(['one', 'two']);
    expect(Number(all.resourceVersion)).toBeGreaterThan(0);
  });

  it('pages through core lists too (their token is V1ListMeta._continue)', async () => {
    const ns2 = await createTestNamespace(cp, 'kubeclient-paging');
    for (let i = 0; i < 5; i++) await client.createSecret({ metadata: { name: `s${i}`, namespace: ns2, labels: { paging: 'yes' } }, stringData: { v: `${i}` } });
    const all = await client.listAll(SECRET_RESOURCE, { namespace: ns2, labelSelector: 'paging=yes', limit: 2 });
    expect(all.items.map((i) => i.metadata?.name)).toEqual(['s0', 's1', 's2', 's3', 's4']);
  });

  it('finalizers with a resourceVersion precondition: a stale writer gets a 409', async () => {
    const s = await createServer(`fin-${randomBytes(2).toString('hex')}`);
    const withF = await client.addFinalizer(SERVER_RESOURCE, s, 'example.com/f');
    expect(withF?.metadata?.finalizers).toEqual(['example.com/f']);
    // same call again with the now-stale object: precondition fails
    const err = await client.patchMetadata(SERVER_RESOURCE, ns, s.metadata.name, { resourceVersion: s.metadata.resourceVersion!, finalizers: ['other'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(isConflict(err)).toBe(true);
    expect((err as KubeApiError).message).toMatch(/patch metadata of PostgreSQLServer .*: .*\(409 Conflict\)/);
    // labels merge, null removes
    await client.patchMetadata(SERVER_RESOURCE, ns, s.metadata.name, { labels: { a: '1', b: '2' } });
    const l = await client.patchMetadata<PostgreSQLServer>(SERVER_RESOURCE, ns, s.metadata.name, { labels: { a: null } });
    expect(l?.metadata.labels).toEqual({ b: '2' });
    const removed = await client.removeFinalizers(SERVER_RESOURCE, l!, 'example.com/f');
    expect(removed?.metadata?.finalizers ?? []).toEqual([]);
    expect(await client.patchMetadata(SERVER_RESOURCE, ns, 'gone', { labels: { a: '1' } })).toBeUndefined();
  });

  it('merge-patches the status subresource only', async () => {
    const s = await createServer(`st-${randomBytes(2).toString('hex')}`);
    const status = { observedGeneration: 1, backend: 'external', conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ok', lastTransitionTime: new Date().toISOString() }] };
    const updated = await client.patchStatus<PostgreSQLServer>(SERVER_RESOURCE, ns, s.metadata.name, status);
    expect(updated?.status?.backend).toBe('external');
    expect(updated?.metadata.generation).toBe(s.metadata.generation); // status never bumps generation
    const again = await client.patchStatus<PostgreSQLServer>(SERVER_RESOURCE, ns, s.metadata.name, { backend: 'other' });
    expect(again?.status?.conditions?.[0]?.type).toBe('Ready'); // merged, not replaced
    const stale = await client.patchStatus(SERVER_RESOURCE, ns, s.metadata.name, { backend: 'x' }, { resourceVersion: s.metadata.resourceVersion! }).catch((e: unknown) => e);
    expect(isConflict(stale)).toBe(true);
    expect(await client.patchStatus(SERVER_RESOURCE, ns, 'gone', { backend: 'x' })).toBeUndefined();
  });

  it('Secrets: create, replace with optimistic concurrency, delete', async () => {
    const name = `sec-${randomBytes(2).toString('hex')}`;
    const created = await client.createSecret({ metadata: { name, namespace: ns }, stringData: { password: 'p1' } });
    const read = await client.getSecret(ns, name);
    expect(Buffer.from(read!.data!['password']!, 'base64').toString()).toBe('p1');
    await client.replaceSecret({ ...read!, stringData: { password: 'p2' } });
    const stale = await client.replaceSecret({ ...created, stringData: { password: 'p3' } }).catch((e: unknown) => e);
    expect(isConflict(stale)).toBe(true);
    expect(Buffer.from((await client.getSecret(ns, name))!.data!['password']!, 'base64').toString()).toBe('p2');
    expect(await client.deleteSecret(ns, name)).toBe(true);
    expect(await client.deleteSecret(ns, name)).toBe(false);
    expect(await client.getSecret(ns, name)).toBeUndefined();
  });

  it('parses API errors: code, reason, message', async () => {
    const restricted = new KubeClient(cp.kubeConfigForUser(`nobody-${randomBytes(2).toString('hex')}`));
    const err = await restricted.getSecret(ns, 'x').catch((e: unknown) => e);
    expect(isForbidden(err)).toBe(true);
    expect(kubeStatus(err)).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect((err as Error).message).toMatch(/secrets "x" is forbidden/);
    const bad = await client.createSecret({ metadata: { name: 'Not_Valid', namespace: ns } }).catch((e: unknown) => e);
    expect(kubeStatus(bad)).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(isNotFound(await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: SERVER_RESOURCE.group, version: 'v1alpha1', namespace: ns, plural: SERVER_RESOURCE.plural, name: 'nope' }).catch((e: unknown) => e))).toBe(true);
  });
  it('clients of one connection share one keep-alive pool: closing one leaves the others working, the last close ends it', async () => {
    await createServer('pooled');
    const [a, b] = [new KubeClient(kc), new KubeClient(kc)];
    expect((await a.get<PostgreSQLServer>(SERVER_RESOURCE, ns, 'pooled'))?.metadata.name).toBe('pooled');
    a.close();
    a.close(); // twice: still only one share released
    expect((await b.get<PostgreSQLServer>(SERVER_RESOURCE, ns, 'pooled'))?.metadata.name).toBe('pooled');
    b.close();
    // The shared `client` of this file still holds the pool; a new client after all others closed gets a fresh one.
    const c = new KubeClient(kc);
    expect((await c.get<PostgreSQLServer>(SERVER_RESOURCE, ns, 'pooled'))?.metadata.name).toBe('pooled');
    c.close();
  });
});

describe('KubeEventRecorder', () => {
  it('posts an Event, aggregates repeats into a count, and redacts registered secrets', async () => {
    const s = await createServer(`ev-${randomBytes(2).toString('hex')}`);
    const rec = new KubeEventRecorder(kc, { log: silentLogger, instance: 'test' });
    const obj = { apiVersion: API_VERSION, kind: 'PostgreSQLServer', name: s.metadata.name, namespace: ns, uid: s.metadata.uid! };
    for (let i = 0; i < 3; i++) await rec.record(obj, 'Warning', 'BackendError', 'cannot reach the server');
    await rec.record(obj, 'Normal', 'Ready', 'server ready');
    rec.neverPost('S3cretPassw0rd');
    await rec.record(obj, 'Normal', 'PasswordReset', 'new password is S3cretPassw0rd');
    const events = (await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${s.metadata.name}` })).items;
    const byReason = Object.fromEntries(events.map((e) => [e.reason, e]));
    expect(events).toHaveLength(3);
    expect(byReason['BackendError']).toMatchObject({ type: 'Warning', count: 3, message: 'cannot reach the server', reportingComponent: 'hybridcloud-postgresql-operator' });
    expect(byReason['BackendError']?.involvedObject).toMatchObject({ kind: 'PostgreSQLServer', uid: s.metadata.uid });
    expect(byReason['Ready']?.count).toBe(1);
    expect(byReason['PasswordReset']?.message).toBe('new password is [REDACTED]');
  });

  it('never throws into the caller', async () => {
    const rec = new KubeEventRecorder(cp.kubeConfigForUser(`nobody-${randomBytes(2).toString('hex')}`), { log: silentLogger });
    await expect(rec.record({ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: ns }, 'Normal', 'Test', 'm')).resolves.toBeUndefined();
  });
});

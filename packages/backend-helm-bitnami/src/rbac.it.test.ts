/**
 * The helm backend with nothing but the permissions the operator chart grants (its ClusterRole,
 * rendered by helm from charts/hybrid-cloud-postgresql-operator, bound to its ServiceAccount):
 * install, readiness, password change and deletion with pvc_cleanup must all work with them.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import { CoreV1Api, NetworkingV1Api, PolicyV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type Backend } from '@hybridcloud-postgresql/core';
import { createTestNamespace, KubeletSimulator, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { reconcileUntilReady, serverRequest, TestOp } from '@hybridcloud-postgresql/helm-common/testing';
import definition, { BitnamiConfigSchema } from './index.js';

const CHART = fileURLToPath(new URL('../test-charts/postgresql', import.meta.url));
const OPERATOR_CHART = fileURLToPath(new URL('../../../charts/hybrid-cloud-postgresql-operator', import.meta.url));

let cp: ControlPlane;
let sim: KubeletSimulator;
let ns: string;
let opNs: string;
let applied: string;
let saName: string;

beforeAll(async () => {
  cp = await useControlPlane();
  ns = await createTestNamespace(cp, 'helm-rbac');
  opNs = await createTestNamespace(cp, 'helm-rbac-op');
  const name = `hcpg-rbac-${randomBytes(3).toString('hex')}`;
  const rendered = await cp.helm(['template', 'op', OPERATOR_CHART, '--namespace', opNs, '--kube-version', '1.36.0', '--set', `fullnameOverride=${name}`]);
  // kubectl turns the YAML stream into a JSON List (client-side, nothing is created).
  const asJson = await cp.kubectl(['create', '--dry-run=client', '-o', 'json', '-f', '-'], { input: rendered.stdout });
  // one JSON object per document, back to back
  const parsed = JSON.parse(`[${asJson.stdout.trim().replace(/\}\n\{/g, '},{')}]`) as unknown[];
  const wanted = parsed
    .map((o) => o as { kind?: string; metadata?: { name?: string } } | null)
    .filter((o): o is { kind: string; metadata: { name: string } } => !!o && ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind ?? '') && o.metadata?.name === name);
  expect(wanted.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ServiceAccount']);
  applied = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: wanted });
  await cp.kubectl(['apply', '-f', '-'], { input: applied });
  sim = new KubeletSimulator(cp.kubeConfig(), { namespaces: [ns] }).start();
  saName = name;
});

afterAll(async () => {
  await sim?.stop();
  if (applied) await cp.kubectl(['delete', '--ignore-not-found', '-f', '-'], { input: applied }).catch(() => undefined);
});

describe('helmbitnami with the operator chart\'s RBAC only', { timeout: 300_000 }, () => {
  it('installs, becomes ready, changes the password and deletes with pvc_cleanup', async () => {
    const kc = await cp.kubeConfigForServiceAccount(opNs, saName);
    // The ServiceAccount must not be able to do more than the chart says: e.g. no Deployments.
    const denied = await cp.kubectl(['auth', 'can-i', 'create', 'deployments', '-n', ns, `--as=system:serviceaccount:${opNs}:${saName}`]).then(() => 'yes', () => 'no');
    expect(denied).toBe('no');

    const config = Value.Default(BitnamiConfigSchema, { chart: { reference: CHART }, helm_binary: cp.bin.helm, pvc_cleanup: true }) as never;
    const backend = (await definition.create({ config, operatorConfig: {}, log: silentLogger, kubeConfig: kc, operatorNamespace: opNs, generatePassword: () => 'x', connectionResolver: sim.resolver } as never)) as Backend;
    const op = new TestOp();
    const s = serverRequest(ns, 'rbac', { size: { cpu: 1, memoryMB: 512 } }, op);
    await reconcileUntilReady(backend, op, s, 'rbac-Pass_1');
    await reconcileUntilReady(backend, op, s, 'rbac-Pass_2', { resetPassword: true });
    // The chart's NetworkPolicy, PodDisruptionBudget and ServiceAccount were created with these permissions…
    const admin = cp.kubeConfig();
    const core = admin.makeApiClient(CoreV1Api);
    await admin.makeApiClient(NetworkingV1Api).readNamespacedNetworkPolicy({ name: 'rbac-postgresql', namespace: ns });
    await admin.makeApiClient(PolicyV1Api).readNamespacedPodDisruptionBudget({ name: 'rbac-postgresql', namespace: ns });
    await core.readNamespacedServiceAccount({ name: 'rbac-postgresql', namespace: ns });
    expect(await backend.deleteServer(op, s)).toEqual({ state: 'gone' });
    // …and removed by the uninstall.
    await expect(admin.makeApiClient(NetworkingV1Api).readNamespacedNetworkPolicy({ name: 'rbac-postgresql', namespace: ns })).rejects.toThrow();
    await expect(admin.makeApiClient(PolicyV1Api).readNamespacedPodDisruptionBudget({ name: 'rbac-postgresql', namespace: ns })).rejects.toThrow();
    await expect(core.readNamespacedServiceAccount({ name: 'rbac-postgresql', namespace: ns })).rejects.toThrow();
    const left = await core.listNamespacedSecret({ namespace: ns, labelSelector: 'owner=helm' });
    expect(left.items).toEqual([]);
  });
});

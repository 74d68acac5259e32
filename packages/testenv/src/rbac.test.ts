import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, useControlPlane, type ControlPlane } from './index.js';

let cp: ControlPlane;
let ns: string;
const code = (err: unknown): number | undefined => (err as { code?: number }).code;

beforeAll(async () => {
  cp = await useControlPlane();
  ns = await createTestNamespace(cp, 'rbac-proof');
});

describe('RBAC with minted credentials', () => {
  it('authenticates any user by client certificate and forbids what RBAC does not grant', async () => {
    const alice = cp.kubeConfigForUser('alice', ['team-a']);
    const who = await cp.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}'], { kubeconfig: cp.writeKubeconfig(alice) });
    expect(who.stdout).toContain('alice');
    expect(who.stdout).toContain('team-a');
    await expect(alice.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: ns })).rejects.toSatisfy((e) => code(e) === 403);

    // Granting the group (not the user) proves groups from the certificate reach the authorizer.
    const rbac = cp.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: 'cm-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list'] }] } });
    await rbac.createNamespacedRoleBinding({ namespace: ns, body: {
      metadata: { name: 'team-a-reads' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'team-a' }],
    } });
    await expect.poll(async () => (await alice.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: ns })).items, { timeout: 10_000 }).toBeDefined();
    await expect(cp.kubeConfigForUser('bob', ['team-b']).makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: ns }))
      .rejects.toSatisfy((e) => code(e) === 403);
  });

  it('mints a ServiceAccount token that works once a RoleBinding grants it', async () => {
    const sa = await cp.kubeConfigForServiceAccount(ns, 'operator');
    const api = sa.makeApiClient(CoreV1Api);
    await expect(api.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 's' } } })).rejects.toSatisfy((e) => code(e) === 403);
    const rbac = cp.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: 'secrets' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['create', 'get'] }] } });
    await rbac.createNamespacedRoleBinding({ namespace: ns, body: {
      metadata: { name: 'operator-secrets' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secrets' },
      subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: ns }],
    } });
    await expect.poll(async () => api.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 's' }, stringData: { k: 'v' } } }).then(() => true, (e) => code(e)), { timeout: 10_000 }).toBe(true);
    expect((await api.readNamespacedSecret({ namespace: ns, name: 's' })).data?.['k']).toBe(Buffer.from('v').toString('base64'));
    // The file form works for child processes too (kubectl here).
    const out = await cp.kubectl(['auth', 'can-i', 'create', 'secrets', '-n', ns], { kubeconfig: cp.writeKubeconfig(sa) });
    expect(out.stdout.trim()).toBe('yes');
    await expect(cp.kubectl(['auth', 'can-i', 'delete', 'secrets', '-n', ns], { kubeconfig: cp.writeKubeconfig(sa) })).rejects.toThrow(/no/);
  });
});

import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { applyCrds, CONTROL_PLANE_ENV, createTestNamespace, readControlPlaneInfo, useControlPlane } from './index.js';

describe('shared control plane', () => {
  it('is the one the global setup started, reached through the environment', async () => {
    const infoPath = process.env[CONTROL_PLANE_ENV];
    expect(infoPath, 'vitest.globalSetup.ts should export the control plane to workers').toBeDefined();
    const cp = await useControlPlane();
    expect(cp.server).toBe(readControlPlaneInfo(infoPath!).server);
    expect((await useControlPlane()).server).toBe(cp.server);
  });

  it('gives each caller a fresh namespace', async () => {
    const cp = await useControlPlane();
    const [a, b] = await Promise.all([createTestNamespace(cp, 'Same_Prefix'), createTestNamespace(cp, 'Same_Prefix')]);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^same-prefix-[0-9a-f]{8}$/);
    const ns = await cp.kubeConfig().makeApiClient(CoreV1Api).readNamespace({ name: a });
    expect(ns.status?.phase).toBe('Active');
  });

  it('installs the operator CRDs from the chart, idempotently, and serves them', async () => {
    const cp = await useControlPlane();
    const ns = await createTestNamespace(cp, 'crds');
    const [first] = await Promise.all([applyCrds(cp), applyCrds(cp)]); // parallel test files do this
    expect(first.map((f) => f.split('/').pop())).toContain('postgresqlserver.yaml');
    const out = await cp.kubectl(['get', 'postgresqlservers.hybridcloud.maibornwolff.de,postgresqldatabases.hybridcloud.maibornwolff.de', '-n', ns, '-o', 'name']);
    expect(out.stdout.trim()).toBe('');
  });
});

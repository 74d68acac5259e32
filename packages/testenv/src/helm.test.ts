import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestNamespace, describeBinary, ensureBinary, REPO_ROOT, useControlPlane } from './index.js';

const chart = mkdtempSync(join(tmpdir(), 'testenv-helm-chart-'));
afterAll(() => rmSync(chart, { recursive: true, force: true }));

describe('helm against the control plane', () => {
  it('installs, upgrades and uninstalls a release (no --wait: nothing runs pods)', async () => {
    const cp = await useControlPlane();
    const ns = await createTestNamespace(cp, 'helm');
    mkdirSync(join(chart, 'templates'));
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: proof\nversion: 0.1.0\n');
    writeFileSync(join(chart, 'values.yaml'), 'greeting: hello\n');
    writeFileSync(join(chart, 'templates', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n');
    const core = cp.kubeConfig().makeApiClient(CoreV1Api);

    await cp.helm(['install', 'proof', chart, '-n', ns]);
    expect((await core.readNamespacedConfigMap({ namespace: ns, name: 'proof-cm' })).data).toEqual({ greeting: 'hello' });
    await cp.helm(['upgrade', 'proof', chart, '-n', ns, '--set', 'greeting=bye']);
    expect((await core.readNamespacedConfigMap({ namespace: ns, name: 'proof-cm' })).data).toEqual({ greeting: 'bye' });
    const list = JSON.parse((await cp.helm(['list', '-n', ns, '-o', 'json'])).stdout) as Array<{ name: string; revision: string; status: string }>;
    expect(list).toMatchObject([{ name: 'proof', revision: '2', status: 'deployed' }]);

    await cp.helm(['uninstall', 'proof', '-n', ns]);
    await expect(core.readNamespacedConfigMap({ namespace: ns, name: 'proof-cm' })).rejects.toSatisfy((e) => (e as { code?: number }).code === 404);
    await expect(cp.helm(['status', 'proof', '-n', ns])).rejects.toThrow(/not found/);
  });
});

describe('helm built like upstream', () => {
  it('reports its release version and assumes the Kubernetes version of its client-go, not 1.20', async () => {
    const helm = await ensureBinary('helm');
    const env = { ...process.env, HELM_CACHE_HOME: chart, HELM_CONFIG_HOME: chart, HELM_DATA_HOME: chart };
    expect(execFileSync(helm, ['version', '--template', '{{.Version}} {{.GitTreeState}}'], { env }).toString()).toBe(`${describeBinary('helm').version} clean`);
    // Without --kube-version helm renders for the Kubernetes version stamped at build time; unstamped
    // it is 1.20 and our chart (kubeVersion >=1.27) is refused.
    const assumed = execFileSync(helm, ['template', 'x', join(REPO_ROOT, 'charts', 'hybrid-cloud-postgresql-operator'), '--show-only', 'templates/deployment.yaml'], { env }).toString();
    expect(assumed).toContain('kind: Deployment');
    const probe = mkdtempSync(join(tmpdir(), 'testenv-helm-kube-'));
    try {
      mkdirSync(join(probe, 'templates'));
      writeFileSync(join(probe, 'Chart.yaml'), 'apiVersion: v2\nname: probe\nversion: 0.1.0\n');
      writeFileSync(join(probe, 'templates', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n');
      const out = execFileSync(helm, ['template', 'probe', probe], { env }).toString();
      expect(out).toMatch(/kube: "v1\.(3[4-9]|[4-9]\d)\.0"/);
    } finally {
      rmSync(probe, { recursive: true, force: true });
    }
  });
});

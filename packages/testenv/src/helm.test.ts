import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestNamespace, useControlPlane } from './index.js';

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

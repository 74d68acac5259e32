/**
 * Core's own kubeconfig loader against a real kube-apiserver: the testenv's kubeconfig file
 * (client certificate, CA), the same material as relative file paths, a bearer token file that
 * is re-read, the in-cluster service-account layout, and an exec plugin, which goes to
 * client-node. Each is checked by a real request (a SelfSubjectReview names the user), not by
 * looking at the options.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ownedTempDir, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { KubeHttp } from '../reconcile/kubeHttp.js';
import type { KubeConnection } from './connection.js';
import { LiteKubeConfig } from './kubeconfig.js';

let cp: ControlPlane;
let dir: string;
const https: KubeHttp[] = [];
afterAll(() => https.forEach((h) => h.close()));

beforeAll(async () => {
  cp = await useControlPlane();
  dir = ownedTempDir('lite-kubeconfig').dir;
});

/** Who the API server says we are. */
async function whoAmI(kc: KubeConnection): Promise<string> {
  const http = new KubeHttp(kc);
  https.push(http);
  const r = await http.request<{ status: { userInfo: { username: string } } }>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
  return r.status.userInfo.username;
}

type Doc = { clusters: Array<{ name: string; cluster: Record<string, unknown> }>; users: Array<{ name: string; user: Record<string, unknown> }>; contexts: unknown[]; 'current-context': string };
const testenvDoc = (): Doc => parse(readFileSync(cp.kubeconfigPath, 'utf8')) as Doc;

describe('LiteKubeConfig', () => {
  it("loads the testenv's kubeconfig (inline CA, client certificate) and authenticates as its user", async () => {
    const kc = LiteKubeConfig.fromFile(cp.kubeconfigPath);
    expect(kc.getCurrentCluster().server).toBe(testenvDoc().clusters[0]!.cluster['server']);
    expect(await whoAmI(kc)).toBe(await whoAmI(cp.kubeConfig()));
    // $KUBECONFIG is what load() reads first.
    expect(await whoAmI(LiteKubeConfig.load({ KUBECONFIG: cp.kubeconfigPath }))).toBe(await whoAmI(kc));
  });

  it('resolves certificate paths relative to the file', async () => {
    const doc = testenvDoc();
    const c = doc.clusters[0]!.cluster;
    const u = doc.users[0]!.user;
    writeFileSync(join(dir, 'ca.pem'), Buffer.from(String(c['certificate-authority-data']), 'base64'));
    writeFileSync(join(dir, 'client.pem'), Buffer.from(String(u['client-certificate-data']), 'base64'));
    writeFileSync(join(dir, 'client.key'), Buffer.from(String(u['client-key-data']), 'base64'));
    delete c['certificate-authority-data'];
    delete u['client-certificate-data'];
    delete u['client-key-data'];
    c['certificate-authority'] = 'ca.pem';
    u['client-certificate'] = 'client.pem';
    u['client-key'] = 'client.key';
    writeFileSync(join(dir, 'files.kubeconfig'), stringify(doc));
    expect(await whoAmI(LiteKubeConfig.fromFile(join(dir, 'files.kubeconfig')))).toBe(await whoAmI(cp.kubeConfig()));
  });

  it('refuses a server whose certificate does not match the CA, unless insecure-skip-tls-verify', async () => {
    const doc = testenvDoc();
    const c = doc.clusters[0]!.cluster;
    delete c['certificate-authority-data'];
    writeFileSync(join(dir, 'noca.kubeconfig'), stringify(doc));
    await expect(whoAmI(LiteKubeConfig.fromFile(join(dir, 'noca.kubeconfig')))).rejects.toThrow(/certificate/);
    c['insecure-skip-tls-verify'] = true;
    writeFileSync(join(dir, 'insecure.kubeconfig'), stringify(doc));
    expect(await whoAmI(LiteKubeConfig.fromFile(join(dir, 'insecure.kubeconfig')))).toBe(await whoAmI(cp.kubeConfig()));
  });

  it('in a pod: the service account token and CA, the server from KUBERNETES_SERVICE_HOST/PORT (IPv6 bracketed)', async () => {
    const sa = ownedTempDir('sa').dir;
    const doc = testenvDoc();
    writeFileSync(join(sa, 'ca.crt'), Buffer.from(String(doc.clusters[0]!.cluster['certificate-authority-data']), 'base64'));
    const sakc = await cp.kubeConfigForServiceAccount('default', 'lite');
    const token = sakc.getCurrentUser()?.token;
    expect(token).toBeTruthy();
    const server = new URL(String(doc.clusters[0]!.cluster['server']));
    const v6 = LiteKubeConfig.inCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }, sa);
    expect(v6.getCurrentCluster().server).toBe('https://[fd00::1]:6443');
    writeFileSync(join(sa, 'token'), `${token}\n`);
    const kc = LiteKubeConfig.inCluster({ KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port }, sa);
    expect(await whoAmI(kc)).toBe('system:serviceaccount:default:lite');
  });

  it('hands an exec plugin to client-node, which runs it; toClientNode() is the same configuration', async () => {
    const doc = testenvDoc();
    const u = doc.users[0]!.user;
    const plugin = join(dir, 'exec-plugin.sh');
    // The plugin returns the client certificate the testenv issued, as an ExecCredential.
    const cred = { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { clientCertificateData: Buffer.from(String(u['client-certificate-data']), 'base64').toString('utf8'), clientKeyData: Buffer.from(String(u['client-key-data']), 'base64').toString('utf8') } };
    writeFileSync(join(dir, 'cred.json'), JSON.stringify(cred));
    writeFileSync(plugin, `#!/bin/sh\ncat '${join(dir, 'cred.json')}'\n`);
    chmodSync(plugin, 0o755);
    doc.users[0]!.user = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } };
    writeFileSync(join(dir, 'exec.kubeconfig'), stringify(doc));
    const kc = LiteKubeConfig.fromFile(join(dir, 'exec.kubeconfig'));
    expect(await whoAmI(kc)).toBe(await whoAmI(cp.kubeConfig()));
    expect(kc.toClientNode().getCurrentCluster()?.server).toBe(kc.getCurrentCluster().server);
    // A file-based one converts to an equivalent client-node KubeConfig too.
    const lite = LiteKubeConfig.fromFile(cp.kubeconfigPath);
    expect(await whoAmI(lite.toClientNode())).toBe(await whoAmI(cp.kubeConfig()));
  });
});

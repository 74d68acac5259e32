import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ensureBinaries } from './binaries.js';
import { makeKubeConfig, writeKubeconfig } from './kubeconfig.js';
import { startOnFreePort, waitUntil } from './net.js';
import { supervise, type Supervised } from './processes.js';
import { ownedTempDir } from './tempDirs.js';
import { runTool, type ToolResult } from './tools.js';
import { createCA, issueClientCert, issueServingCert, type CertificateAuthority } from './x509.js';

export interface ControlPlane {
  server: string;
  kubeconfigPath: string;
  /** The admin (system:masters) credential. */
  kubeConfig(): KubeConfig;
  /** A client certificate for any user and groups; RBAC decides what it may do. */
  kubeConfigForUser(user: string, groups?: string[]): KubeConfig;
  /** A TokenRequest token for the ServiceAccount (created when missing). */
  kubeConfigForServiceAccount(namespace: string, name: string): Promise<KubeConfig>;
  kubectl(args: string[], opts?: { input?: string; kubeconfig?: string }): Promise<ToolResult>;
  helm(args: string[], opts?: { kubeconfig?: string }): Promise<ToolResult>;
  /** Writes a kubeconfig file for a credential (e.g. to start the operator as a child process). */
  writeKubeconfig(kc: KubeConfig, path?: string): string;
  bin: { kubectl: string; helm: string; etcd: string; kubeApiserver: string };
  /** Where this control plane keeps its files (certs, kubeconfigs, helm home). */
  dir: string;
  stop(): Promise<void>;
}

/** Everything another process needs to use a running control plane (written as JSON next to it). */
export interface ControlPlaneInfo {
  server: string;
  dir: string;
  kubeconfigPath: string;
  ca: CertificateAuthority;
  bin: ControlPlane['bin'];
  pids: { etcd: number; kubeApiserver: number; kubeControllerManager: number };
  etcdEndpoint: string;
}

export const ADMIN_USER = 'testenv-admin';

export interface StartControlPlaneOptions {
  /** Also copy process output to files in this directory (the detached CLI does). */
  logDir?: string;
  /**
   * Run kube-controller-manager with the controllers a cluster uses for object lifecycles (garbage
   * collector, namespace deletion, service accounts and their tokens). Default on: without it
   * ownerReferences never cascade and a deleted namespace stays Terminating forever.
   */
  controllerManager?: boolean;
  onUnexpectedExit?: (error: Error) => void;
}

export async function startControlPlane(opts: StartControlPlaneOptions = {}): Promise<ControlPlane> {
  const bins = await ensureBinaries();
  const { dir, remove: removeDir } = ownedTempDir('cp');
  const children: Supervised[] = [];
  try {
    const ca = createCA('testenv-ca');
    const file = (name: string, content: string): string => {
      writeFileSync(join(dir, name), content, { mode: 0o600 });
      return join(dir, name);
    };
    const serving = issueServingCert(ca, { dns: ['localhost'], ips: ['127.0.0.1'] });
    const saKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const admin = issueClientCert(ca, ADMIN_USER, ['system:masters']);
    const log = (name: string): { logFile?: string } => (opts.logDir ? { logFile: join(opts.logDir, `${name}.log`) } : {});
    const childOpts = { ...(opts.onUnexpectedExit ? { onUnexpectedExit: opts.onUnexpectedExit } : {}) };

    const pids = { etcd: 0, kubeApiserver: 0, kubeControllerManager: 0 };
    const etcdEndpoint = await startOnFreePort('etcd', async (port) => {
      const endpoint = `http://127.0.0.1:${port}`;
      const etcd = supervise('etcd', bins.etcd, [
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${endpoint}`,
        `--advertise-client-urls=${endpoint}`,
        '--listen-peer-urls=http://127.0.0.1:0',
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ], { ...log('etcd'), ...childOpts });
      children.push(etcd);
      await waitUntil('etcd', async () => (await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2_000) })).ok, { child: etcd, timeoutMs: 30_000 }).catch(async (err) => {
        await etcd.stop('SIGKILL');
        throw err;
      });
      pids.etcd = etcd.pid;
      return endpoint;
    });

    const server = await startOnFreePort('kube-apiserver', async (port) => {
      const server = `https://127.0.0.1:${port}`;
      const apiserver = supervise('kube-apiserver', bins['kube-apiserver'], [
        `--etcd-servers=${etcdEndpoint}`,
        `--cert-dir=${join(dir, 'certs')}`,
        `--tls-cert-file=${file('serving.crt', serving.certPem)}`,
        `--tls-private-key-file=${file('serving.key', serving.keyPem)}`,
        `--client-ca-file=${file('ca.crt', ca.certPem)}`,
        `--secure-port=${port}`,
        '--bind-address=127.0.0.1',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        // No ServiceAccount controller runs, so the admission plugin would reject every pod.
        '--disable-admission-plugins=ServiceAccount',
        '--authorization-mode=RBAC',
        `--service-account-issuer=${server}`,
        `--service-account-key-file=${file('sa.key', saKey)}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      ], { ...log('kube-apiserver'), ...childOpts });
      children.push(apiserver);
      await waitUntil('kube-apiserver', () => readyz(server, ca.certPem, admin), { child: apiserver, timeoutMs: 90_000, intervalMs: 200 }).catch(async (err) => {
        await apiserver.stop('SIGKILL');
        throw err;
      });
      pids.kubeApiserver = apiserver.pid;
      return server;
    });

    if (opts.controllerManager ?? true) {
      const kcmKubeconfig = join(dir, 'kube-controller-manager.kubeconfig');
      // system:masters: the controllers run with this one identity (no per-controller ServiceAccounts).
      const kcmCert = issueClientCert(ca, 'system:kube-controller-manager', ['system:masters']);
      writeKubeconfig(makeKubeConfig(server, ca.certPem, { name: 'system:kube-controller-manager', ...kcmCert }), kcmKubeconfig);
      pids.kubeControllerManager = await startOnFreePort('kube-controller-manager', async (port) => {
        const kcm = supervise('kube-controller-manager', bins['kube-controller-manager'], [
          `--kubeconfig=${kcmKubeconfig}`,
          `--authentication-kubeconfig=${kcmKubeconfig}`,
          `--authorization-kubeconfig=${kcmKubeconfig}`,
          // What makes deletion behave as on a cluster: ownerReference cascades, namespace lifecycle,
          // the default ServiceAccount and its tokens. No node, pod or workload controllers: the
          // kubelet simulator plays that part where a test needs it.
          '--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller',
          `--service-account-private-key-file=${join(dir, 'sa.key')}`,
          `--root-ca-file=${join(dir, 'ca.crt')}`,
          '--use-service-account-credentials=false',
          '--leader-elect=false',
          `--secure-port=${port}`,
          '--bind-address=127.0.0.1',
          `--cert-dir=${join(dir, 'kcm-certs')}`,
          // A test's namespace delete should finish in seconds, not after the default resyncs.
          '--concurrent-namespace-syncs=5',
          '--concurrent-gc-syncs=20',
          '-v=1',
        ], { ...log('kube-controller-manager'), ...childOpts });
        children.push(kcm);
        await waitUntil('kube-controller-manager', () => healthz(`https://127.0.0.1:${port}/healthz`), { child: kcm, timeoutMs: 60_000, intervalMs: 200 }).catch(async (err) => {
          await kcm.stop('SIGKILL');
          throw err;
        });
        return kcm.pid;
      });
    }

    const info: ControlPlaneInfo = {
      server,
      dir,
      kubeconfigPath: join(dir, 'kubeconfig'),
      ca,
      bin: { kubectl: bins.kubectl, helm: bins.helm, etcd: bins.etcd, kubeApiserver: bins['kube-apiserver'] },
      pids,
      etcdEndpoint,
    };
    writeKubeconfig(makeKubeConfig(server, ca.certPem, { name: ADMIN_USER, ...admin }), info.kubeconfigPath);
    writeFileSync(join(dir, 'controlplane.json'), JSON.stringify(info), { mode: 0o600 });
    return connectControlPlane(info, async () => {
      // apiserver first so it does not log a storm of etcd connection errors on the way down.
      for (const child of [...children].reverse()) await child.stop('SIGTERM', 5_000);
      removeDir();
    });
  } catch (err) {
    for (const child of children) await child.stop('SIGKILL');
    removeDir();
    throw err;
  }
}

/** Reads the info file a running control plane wrote (see startControlPlane). */
export function readControlPlaneInfo(path: string): ControlPlaneInfo {
  return JSON.parse(readFileSync(path, 'utf8')) as ControlPlaneInfo;
}

/** A ControlPlane handle for a running control plane; stop() only does something for the owner. */
export function connectControlPlane(info: ControlPlaneInfo, stop: () => Promise<void> = async () => {}): ControlPlane {
  const admin = issueClientCert(info.ca, ADMIN_USER, ['system:masters']);
  const helmHome = join(info.dir, 'helm');
  mkdirSync(helmHome, { recursive: true });
  let fileCounter = 0;
  const cp: ControlPlane = {
    server: info.server,
    kubeconfigPath: info.kubeconfigPath,
    dir: info.dir,
    bin: info.bin,
    kubeConfig: () => makeKubeConfig(info.server, info.ca.certPem, { name: ADMIN_USER, ...admin }),
    kubeConfigForUser(user, groups = []) {
      return makeKubeConfig(info.server, info.ca.certPem, { name: user, ...issueClientCert(info.ca, user, groups) });
    },
    async kubeConfigForServiceAccount(namespace, name) {
      const core = cp.kubeConfig().makeApiClient(CoreV1Api);
      try {
        await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
      const tr = await core.createNamespacedServiceAccountToken({ namespace, name, body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } } });
      const token = tr.status?.token;
      if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
      return makeKubeConfig(info.server, info.ca.certPem, { name: `system:serviceaccount:${namespace}:${name}`, token }, namespace);
    },
    kubectl(args, opts = {}) {
      return runTool(info.bin.kubectl, ['--kubeconfig', opts.kubeconfig ?? info.kubeconfigPath, ...args], opts.input !== undefined ? { input: opts.input } : {});
    },
    helm(args, opts = {}) {
      return runTool(info.bin.helm, ['--kubeconfig', opts.kubeconfig ?? info.kubeconfigPath, ...args], {
        // A helm home of our own: tests never read or write the user's repositories and cache.
        env: { ...process.env, HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_DATA_HOME: join(helmHome, 'data') },
      });
    },
    writeKubeconfig(kc, path) {
      return writeKubeconfig(kc, path ?? join(info.dir, `kubeconfig-${process.pid}-${++fileCounter}`));
    },
    stop,
  };
  return cp;
}

/** kube-controller-manager serves /healthz with a self-signed certificate and without authentication. */
function healthz(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function readyz(server: string, caPem: string, client: { certPem: string; keyPem: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${server}/readyz`, { ca: caPem, cert: client.certPem, key: client.keyPem, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

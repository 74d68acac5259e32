/**
 * The testkit's conformance suite for `helmbitnami`: the backend in core's real controller, real
 * helm with the fixture chart against the testenv control plane, and the kubelet simulator running
 * a real PostgreSQL for each StatefulSet the chart renders (its databases live there).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { KubeletSimulator } from '@hybridcloud-postgresql/testenv';
import { describeBackendConformance, psqlWith } from '@hybridcloud-postgresql/testkit';
import bitnami from './index.js';

const CHART = fileURLToPath(new URL('../test-charts/postgresql', import.meta.url));

describeBackendConformance({
  definition: bitnami,
  environment: async ({ kubeConfig, controlPlane, namespace, postgres }) => {
    const sim = new KubeletSimulator(kubeConfig, { namespaces: [namespace] }).start();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const release = (server: string) => `${server}-postgresql`;
    return {
      // pvc_cleanup: a deleted server leaves no volume (and no simulated PostgreSQL) behind.
      config: { backend: 'helmbitnami', backends: { helmbitnami: { chart: { reference: CHART }, helm_binary: controlPlane.bin.helm, pvc_cleanup: true } } },
      serverSpec: { size: { cpu: 1, memoryMB: 256, storageGB: 1 } },
      // In-cluster service names → the simulator's PostgreSQL behind the Service's selector.
      resolver: sim.resolver,
      // The helm releases of the server (any status but uninstalled: a failed or pending one is a leak too).
      resources: async (s) => {
        const list = await core.listNamespacedSecret({ namespace: s.namespace, labelSelector: `owner=helm,name=${release(s.name)}` });
        return [...new Set(list.items.filter((r) => r.metadata?.labels?.['status'] !== 'uninstalled').map((r) => r.metadata!.labels!['name']!))];
      },
      // The suite's databases live on server `main`: its simulated PostgreSQL, as its superuser.
      superuserSql: async (sql) => {
        const data = await core.readNamespacedSecret({ namespace, name: 'main-admin' });
        const creds = Object.fromEntries(Object.entries(data.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
        const r = await psqlWith(join(postgres.binDir, 'psql'), { ...creds, dbname: 'postgres' }, sql, sim.resolver, { namespace, name: 'main', backend: 'helmbitnami' });
        if (r.code !== 0) throw new Error(`superuser SQL failed: ${r.stderr}`);
        return r.stdout.trim();
      },
      update: {
        spec: { size: { cpu: 2, memoryMB: 512, storageGB: 1 } },
        check: async (s) => {
          const sts = await apps.readNamespacedStatefulSet({ namespace: s.namespace, name: release(s.name) });
          expect(sts.spec!.template.spec!.containers[0]!.resources).toEqual({ requests: { cpu: '2', memory: '512Mi' }, limits: { cpu: '2', memory: '512Mi' } });
        },
      },
      unsupported: {
        spec: { network: { firewallRules: [{ name: 'office', startIp: '10.0.0.1', endIp: '10.0.0.2' }] }, highavailability: { enabled: true }, serverParameters: { work_mem: '8MB' } },
        fields: ['spec.network.firewallRules', 'spec.highavailability.enabled', 'spec.serverParameters'],
      },
      notApplicable: {
        nativeErrors: 'no cloud API: helm talks to the kube-apiserver, which neither throttles nor fails on demand here (helm and chart failures through core: reconcile.it.test.ts)',
      },
      close: () => sim.stop(),
    };
  },
});

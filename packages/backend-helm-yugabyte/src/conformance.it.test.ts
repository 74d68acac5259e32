/**
 * The testkit's conformance suite for `helmyugabyte`: the backend in core's real controller (its
 * first run through core's reconcilers), real helm with the fixture chart (yugabyte value names)
 * against the testenv control plane, and the kubelet simulator running a real PostgreSQL as YSQL
 * for each tablet server, starting like YugabyteDB (yugabyte/yugabyte, Ready before YSQL takes
 * logins). A database's credentials Secret logging in is the kit's database check.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { KubeletSimulator } from '@hybridcloud-postgresql/testenv';
import { describeBackendConformance, psqlWith } from '@hybridcloud-postgresql/testkit';
import yugabyte from './index.js';

const CHART = fileURLToPath(new URL('../test-charts/yugabyte', import.meta.url));

describeBackendConformance({
  definition: yugabyte,
  environment: async ({ kubeConfig, controlPlane, namespace, postgres }) => {
    // YSQL drops connections, then refuses logins with 28P01, for a while after a tserver started.
    const sim = new KubeletSimulator(kubeConfig, { namespaces: [namespace], ysqlStartup: { refuseMs: 1000, authFailMs: 2000 } }).start();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const release = (server: string) => `${server}-yugabyte`;
    return {
      // pvc_cleanup: a deleted server leaves no volume (and no simulated YSQL) behind.
      config: { backend: 'helmyugabyte', backends: { helmyugabyte: { chart: { reference: CHART }, helm_binary: controlPlane.bin.helm, pvc_cleanup: true } } },
      serverSpec: { size: { cpu: 1, memoryMB: 2048, storageGB: 1 } },
      // In-cluster service names (<release>-yb-tservers) → the simulator's YSQL behind the Service's selector.
      resolver: sim.resolver,
      // The helm releases of the server (any status but uninstalled: a failed or pending one is a leak too).
      resources: async (s) => {
        const list = await core.listNamespacedSecret({ namespace: s.namespace, labelSelector: `owner=helm,name=${release(s.name)}` });
        return [...new Set(list.items.filter((r) => r.metadata?.labels?.['status'] !== 'uninstalled').map((r) => r.metadata!.labels!['name']!))];
      },
      // The suite's databases live on server `main`: its tserver's YSQL, as the yugabyte superuser.
      superuserSql: async (sql) => {
        const data = await core.readNamespacedSecret({ namespace, name: 'main-admin' });
        const creds = Object.fromEntries(Object.entries(data.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
        const r = await psqlWith(join(postgres.binDir, 'psql'), { ...creds, dbname: 'yugabyte' }, sql, sim.resolver, { namespace, name: 'main', backend: 'helmyugabyte' });
        if (r.code !== 0) throw new Error(`superuser SQL failed: ${r.stderr}`);
        return r.stdout.trim();
      },
      update: {
        spec: { size: { cpu: 2, memoryMB: 3072, storageGB: 1 } },
        check: async (s) => {
          for (const role of ['master', 'tserver']) {
            const sts = await apps.readNamespacedStatefulSet({ namespace: s.namespace, name: `${release(s.name)}-yb-${role}` });
            const c = sts.spec!.template.spec!.containers[0]!;
            expect(c.resources?.limits, role).toEqual({ cpu: '2', memory: '3Gi' });
            expect(c.command, role).toContain('--num_cpus=2');
          }
        },
      },
      unsupported: {
        spec: { network: { firewallRules: [{ name: 'office', startIp: '10.0.0.1', endIp: '10.0.0.2' }] }, highavailability: { enabled: true }, serverParameters: { work_mem: '8MB' } },
        fields: ['spec.network.firewallRules', 'spec.highavailability.enabled', 'spec.serverParameters'],
      },
      notApplicable: {
        nativeErrors: 'no cloud API: helm talks to the kube-apiserver, which neither throttles nor fails on demand here; YSQL refusing logins while it starts is retried (helmyugabyte.it.test.ts)',
      },
      close: () => sim.stop(),
    };
  },
});

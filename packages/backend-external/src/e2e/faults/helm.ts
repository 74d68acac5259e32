/**
 * helmbitnami and helmyugabyte for the fault suite: the operator as a child process through
 * standInOperator.ts runs real helm with the backend's fixture chart against the testenv control
 * plane; the kubelet simulator runs in the test process and starts a real PostgreSQL (YSQL for
 * yugabyte's tablet servers) for every StatefulSet the chart renders. The child's SQL reaches it
 * through HC_RESOLVER_URL: a loopback HTTP endpoint here that answers with the simulator's
 * resolver (the Service's selector → the pod's local PostgreSQL, as kube-proxy would).
 */
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { KubeletSimulator, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { REPO, startOperator, withLogin, type OperatorProcess } from '../harness.js';
import { rolesAndDatabases, tokenObjectsSql, type Inventory, type KillStack } from './killDuringLifecycle.js';
import { killSuite } from './killSuite.js';
import { serveResolver } from './resolverEndpoint.js';

export type HelmBackend = 'helmbitnami' | 'helmyugabyte';

const PROFILE: Record<HelmBackend, { chart: string; release: (server: string) => string; superDb: string; sim: ConstructorParameters<typeof KubeletSimulator>[1] }> = {
  helmbitnami: { chart: join(REPO, 'packages', 'backend-helm-bitnami', 'test-charts', 'postgresql'), release: (s) => `${s}-postgresql`, superDb: 'postgres', sim: {} },
  // YSQL drops connections, then refuses logins with 28P01, for a while after a tserver started (as in the conformance suite).
  helmyugabyte: { chart: join(REPO, 'packages', 'backend-helm-yugabyte', 'test-charts', 'yugabyte'), release: (s) => `${s}-yugabyte`, superDb: 'yugabyte', sim: { ysqlStartup: { refuseMs: 1000, authFailMs: 2000 } } },
};

export interface HelmWorld {
  sim: KubeletSimulator;
  /** Helm releases (any status but uninstalled), roles and databases on each release's simulated instance, volume claims left. */
  inventory(token: string): Promise<Inventory>;
  loginError(data: Record<string, string>, database?: string): Promise<string | undefined>;
  extensions(data: Record<string, string>): Promise<string[]>;
  start(opts: { id: string }): Promise<OperatorProcess>;
  stop(): Promise<void>;
}

export async function startHelmWorld(cp: ControlPlane, kc: KubeConfig, namespace: string, backend: HelmBackend): Promise<HelmWorld> {
  const profile = PROFILE[backend];
  const sim = new KubeletSimulator(kc, { namespaces: [namespace], ...profile.sim }).start();
  const core = kc.makeApiClient(CoreV1Api);
  const resolve = (host: string, port: number) => sim.resolver.resolve(undefined, { host, port });
  const endpoint = await serveResolver((_server, e) => resolve(e.host, e.port));
  const mapped = async (data: Record<string, string>): Promise<Record<string, string>> => {
    const to = await resolve(data['host'] ?? '', Number(data['port'] ?? 5432));
    return { ...data, host: to.host, port: String(to.port) };
  };
  const config = {
    backend,
    backends: { [backend]: { chart: { reference: profile.chart }, helm_binary: cp.bin.helm, pvc_cleanup: true } },
  };
  const secretData = async (name: string) => {
    const s = await core.readNamespacedSecret({ namespace, name }).catch(() => undefined);
    return s ? Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])) : undefined;
  };
  return {
    sim,
    async inventory(token) {
      const releases = [...new Set((await core.listNamespacedSecret({ namespace, labelSelector: 'owner=helm' })).items
        .filter((r) => r.metadata?.labels?.['status'] !== 'uninstalled' && r.metadata?.labels?.['name']?.includes(token))
        .map((r) => r.metadata!.labels!['name']!))];
      const listClaims = async () => (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.filter((c) => c.metadata!.name!.includes(token));
      let claimList = await listClaims();
      // Without a release, a claim whose delete was requested goes once no pod uses it (pvc-protection,
      // played by the simulator on its next tick): given 15 s; what is still there then is left behind.
      for (let waited = 0; releases.length === 0 && claimList.length > 0 && claimList.every((c) => c.metadata?.deletionTimestamp) && waited < 15_000; waited += 250) {
        await new Promise((r) => setTimeout(r, 250));
        claimList = await listClaims();
      }
      const claims = claimList.map((c) => `${c.metadata!.name!}${c.metadata?.deletionTimestamp ? '(deleting)' : ''}`);
      const names = [...releases.map((r) => `release:${r}`), ...claims.map((c) => `pvc:${c}`)];
      // Roles and databases on the server's instance, as its superuser (the admin Secret's login).
      const admin = await secretData(`s${token}-admin`);
      if (releases.length > 0 && admin?.['password']) {
        try {
          const rows = await withLogin(await mapped(admin), async (c) => (await c.query<{ n: string }>(tokenObjectsSql(token))).rows.map((r) => r.n), profile.superDb);
          names.push(...rows);
        } catch (err) {
          // Not reachable (no Service, no running pod): shown with the row's problems, counted as nothing.
          names.push(`unreachable:${(err as Error).message.split('\n')[0]!.slice(0, 160)}`);
        }
      }
      return {
        servers: releases.length,
        ...rolesAndDatabases(names),
        // Without a release, a volume claim is what is left of the server (pvc_cleanup is on).
        leftovers: releases.length === 0 ? claims.length : 0,
        names,
      };
    },
    loginError: async (data, database) => {
      try {
        await withLogin(await mapped(data), async () => undefined, database);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
    extensions: async (data) => withLogin(await mapped(data), async (c) => (await c.query<{ extname: string }>('SELECT extname FROM pg_extension')).rows.map((r) => r.extname)),
    start: (o) => startOperator({
      cp,
      id: o.id,
      script: join(import.meta.dirname, 'standInOperator.ts'),
      config: { ...config, operator: { namespace, resync_seconds: 60, log_level: process.env['HC_FAULTS_LOG_LEVEL'] ?? 'info', leader_election: { enabled: false } } },
      env: { HC_RESOLVER_URL: endpoint.url, NODE_NO_WARNINGS: '1' },
      args: ['-n', namespace],
      // SIGKILL takes helm with it, as a container kill does: an install or upgrade cut off leaves its release pending-*.
      group: true,
    }),
    async stop() {
      await endpoint.close();
      await sim.stop();
    },
  };
}

/** Row notes: restarts that found a helm install/upgrade cut off by the kill (release pending-*) and recovered it. */
export function helmNotes(restartedLogs: string[]): string | undefined {
  const recovered = restartedLogs.filter((l) => l.includes('removing the record of a helm operation that was interrupted')).length;
  return recovered > 0 ? `helm operations cut off by the kill (release pending-*) and recovered after the restart: ${recovered}` : undefined;
}

/**
 * The SIGKILL scenario for a helm backend: one release per server, its role and database on the
 * release's simulated instance; `size` and `updatedSize` are the server's sizes before and after
 * the update phase, which is done once the StatefulSet `statefulSet(server)` runs with 2 CPUs.
 */
export function helmKillSuite(backend: HelmBackend, o: { size: Record<string, number>; updatedSize: Record<string, number> & { cpu: 2 }; statefulSet: (server: string) => string; windowMs: KillStack['windowMs'] }): void {
  killSuite({
    backend,
    claim: 'one release per server, nothing left after delete, logins work',
    onlyInFaults: true,
    async setup(cp, w) {
      const kc = cp.kubeConfig();
      const apps = kc.makeApiClient(AppsV1Api);
      const helm = await startHelmWorld(cp, kc, w.ns, backend);
      return {
        stop: () => helm.stop(),
        stack: {
          start: () => helm.start({ id: `faults-${w.ns}` }),
          serverSpec: { size: o.size },
          serverUpdate: {
            spec: { size: o.updatedSize },
            done: async (token) => (await apps.readNamespacedStatefulSet({ namespace: w.ns, name: o.statefulSet(`s${token}`) })).spec?.template.spec?.containers[0]?.resources?.limits?.['cpu'] === '2',
          },
          inventory: (token) => helm.inventory(token),
          // One release, and on its instance the database's role and database (the admin role is the chart's).
          expected: { servers: 1, roles: 1, databases: 1 },
          windowMs: o.windowMs,
          loginError: (data, database) => helm.loginError(data, database),
          extensions: (data) => helm.extensions(data),
          timeoutMs: 120_000,
          notes: helmNotes,
        },
      };
    },
  });
}

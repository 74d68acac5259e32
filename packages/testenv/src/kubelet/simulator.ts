/**
 * Plays the kubelet (and the StatefulSet controller) for database charts on a control plane that
 * has neither: for every StatefulSet a chart rendered it creates the volume claims from the claim
 * templates (labels: template labels + selector, as the StatefulSet controller does), runs a real
 * PostgreSQL for each volume the way the chart's image would (password from the Secret the pod
 * spec references — `*_FILE` through the mounted Secret volume first, as the Bitnami images read
 * it — used only when the volume is empty; YugabyteDB tservers Ready while YSQL still refuses
 * logins, see ysqlGate.ts), and writes the StatefulSet status
 * (readyReplicas, observedGeneration, revisions). A changed pod template restarts the "pod".
 * Volumes are directories that live as long as their claim does.
 *
 * `resolver` maps in-cluster service names to the local servers, through the real Service
 * selector, for the operator's ConnectionResolver.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Container,
  type V1PersistentVolumeClaim,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { onExitSync } from '../processes.js';
import { PostgresInstance } from './postgresInstance.js';
import { YsqlGate, type YsqlStartup } from './ysqlGate.js';

/** How the image in a StatefulSet initialises PostgreSQL; undefined = not a database pod (marked ready, nothing runs). */
export interface PodProfile {
  name: string;
  /** Returns the init parameters, or undefined when this profile does not apply. `secret` reads a Secret key (undefined when missing). */
  match(sts: V1StatefulSet, secret: (name: string, key: string) => Promise<string | undefined>): Promise<{ superuser: string; password: string | undefined; auth?: 'scram-sha-256' | 'md5'; databases?: string[]; ysql?: true } | 'ignore' | undefined>;
}

async function envValue(c: V1Container, name: string, secret: (n: string, k: string) => Promise<string | undefined>): Promise<string | undefined> {
  const e = c.env?.find((x) => x.name === name);
  if (!e) return undefined;
  if (e.value !== undefined) return e.value;
  const ref = e.valueFrom?.secretKeyRef;
  if (ref?.name && ref.key) return secret(ref.name, ref.key);
  return undefined;
}

/**
 * The content of a file in the container as the kubelet mounts it: the longest volumeMount that
 * contains `path`, a `secret` volume (all keys as files, or `items` key → path), subPath honoured.
 * undefined when no Secret volume holds that file (the image then finds no file).
 */
async function mountedFile(sts: V1StatefulSet, c: V1Container, path: string, secret: (n: string, k: string) => Promise<string | undefined>): Promise<string | undefined> {
  const mounts = (c.volumeMounts ?? [])
    .map((m) => ({ m, dir: m.mountPath.replace(/\/+$/, '') }))
    .filter(({ dir }) => path.startsWith(`${dir}/`))
    .sort((a, b) => b.dir.length - a.dir.length);
  const hit = mounts[0];
  if (!hit) return undefined;
  const vol = sts.spec?.template.spec?.volumes?.find((v) => v.name === hit.m.name);
  if (!vol?.secret?.secretName) return undefined;
  const rel = [hit.m.subPath, path.slice(hit.dir.length + 1)].filter((x) => x).join('/');
  const items = vol.secret.items;
  const key = items ? items.find((i) => i.path === rel)?.key : rel;
  return key === undefined ? undefined : secret(vol.secret.secretName, key);
}

/**
 * A variable the way the Bitnami images read it (`libos` / `postgresql-env.sh`): `<NAME>_FILE`
 * wins and names a file whose content (trailing newlines stripped) becomes the value, an unreadable
 * file leaves the variable unset; `POSTGRESQL_*` and `POSTGRES_*` are aliases.
 */
async function bitnamiEnv(sts: V1StatefulSet, c: V1Container, name: string, secret: (n: string, k: string) => Promise<string | undefined>): Promise<string | undefined> {
  const suffix = name.replace(/^POSTGRES(QL)?_/, '');
  for (const n of [`POSTGRESQL_${suffix}`, `POSTGRES_${suffix}`]) {
    const file = await envValue(c, `${n}_FILE`, secret);
    if (file) {
      const content = await mountedFile(sts, c, file, secret);
      return content === undefined ? undefined : content.replace(/\n+$/, '');
    }
  }
  for (const n of [`POSTGRESQL_${suffix}`, `POSTGRES_${suffix}`]) {
    const v = await envValue(c, n, secret);
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * bitnami/postgresql image (chart 17.1.0): the `postgres` password from POSTGRES_PASSWORD, or
 * POSTGRES_POSTGRES_PASSWORD with a custom POSTGRES_USER, each read from `<NAME>_FILE` when set
 * (the chart's default `auth.usePasswordFiles: true` mounts the Secret as files).
 */
export const bitnamiProfile: PodProfile = {
  name: 'bitnami-postgresql',
  async match(sts, secret) {
    const c = sts.spec?.template.spec?.containers.find((x) => x.name === 'postgresql');
    if (!c) return undefined;
    const custom = await bitnamiEnv(sts, c, 'POSTGRES_USER', secret);
    const password = custom && custom !== 'postgres' ? await bitnamiEnv(sts, c, 'POSTGRES_POSTGRES_PASSWORD', secret) : await bitnamiEnv(sts, c, 'POSTGRES_PASSWORD', secret);
    return { superuser: 'postgres', password };
  },
};

/**
 * yugabytedb/yugabyte: tservers serve YSQL; with auth enabled the `yugabyte` user starts with
 * password `yugabyte`. Masters run nothing here. No readiness probe (the chart's default): the pod
 * is Ready while YSQL still starts (`KubeletSimulatorOptions.ysqlStartup`).
 */
export const yugabyteProfile: PodProfile = {
  name: 'yugabyte',
  async match(sts) {
    const name = sts.metadata?.name ?? '';
    if (/(^|-)yb-master$/.test(name)) return 'ignore';
    if (/(^|-)yb-tserver$/.test(name)) return { superuser: 'yugabyte', password: 'yugabyte', auth: 'md5', databases: ['yugabyte'], ysql: true };
    return undefined;
  },
};

interface Pod {
  namespace: string;
  statefulSet: string;
  ordinal: number;
  generation: number;
  labels: Record<string, string>;
  db?: PostgresInstance;
  /** YSQL start-up phases in front of db (yugabyte tservers). */
  gate?: YsqlGate;
  claim?: string;
}

export interface KubeletSimulatorOptions {
  profiles?: PodProfile[];
  /** Only these namespaces (default: all). */
  namespaces?: string[];
  intervalMs?: number;
  /**
   * How long a YugabyteDB tablet server's YSQL port drops connections and then refuses every login
   * with 28P01 after the pod started and was marked Ready (default 300 ms + 700 ms; 0 + 0 = off).
   */
  ysqlStartup?: YsqlStartup;
}

export class KubeletSimulator {
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly profiles: PodProfile[];
  private readonly pods = new Map<string, Pod>();
  /** Volumes by `<namespace>/<claim>`. */
  private readonly volumes = new Map<string, PostgresInstance>();
  private readonly baseDir: string;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private tickRunning: Promise<void> | undefined;
  /** Last error of a tick, for test diagnostics. */
  lastError: unknown;

  constructor(kubeConfig: KubeConfig, private readonly opts: KubeletSimulatorOptions = {}) {
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.profiles = opts.profiles ?? [bitnamiProfile, yugabyteProfile];
    this.baseDir = mkdtempSync(join(tmpdir(), 'kubelet-sim-'));
    chmodSync(this.baseDir, 0o755);
    const baseDir = this.baseDir;
    this.removeBaseDir = onExitSync(() => rmSync(baseDir, { recursive: true, force: true }));
  }

  private readonly removeBaseDir: () => void;

  start(): this {
    const loop = () => {
      if (this.stopped) return;
      this.tickRunning = this.tick()
        .catch((err) => {
          this.lastError = err;
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.opts.intervalMs ?? 300);
        });
    };
    loop();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.tickRunning;
    for (const p of this.pods.values()) await p.gate?.stop();
    for (const v of this.volumes.values()) await v.stop();
    rmSync(this.baseDir, { recursive: true, force: true });
    this.removeBaseDir();
  }

  /** The local server behind a pod of a StatefulSet, for assertions. */
  instance(namespace: string, statefulSet: string, ordinal = 0): PostgresInstance | undefined {
    return this.pods.get(`${namespace}/${statefulSet}-${ordinal}`)?.db;
  }

  /** In-cluster DNS → local address, through the Service's selector (kube-proxy's job). */
  readonly resolver = {
    resolve: async (_server: unknown, endpoint: { host: string; port: number }): Promise<{ host: string; port: number }> => {
      const m = /^([^.]+)\.([^.]+)\.svc(\.cluster\.local)?$/.exec(endpoint.host);
      if (!m) throw new Error(`kubelet simulator: ${endpoint.host} is not a service name`);
      const [, svcName, namespace] = m as unknown as [string, string, string];
      const svc = await this.core.readNamespacedService({ name: svcName, namespace });
      const selector = svc.spec?.selector ?? {};
      for (const pod of this.pods.values()) {
        if (pod.namespace !== namespace || !pod.db?.isRunning) continue;
        if (Object.entries(selector).every(([k, v]) => pod.labels[k] === v)) return { host: '127.0.0.1', port: pod.gate?.port ?? pod.db.port };
      }
      throw new Error(`kubelet simulator: no running pod behind service ${namespace}/${svcName}`);
    },
  };

  private async listStatefulSets(): Promise<V1StatefulSet[]> {
    if (!this.opts.namespaces) return (await this.apps.listStatefulSetForAllNamespaces()).items;
    const out: V1StatefulSet[] = [];
    for (const namespace of this.opts.namespaces) out.push(...(await this.apps.listNamespacedStatefulSet({ namespace })).items);
    return out;
  }

  private async listClaims(): Promise<V1PersistentVolumeClaim[]> {
    if (!this.opts.namespaces) return (await this.core.listPersistentVolumeClaimForAllNamespaces()).items;
    const out: V1PersistentVolumeClaim[] = [];
    for (const namespace of this.opts.namespaces) out.push(...(await this.core.listNamespacedPersistentVolumeClaim({ namespace })).items);
    return out;
  }

  private secretReader(namespace: string) {
    return async (name: string, key: string): Promise<string | undefined> => {
      try {
        const s = await this.core.readNamespacedSecret({ name, namespace });
        const v = s.data?.[key];
        return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
      } catch {
        return undefined;
      }
    };
  }

  private async secretExists(namespace: string, name: string): Promise<boolean> {
    try {
      await this.core.readNamespacedSecret({ name, namespace });
      return true;
    } catch {
      return false;
    }
  }

  private async tick(): Promise<void> {
    const sets = await this.listStatefulSets();
    const seen = new Set<string>();
    for (const sts of sets) {
      const namespace = sts.metadata!.namespace!;
      const name = sts.metadata!.name!;
      if (sts.metadata?.deletionTimestamp) continue;
      const replicas = sts.spec?.replicas ?? 1;
      const generation = sts.metadata?.generation ?? 1;
      let ready = 0;
      for (let ordinal = 0; ordinal < replicas; ordinal++) {
        const key = `${namespace}/${name}-${ordinal}`;
        seen.add(key);
        const claims = await this.ensureClaims(sts, ordinal);
        if (await this.runPod(sts, ordinal, generation, claims[0])) ready++;
      }
      await this.writeStatus(sts, replicas, ready, generation);
    }
    // Pods of StatefulSets that are gone (or scaled down) stop; their volumes stay with their claims.
    for (const [key, pod] of this.pods) {
      if (!seen.has(key)) {
        await pod.gate?.stop();
        await pod.db?.stop();
        this.pods.delete(key);
      }
    }
    // The pvc-protection controller: a deleted claim no running pod uses loses its finalizer.
    const all = await this.listClaims();
    const inUse = new Set([...this.pods.values()].filter((p) => p.db?.isRunning && p.claim).map((p) => `${p.namespace}/${p.claim}`));
    for (const c of all) {
      const key = `${c.metadata!.namespace}/${c.metadata!.name}`;
      if (c.metadata?.deletionTimestamp && c.metadata.finalizers?.includes('kubernetes.io/pvc-protection') && !inUse.has(key)) {
        await this.core
          .replaceNamespacedPersistentVolumeClaim({
            name: c.metadata.name!,
            namespace: c.metadata.namespace!,
            body: { ...c, metadata: { ...c.metadata, finalizers: c.metadata.finalizers.filter((f) => f !== 'kubernetes.io/pvc-protection') } },
          })
          .catch(() => undefined);
      }
    }
    // Volumes whose claim was deleted are gone for good.
    const claims = new Set(all.filter((c) => !c.metadata?.deletionTimestamp).map((c) => `${c.metadata!.namespace}/${c.metadata!.name}`));
    const emptyDirs = new Set([...this.pods.values()].map((p) => `${p.namespace}/emptydir-${p.statefulSet}-${p.ordinal}`));
    for (const [key, vol] of this.volumes) {
      // A pod's emptyDir lives as long as the pod; a claim's volume as long as the claim.
      const isEmptyDir = /^[^/]+\/emptydir-/.test(key);
      if (isEmptyDir ? !emptyDirs.has(key) : !claims.has(key)) {
        await vol.destroy();
        this.volumes.delete(key);
      }
    }
  }

  private async ensureClaims(sts: V1StatefulSet, ordinal: number): Promise<string[]> {
    const namespace = sts.metadata!.namespace!;
    const names: string[] = [];
    for (const tpl of sts.spec?.volumeClaimTemplates ?? []) {
      const name = `${tpl.metadata!.name}-${sts.metadata!.name}-${ordinal}`;
      names.push(name);
      try {
        await this.core.readNamespacedPersistentVolumeClaim({ name, namespace });
      } catch {
        await this.core
          .createNamespacedPersistentVolumeClaim({
            namespace,
            body: {
              apiVersion: 'v1',
              kind: 'PersistentVolumeClaim',
              metadata: { name, namespace, labels: { ...(tpl.metadata?.labels ?? {}), ...(sts.spec?.selector?.matchLabels ?? {}) } },
              spec: tpl.spec!,
            },
          })
          .catch(() => undefined);
      }
    }
    return names;
  }

  /** Runs (or keeps running) the pod; true when it is ready. */
  private async runPod(sts: V1StatefulSet, ordinal: number, generation: number, claim: string | undefined): Promise<boolean> {
    const namespace = sts.metadata!.namespace!;
    const key = `${namespace}/${sts.metadata!.name}-${ordinal}`;
    const labels = sts.spec?.template.metadata?.labels ?? {};
    let pod = this.pods.get(key);
    if (pod && pod.generation !== generation) {
      // New pod template: the controller replaces the pod; the volume stays.
      await pod.gate?.stop();
      await pod.db?.stop();
      this.pods.delete(key);
      pod = undefined;
    }
    if (pod) {
      if (!pod.db || pod.db.isRunning) return true;
      // The server died: the kubelet restarts the container (next tick), not ready meanwhile.
      await pod.gate?.stop();
      this.pods.delete(key);
      return false;
    }
    // Secret volumes that are not optional must exist, or the kubelet never starts the pod (FailedMount).
    for (const v of sts.spec?.template.spec?.volumes ?? []) {
      if (v.secret?.secretName && !v.secret.optional && !(await this.secretExists(namespace, v.secret.secretName))) return false;
    }
    let plan: Awaited<ReturnType<PodProfile['match']>>;
    for (const p of this.profiles) {
      plan = await p.match(sts, this.secretReader(namespace));
      if (plan) break;
    }
    if (!plan || plan === 'ignore') {
      this.pods.set(key, { namespace, statefulSet: sts.metadata!.name!, ordinal, generation, labels });
      return true;
    }
    if (plan.password === undefined) return false; // CreateContainerConfigError: the Secret is missing
    const volumeKey = `${namespace}/${claim ?? `emptydir-${sts.metadata!.name}-${ordinal}`}`;
    let db = this.volumes.get(volumeKey);
    if (!db) {
      db = new PostgresInstance(join(this.baseDir, volumeKey.replace(/[^a-zA-Z0-9-]/g, '_')));
      this.volumes.set(volumeKey, db);
    }
    await db.start({ superuser: plan.superuser, password: plan.password, ...(plan.auth ? { auth: plan.auth } : {}), ...(plan.databases ? { databases: plan.databases } : {}) });
    const startup = this.opts.ysqlStartup ?? { refuseMs: 300, authFailMs: 700 };
    const gate = plan.ysql && startup.refuseMs + startup.authFailMs > 0 ? await new YsqlGate(db.port, startup).start() : undefined;
    this.pods.set(key, { namespace, statefulSet: sts.metadata!.name!, ordinal, generation, labels, db, ...(gate ? { gate } : {}), ...(claim ? { claim } : {}) });
    return true;
  }

  private async writeStatus(sts: V1StatefulSet, replicas: number, ready: number, generation: number): Promise<void> {
    const st = sts.status;
    const revision = `${sts.metadata!.name}-${generation}`;
    if (st?.readyReplicas === ready && st.observedGeneration === generation && st.replicas === replicas && st.updateRevision === revision) return;
    await this.apps
      .replaceNamespacedStatefulSetStatus({
        name: sts.metadata!.name!,
        namespace: sts.metadata!.namespace!,
        body: {
          ...sts,
          status: {
            replicas,
            readyReplicas: ready,
            availableReplicas: ready,
            currentReplicas: replicas,
            updatedReplicas: replicas,
            observedGeneration: generation,
            currentRevision: revision,
            updateRevision: revision,
          },
        },
      })
      .catch(() => undefined);
  }
}

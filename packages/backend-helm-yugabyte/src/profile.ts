/**
 * yugabytedb/yugabyte: one release `{name}-yugabyte` per server. New installs use the chart's
 * `oldNamingStyle: false`, which prefixes every object with the release (`<release>-yb-tservers`),
 * so several clusters can share a namespace; releases the Python operator made (old naming: fixed
 * `yb-tservers`, one per namespace) are adopted with their naming kept.
 *
 * The YSQL password comes from `authCredentials.ysql.passwordSecretName` (key ysqlPassword). The
 * chart applies it with a post-install hook Job helm would wait for (blocking a worker for
 * minutes), so helm runs with --no-hooks and the operator changes the default password
 * (yugabyte/yugabyte) itself over YSQL once the tablet servers are ready.
 */
import type { Endpoint, Problem, ServerRequest } from '@hybridcloud-postgresql/core';
import { asString, chartReference, pickClass, valuesImageTagAt, valueAt, withImageTagAt, type ChartProfile, type LegacyComparison, type LiveRelease, type RenderedValues } from '@hybridcloud-postgresql/helm-common';
import { DEFAULT_CHART, type YugabyteConfig } from './config.js';

export const YSQL_PASSWORD_KEY = 'ysqlPassword';
export const YSQL_PORT = 5433;
/** Default YSQL superuser and its password when auth is enabled. */
export const YSQL_USER = 'yugabyte';

/** YugabyteDB release series: '2.13.0.0-b42' → '2.13', '2024.2.1.0-b185' → '2024.2'. Upgrades across series need YugabyteDB's own procedure. */
export function yugabyteSeries(version: string): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(version.trim());
  return m ? `${m[1]}.${m[2]}` : undefined;
}

const str = asString;

const get = valueAt;

/** Values of the Python operator: the YSQL password in the values, no passwordSecretName. */
function isPythonRelease(live?: LiveRelease): boolean {
  return live !== undefined && typeof get(live.values, ['authCredentials', 'ysql', 'password']) === 'string' && !get(live.values, ['authCredentials', 'ysql', 'passwordSecretName']);
}

/**
 * A CPU quantity as a plain number of CPUs ('1000m' → '1', '500m' → '0.5', 2 → '2'). The chart
 * writes `--num_cpus={{ ceil resource.<role>.requests.cpu }}` into the gflags (2026.1.0
 * master-gflags-secret.yaml L60, tserver-gflags-secret.yaml L75), and sprig's ceil reads '1000m'
 * as 0: YugabyteDB then sizes its thread pools for every core of the node. Kubernetes takes the
 * same amount either way.
 */
export function wholeCpus(cpu: string | number): string {
  const v = String(cpu).trim();
  const m = /^(\d+(?:\.\d+)?)m$/.exec(v);
  if (!m) return v;
  const n = Number(m[1]) / 1000;
  return String(Number(n.toFixed(3)));
}

/** The chart truncates its full name to 43 characters. */
const MAX_RELEASE = 43;

export class YugabyteProfile implements ChartProfile {
  readonly id = 'helmyugabyte';
  readonly chart;
  readonly noHooks = true;
  readonly pvcCleanup: boolean;
  readonly helmTimeoutSeconds: number;
  readonly adminSecretKey = YSQL_PASSWORD_KEY;
  readonly initialPassword = YSQL_USER;
  readonly passwordFormat = 'md5' as const;
  /** Readiness probes are off in the chart: Ready pods do not mean YSQL takes logins. */
  readonly loginReadiness = true;
  readonly startupAuthGraceMs: number;
  readonly product = 'YugabyteDB';
  readonly keepPythonReleases: boolean;

  constructor(private readonly config: YugabyteConfig) {
    this.chart = chartReference(config.chart, DEFAULT_CHART);
    this.pvcCleanup = config.pvc_cleanup;
    this.helmTimeoutSeconds = config.helm_timeout_seconds;
    this.keepPythonReleases = config.python_releases === 'keep';
    this.startupAuthGraceMs = config.ysql_startup_grace_seconds * 1000;
  }

  releaseName(s: ServerRequest): string {
    return `${s.name}-yugabyte`;
  }

  adminSecretName(s: ServerRequest): string {
    return `${this.releaseName(s)}-ysql-admin`;
  }

  adminUsername(): string {
    return YSQL_USER;
  }

  superuser(): string {
    return YSQL_USER;
  }

  /** Installs of the Python operator used the chart's default old naming style. */
  private oldNaming(live?: LiveRelease): boolean {
    return live !== undefined && live.values['oldNamingStyle'] !== false;
  }

  private prefix(s: ServerRequest, live?: LiveRelease): string {
    return this.oldNaming(live) ? '' : `${this.releaseName(s)}-`;
  }

  validate(s: ServerRequest): Problem[] {
    const problems: Problem[] = [];
    if (this.releaseName(s).length > MAX_RELEASE) {
      problems.push({ field: 'metadata.name', message: `the release name ${this.releaseName(s)} is longer than ${MAX_RELEASE} characters; the chart would truncate it and object names could collide` });
    }
    return problems;
  }

  private resources(s: ServerRequest, warnings: RenderedValues['warnings']): { master: { cpu: string; memory: string }; tserver: { cpu: string; memory: string } } {
    const size = s.spec.size ?? {};
    const useClass = size.class !== undefined || (size.cpu === undefined && size.memoryMB === undefined);
    if (useClass) {
      const picked = pickClass(size.class, this.config.classes, this.config.default_class);
      if (picked.warning) warnings.push(picked.warning);
      if (picked.cls) {
        for (const [role, r] of Object.entries(picked.cls)) {
          if (!/^\d+Gi?$/.test(r.memory)) warnings.push({ reason: 'MemoryNotWholeGi', message: `Class ${picked.name}: ${role} memory ${r.memory} is not whole Gi; the chart derives memory_limit_hard_bytes from the number as Gi.` });
        }
        return { master: { cpu: wholeCpus(picked.cls.master.cpu), memory: picked.cls.master.memory }, tserver: { cpu: wholeCpus(picked.cls.tserver.cpu), memory: picked.cls.tserver.memory } };
      }
    }
    const cpu = wholeCpus(size.cpu ?? this.config.default_cpu);
    const memory = `${size.memoryMB !== undefined ? Math.max(1, Math.ceil(size.memoryMB / 1024)) : this.config.default_memory_gb}Gi`;
    if (size.memoryMB !== undefined && size.memoryMB % 1024 !== 0) warnings.push({ reason: 'MemoryRounded', message: `memoryMB ${size.memoryMB} is rounded up to ${memory}: YugabyteDB sizes memory in whole Gi.` });
    return { master: { cpu, memory }, tserver: { cpu, memory } };
  }

  private imageTag(s: ServerRequest, warnings: RenderedValues['warnings']): string | undefined {
    const version = s.spec.version?.trim();
    if (this.config.image.tag) {
      if (version && version !== 'latest') warnings.push({ reason: 'VersionIgnored', message: `spec.version ${version} is ignored: the operator admin fixed the image tag to ${this.config.image.tag}.` });
      return this.config.image.tag;
    }
    if (!version || version === 'latest') return undefined;
    const mapped = this.config.version_tags[version];
    if (!mapped) warnings.push({ reason: 'VersionUnavailable', message: `spec.version ${version} has no YugabyteDB image configured (version_tags); using the chart's default. YSQL is PostgreSQL 11/15-compatible depending on the YugabyteDB release.` });
    return mapped;
  }

  values(s: ServerRequest, live?: LiveRelease): RenderedValues {
    const warnings: RenderedValues['warnings'] = [];
    const res = this.resources(s, warnings);
    const tag = this.imageTag(s, warnings);
    const storageGB = s.spec.size?.storageGB ?? this.config.default_storage_gb;
    const liveSize = (live?.values['storage'] as { tserver?: { size?: unknown } } | undefined)?.tserver?.size;
    const size = typeof liveSize === 'string' ? liveSize : `${storageGB}Gi`;
    if (typeof liveSize === 'string' && liveSize !== `${storageGB}Gi`) {
      warnings.push({ reason: 'StorageResizeUnsupported', message: `The volumes stay at ${liveSize}: the chart cannot change the size of existing volumes (requested ${storageGB}Gi).` });
    }
    const volume = { count: 1, size, ...(this.config.storage_class ? { storageClass: this.config.storage_class } : {}) };
    const both = (r: { cpu: string; memory: string }) => ({ requests: { cpu: r.cpu, memory: r.memory }, limits: { cpu: r.cpu, memory: r.memory } });
    const values: Record<string, unknown> = {
      oldNamingStyle: this.oldNaming(live),
      Component: this.releaseName(s),
      ...(this.config.image.repository || tag ? { Image: { ...(this.config.image.repository ? { repository: this.config.image.repository } : {}), ...(tag ? { tag } : {}) } } : {}),
      storage: { ephemeral: false, master: volume, tserver: volume },
      resource: { master: both(res.master), tserver: both(res.tserver) },
      replicas: { master: this.config.replicas_master, tserver: this.config.replicas_tserver },
      partition: { master: this.config.partitions_master, tserver: this.config.partitions_tserver },
      authCredentials: { ysql: { passwordSecretName: this.adminSecretName(s) } },
      gflags: { master: { ysql_enable_auth: true }, tserver: { ysql_enable_auth: true } },
      // The yugabyted-ui sidecar has no resources in the chart (none can be set) and gets the YSQL
      // password only from authCredentials.ysql.password, which the operator never writes into
      // values: it would run unbounded and log in with the default password the operator replaces.
      yugabytedUi: { enabled: false },
      enableLoadBalancer: false,
      serviceEndpoints: [],
    };
    return { values, warnings };
  }

  /** Releases of the Python operator (old naming) keep its Secret's dbname `postgres`; new ones use `yugabyte`. */
  endpoint(s: ServerRequest, live?: LiveRelease): Endpoint {
    return { host: `${this.prefix(s, live)}yb-tservers.${s.namespace}.svc.cluster.local`, port: YSQL_PORT, sslmode: 'disable', adminUsername: YSQL_USER, adminDatabase: this.oldNaming(live) ? 'postgres' : 'yugabyte' };
  }

  statefulSets(s: ServerRequest, live?: LiveRelease): string[] {
    const p = this.prefix(s, live);
    return [`${p}yb-master`, `${p}yb-tserver`];
  }

  /** The Python operator put the password into the values (authCredentials.ysql.password). */
  async legacyPassword(_s: ServerRequest, _read: unknown, live?: LiveRelease): Promise<string | undefined> {
    const pw = (live?.values['authCredentials'] as { ysql?: { password?: unknown } } | undefined)?.ysql?.password;
    return typeof pw === 'string' && pw ? pw : undefined;
  }

  majorOf(version: string): string | undefined {
    return yugabyteSeries(version);
  }

  valuesImageTag(values: Record<string, unknown>): string | undefined {
    return valuesImageTagAt(values, 'Image');
  }

  withImageTag(values: Record<string, unknown>, tag: string): Record<string, unknown> {
    return withImageTagAt(values, 'Image', tag);
  }

  /**
   * The Python operator rendered resources (class master/tserver when size.class and default_class
   * are set, else cpu default 1 and memoryMB default 256 Mi for both), volume sizes (storageGB
   * default 10), replicas and partitions. Unchanged when resources, sizes and replicas still match.
   */
  comparePythonRelease(s: ServerRequest, live: LiveRelease): LegacyComparison | undefined {
    if (!isPythonRelease(live)) return undefined;
    const size = s.spec.size ?? {};
    const classes = this.config.classes;
    const cls = size.class && this.config.default_class ? (classes[size.class] ?? classes[this.config.default_class]) : undefined;
    const plain = { cpu: String(size.cpu ?? '1'), memory: `${size.memoryMB ?? 256}Mi` };
    const py = { master: cls ? { cpu: String(cls.master.cpu), memory: cls.master.memory } : plain, tserver: cls ? { cpu: String(cls.tserver.cpu), memory: cls.tserver.memory } : plain };
    const pySize = `${size.storageGB ?? 10}Gi`;
    const liveRes = (role: string) => ({ cpu: str(get(live.values, ['resource', role, 'limits', 'cpu'])), memory: str(get(live.values, ['resource', role, 'limits', 'memory'])) });
    let unchanged = true;
    for (const role of ['master', 'tserver'] as const) {
      const l = liveRes(role);
      if (l.cpu !== py[role].cpu || l.memory !== py[role].memory) unchanged = false;
      if (str(get(live.values, ['storage', role, 'size'])) !== pySize) unchanged = false;
      const replicas = role === 'master' ? this.config.replicas_master : this.config.replicas_tserver;
      if (str(get(live.values, ['replicas', role])) !== String(replicas)) unchanged = false;
    }
    const differences: string[] = [];
    const ours = this.resources(s, []);
    for (const role of ['master', 'tserver'] as const) {
      const l = liveRes(role);
      if (ours[role].cpu !== l.cpu || ours[role].memory !== l.memory) {
        differences.push(`${role} resources: this operator would set cpu ${ours[role].cpu} / memory ${ours[role].memory} (default memory is now ${this.config.default_memory_gb}Gi, was 256Mi), the release runs cpu ${l.cpu ?? 'unset'} / memory ${l.memory ?? 'unset'}`);
      }
    }
    return { unchanged, differences };
  }
}

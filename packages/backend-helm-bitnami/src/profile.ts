/**
 * bitnami/postgresql: one standalone release `{name}-postgresql` per server (the original's release
 * name, so its installs are adopted), admin password from `auth.existingSecret`.
 */
import type { Endpoint, Problem, ServerRequest } from '@hybridcloud-postgresql/core';
import { asString, chartReference, pickClass, valuesImageTagAt, valueAt, withImageTagAt, type ChartProfile, type LegacyComparison, type LiveRelease, type RenderedValues } from '@hybridcloud-postgresql/helm-common';
import { DEFAULT_CHART, type BitnamiConfig } from './config.js';

/** Key the chart reads the postgres password from (auth.secretKeys.adminPasswordKey default). */
export const ADMIN_PASSWORD_KEY = 'postgres-password';

const get = valueAt;

/** '14.5.0-debian-11-r14' → '14', '16' → '16', '9.6.24' → '9.6' (before 10 the major had two parts). */
export function postgresMajor(version: string): string | undefined {
  const m = /^(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (!m) return undefined;
  return Number(m[1]) < 10 && m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1];
}

const str = asString;

/** Values of the Python operator: the password in global.postgresql.auth, no existingSecret. */
function isPythonRelease(live?: LiveRelease): boolean {
  return live !== undefined && typeof get(live.values, ['global', 'postgresql', 'auth', 'postgresPassword']) === 'string' && !get(live.values, ['auth', 'existingSecret']);
}

export class BitnamiProfile implements ChartProfile {
  readonly id = 'helmbitnami';
  readonly chart;
  readonly noHooks = false;
  readonly pvcCleanup: boolean;
  readonly helmTimeoutSeconds: number;
  readonly adminSecretKey = ADMIN_PASSWORD_KEY;
  readonly product = 'PostgreSQL';
  readonly keepPythonReleases: boolean;

  constructor(private readonly config: BitnamiConfig) {
    this.chart = chartReference(config.chart, DEFAULT_CHART);
    this.pvcCleanup = config.pvc_cleanup;
    this.helmTimeoutSeconds = config.helm_timeout_seconds;
    this.keepPythonReleases = config.python_releases === 'keep';
  }

  releaseName(s: ServerRequest): string {
    return `${s.name}-postgresql`;
  }

  adminSecretName(s: ServerRequest): string {
    return `${this.releaseName(s)}-admin`;
  }

  /** The Python operator ignored admin_username: its releases keep `postgres` until they are upgraded. */
  adminUsername(_s?: ServerRequest, live?: LiveRelease): string {
    return isPythonRelease(live) ? 'postgres' : this.config.admin_username;
  }

  superuser(): string {
    return 'postgres';
  }

  validate(s: ServerRequest): Problem[] {
    const problems: Problem[] = [];
    // Service, StatefulSet and the "-hl" headless Service carry the release name: DNS labels are ≤ 63.
    if (this.releaseName(s).length > 60) problems.push({ field: 'metadata.name', message: `the release name ${this.releaseName(s)} is longer than 60 characters (the chart adds "-hl" for its headless Service)` });
    const storage = s.spec.size?.storageGB;
    if (storage !== undefined && storage < 1) problems.push({ field: 'spec.size.storageGB', message: 'must be at least 1' });
    return problems;
  }

  private imageTag(s: ServerRequest, warnings: RenderedValues['warnings']): string | undefined {
    const version = s.spec.version?.trim();
    if (this.config.image.tag) {
      if (version && version !== 'latest') warnings.push({ reason: 'VersionIgnored', message: `spec.version ${version} is ignored: the operator admin fixed the image tag to ${this.config.image.tag}.` });
      return this.config.image.tag;
    }
    if (!version || version === 'latest') return undefined;
    const mapped = this.config.version_tags[version];
    if (mapped) return mapped;
    if (Object.keys(this.config.version_tags).length > 0) {
      warnings.push({ reason: 'VersionUnavailable', message: `PostgreSQL ${version} is not offered (configured: ${Object.keys(this.config.version_tags).join(', ')}); using the chart's default version.` });
      return undefined;
    }
    if (!/^\d+(\.\d+){0,2}$/.test(version)) {
      warnings.push({ reason: 'VersionUnavailable', message: `spec.version '${version}' is not a PostgreSQL version; using the chart's default version.` });
      return undefined;
    }
    return version;
  }

  private resources(s: ServerRequest, warnings: RenderedValues['warnings']): { cpu: string; memory: string } {
    const size = s.spec.size ?? {};
    const useClass = size.class !== undefined || (size.cpu === undefined && size.memoryMB === undefined);
    if (useClass) {
      const picked = pickClass(size.class, this.config.classes, this.config.default_class);
      if (picked.warning) warnings.push(picked.warning);
      if (picked.cls) return { cpu: String(picked.cls.cpu), memory: picked.cls.memory };
    }
    return { cpu: String(size.cpu ?? this.config.default_cpu), memory: `${size.memoryMB ?? this.config.default_memory_mb}Mi` };
  }

  values(s: ServerRequest, live?: LiveRelease): RenderedValues {
    const warnings: RenderedValues['warnings'] = [];
    const { cpu, memory } = this.resources(s, warnings);
    const tag = this.imageTag(s, warnings);
    const storageGB = s.spec.size?.storageGB ?? this.config.default_storage_gb;
    // The volume claim template of a StatefulSet is immutable: an existing release keeps its size
    // (growing a volume is a change of the claim itself, reported below).
    const liveSize = get(live?.values, ['primary', 'persistence', 'size']);
    const size = typeof liveSize === 'string' ? liveSize : `${storageGB}Gi`;
    if (typeof liveSize === 'string' && liveSize !== `${storageGB}Gi`) {
      warnings.push({ reason: 'StorageResizeUnsupported', message: `The volume stays at ${liveSize}: the chart cannot change the size of an existing volume (requested ${storageGB}Gi). Resize the PersistentVolumeClaim data-${this.releaseName(s)}-0 if the storage class allows expansion.` });
    }
    const values: Record<string, unknown> = {
      fullnameOverride: this.releaseName(s),
      architecture: 'standalone',
      auth: {
        enablePostgresUser: true,
        existingSecret: this.adminSecretName(s),
        secretKeys: { adminPasswordKey: ADMIN_PASSWORD_KEY },
      },
      image: {
        registry: this.config.image.registry,
        repository: this.config.image.repository,
        ...(tag ? { tag } : {}),
        ...(this.config.image.pull_secrets.length > 0 ? { pullSecrets: this.config.image.pull_secrets } : {}),
      },
      primary: {
        resourcesPreset: 'none',
        resources: { requests: { cpu, memory }, limits: { cpu, memory } },
        persistence: { enabled: true, size, ...(this.config.storage_class ? { storageClass: this.config.storage_class } : {}) },
      },
      ...(this.config.allow_insecure_images ? { global: { security: { allowInsecureImages: true } } } : {}),
    };
    return { values, warnings };
  }

  endpoint(s: ServerRequest, live?: LiveRelease): Endpoint {
    return { host: `${this.releaseName(s)}.${s.namespace}.svc.cluster.local`, port: 5432, sslmode: 'disable', adminUsername: this.adminUsername(s, live), adminDatabase: 'postgres' };
  }

  statefulSets(s: ServerRequest): string[] {
    return [this.releaseName(s)];
  }

  /** The Python operator let the chart render Secret `{name}-postgresql` from global.postgresql.auth.postgresPassword. */
  async legacyPassword(s: ServerRequest, read: (name: string) => Promise<Record<string, string> | undefined>): Promise<string | undefined> {
    return (await read(this.releaseName(s)))?.[ADMIN_PASSWORD_KEY];
  }

  majorOf(version: string): string | undefined {
    return postgresMajor(version);
  }

  valuesImageTag(values: Record<string, unknown>): string | undefined {
    return valuesImageTagAt(values, 'image');
  }

  withImageTag(values: Record<string, unknown>, tag: string): Record<string, unknown> {
    return withImageTagAt(values, 'image', tag);
  }

  /**
   * The Python operator rendered only resources, volume size and storage class (helm_postgres.py):
   * cpu/memory from the class when both size.class and default_class are set (an unknown class
   * silently meant the default), else cpu (default 1) and memoryMB (default 256) Mi; storageGB
   * default 10. The release is unchanged when those still match the spec.
   */
  comparePythonRelease(s: ServerRequest, live: LiveRelease): LegacyComparison | undefined {
    if (!isPythonRelease(live)) return undefined;
    const size = s.spec.size ?? {};
    const classes = this.config.classes;
    const cls = size.class && this.config.default_class ? (classes[size.class] ?? classes[this.config.default_class]) : undefined;
    const py = cls ? { cpu: String(cls.cpu), memory: cls.memory } : { cpu: String(size.cpu ?? '1'), memory: `${size.memoryMB ?? 256}Mi` };
    const pySize = `${size.storageGB ?? 10}Gi`;
    const liveCpu = str(get(live.values, ['primary', 'resources', 'limits', 'cpu']));
    const liveMemory = str(get(live.values, ['primary', 'resources', 'limits', 'memory']));
    const liveSize = str(get(live.values, ['primary', 'persistence', 'size']));
    const unchanged = liveCpu === py.cpu && liveMemory === py.memory && liveSize === pySize;
    const differences: string[] = [];
    const ours = this.resources(s, []);
    if (ours.cpu !== liveCpu || ours.memory !== liveMemory) {
      const why = size.class === undefined && size.cpu === undefined && size.memoryMB === undefined && this.config.default_class ? ` (default_class '${this.config.default_class}' applies to specs without a size; the Python operator used cpu 1 / 256Mi)` : '';
      differences.push(`resources: this operator would set cpu ${ours.cpu} / memory ${ours.memory}${why}, the release runs cpu ${liveCpu ?? 'unset'} / memory ${liveMemory ?? 'unset'}`);
    }
    if (this.config.admin_username !== 'postgres') differences.push(`admin_username ${this.config.admin_username} is not created (the Python operator always used postgres)`);
    return { unchanged, differences };
  }
}

/**
 * bitnami/postgresql: one standalone release `{name}-postgresql` per server (the original's release
 * name, so its installs are adopted), admin password from `auth.existingSecret`.
 */
import type { Endpoint, Problem, ServerRequest } from '@hybridcloud-postgresql/core';
import { chartReference, pickClass, type ChartProfile, type LiveRelease, type RenderedValues } from '@hybridcloud-postgresql/helm-common';
import { DEFAULT_CHART, type BitnamiConfig } from './config.js';

/** Key the chart reads the postgres password from (auth.secretKeys.adminPasswordKey default). */
export const ADMIN_PASSWORD_KEY = 'postgres-password';

function get(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const k of path) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
}

function major(tag: unknown): string | undefined {
  return typeof tag === 'string' ? /^(\d+)/.exec(tag)?.[1] : undefined;
}

export class BitnamiProfile implements ChartProfile {
  readonly id = 'helmbitnami';
  readonly chart;
  readonly noHooks = false;
  readonly pvcCleanup: boolean;
  readonly helmTimeoutSeconds: number;
  readonly adminSecretKey = ADMIN_PASSWORD_KEY;

  constructor(private readonly config: BitnamiConfig) {
    this.chart = chartReference(config.chart, DEFAULT_CHART);
    this.pvcCleanup = config.pvc_cleanup;
    this.helmTimeoutSeconds = config.helm_timeout_seconds;
  }

  releaseName(s: ServerRequest): string {
    return `${s.name}-postgresql`;
  }

  adminSecretName(s: ServerRequest): string {
    return `${this.releaseName(s)}-admin`;
  }

  adminUsername(): string {
    return this.config.admin_username;
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

  endpoint(s: ServerRequest): Endpoint {
    return { host: `${this.releaseName(s)}.${s.namespace}.svc.cluster.local`, port: 5432, sslmode: 'disable', adminUsername: this.config.admin_username, adminDatabase: 'postgres' };
  }

  statefulSets(s: ServerRequest): string[] {
    return [this.releaseName(s)];
  }

  /** The Python operator let the chart render Secret `{name}-postgresql` from global.postgresql.auth.postgresPassword. */
  async legacyPassword(s: ServerRequest, read: (name: string) => Promise<Record<string, string> | undefined>): Promise<string | undefined> {
    return (await read(this.releaseName(s)))?.[ADMIN_PASSWORD_KEY];
  }

  checkUpdate(s: ServerRequest, live: LiveRelease): Problem | undefined {
    const liveMajor = major(get(live.values, ['image', 'tag']));
    const wantedMajor = major(get(this.values(s, live).values, ['image', 'tag']));
    if (liveMajor && wantedMajor && liveMajor !== wantedMajor) {
      return { field: 'spec.version', message: `changing PostgreSQL from major version ${liveMajor} to ${wantedMajor} needs a data migration (pg_upgrade or dump/restore) the chart does not do; the server stays on ${liveMajor}.` };
    }
    return undefined;
  }
}

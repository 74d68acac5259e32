/**
 * PostgreSQL versions on RDS. `latest` means the newest version AWS offers today (asked through
 * DescribeDBEngineVersions), a major such as '16' means its newest minor, 'major.minor' is used
 * as given. The Python operator hard-coded minors that AWS has since retired.
 */
import { DescribeDBEngineVersionsCommand, type RDSClient } from '@aws-sdk/client-rds';

/** Used for `latest` when the versions cannot be listed (no permission, emulator without the API). */
export const FALLBACK_MAJOR = '17';

export type VersionRequest = { kind: 'latest' } | { kind: 'major'; major: number } | { kind: 'exact'; version: string; major: number };

export function parseVersionRequest(version: string | undefined): VersionRequest | undefined {
  const v = (version ?? '').trim();
  if (v === '' || v.toLowerCase() === 'latest') return { kind: 'latest' };
  if (/^\d+$/.test(v)) return { kind: 'major', major: Number(v) };
  if (/^\d+\.\d+(\.\d+)?$/.test(v)) return { kind: 'exact', version: v, major: Number(v.split('.')[0]) };
  return undefined;
}

/** Numeric comparison of dotted versions ('16.10' > '16.9'). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export const majorOf = (version: string): number => Number.parseInt(version.split('.')[0] ?? '', 10);

export interface ResolvedVersion {
  /** EngineVersion to send. A bare major lets RDS pick its default minor. */
  version: string;
  warning?: { reason: string; message: string };
}

/** Picks the version to create. `available` undefined = the list could not be fetched. */
export function resolveVersion(req: VersionRequest, available: readonly string[] | undefined): ResolvedVersion {
  if (!available || available.length === 0) {
    if (req.kind === 'latest') {
      return { version: FALLBACK_MAJOR, warning: { reason: 'EngineVersionsUnavailable', message: `could not list the available PostgreSQL versions; using major ${FALLBACK_MAJOR} for 'latest'` } };
    }
    return { version: req.kind === 'major' ? String(req.major) : req.version };
  }
  const sorted = [...available].sort(compareVersions);
  const newest = sorted[sorted.length - 1]!;
  const newestOfMajor = (major: number) => sorted.filter((v) => majorOf(v) === major).pop();
  switch (req.kind) {
    case 'latest':
      return { version: newest };
    case 'major': {
      const v = newestOfMajor(req.major);
      if (v) return { version: v };
      return { version: newest, warning: { reason: 'VersionUnavailable', message: `PostgreSQL ${req.major} is not available on AWS; using the newest version ${newest} instead` } };
    }
    case 'exact': {
      if (sorted.includes(req.version)) return { version: req.version };
      const v = newestOfMajor(req.major);
      if (v) return { version: v, warning: { reason: 'VersionUnavailable', message: `PostgreSQL ${req.version} is not available on AWS; using ${v} instead` } };
      return { version: newest, warning: { reason: 'VersionUnavailable', message: `PostgreSQL ${req.version} is not available on AWS; using the newest version ${newest} instead` } };
    }
  }
}

export type VersionChange =
  | { kind: 'none' }
  | { kind: 'upgrade'; targetMajor: number; exact?: string; major: boolean }
  | { kind: 'downgrade-refused'; message: string };

/**
 * What to do with a running server. Never downgrade: AWS applies minor upgrades on its own
 * (AutoMinorVersionUpgrade), so a live minor newer than the request is fine. `latest` never
 * triggers an upgrade of an existing server: a new major is a deliberate user decision.
 */
export function versionChange(req: VersionRequest, live: string): VersionChange {
  const liveMajor = majorOf(live);
  if (req.kind === 'latest' || Number.isNaN(liveMajor)) return { kind: 'none' };
  if (req.major < liveMajor) {
    return { kind: 'downgrade-refused', message: `the server runs PostgreSQL ${live}; downgrading to ${req.kind === 'exact' ? req.version : req.major} is not possible, the version is left unchanged` };
  }
  if (req.kind === 'major') return req.major > liveMajor ? { kind: 'upgrade', targetMajor: req.major, major: true } : { kind: 'none' };
  if (compareVersions(req.version, live) > 0) return { kind: 'upgrade', targetMajor: req.major, exact: req.version, major: req.major > liveMajor };
  return { kind: 'none' };
}

/**
 * Cached DescribeDBEngineVersions per engine. A failed listing is cached for a shorter time so
 * an emulator without the API (moto) or a missing permission does not cost a call per reconcile.
 */
export class EngineVersionCatalog {
  private cache = new Map<string, { at: number; versions: string[] | undefined }>();

  constructor(
    private readonly client: RDSClient,
    private readonly ttlMs = 60 * 60_000,
    private readonly failureTtlMs = 10 * 60_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async versions(engine: string, onError?: (err: unknown) => void): Promise<string[] | undefined> {
    const hit = this.cache.get(engine);
    if (hit && this.now() - hit.at < (hit.versions ? this.ttlMs : this.failureTtlMs)) return hit.versions;
    let versions: string[] | undefined;
    try {
      versions = [];
      let marker: string | undefined;
      do {
        const out = await this.client.send(new DescribeDBEngineVersionsCommand({ Engine: engine, MaxRecords: 100, ...(marker ? { Marker: marker } : {}) }));
        for (const v of out.DBEngineVersions ?? []) {
          if (!v.EngineVersion || !/^\d+(\.\d+)*$/.test(v.EngineVersion)) continue;
          if (v.Status && v.Status !== 'available') continue;
          versions.push(v.EngineVersion);
        }
        marker = out.Marker;
      } while (marker);
    } catch (err) {
      onError?.(err);
      versions = undefined;
    }
    this.cache.set(engine, { at: this.now(), versions });
    return versions;
  }
}

/**
 * Helm releases as the operator sees them: list (including pending states the original ignored),
 * the values a release was installed with, install/upgrade without --wait, uninstall, and recovery
 * of a release left in a pending state by a killed operator.
 */
import { parse, stringify } from 'yaml';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { retryable, type Logger } from '@hybridcloud-postgresql/core';
import { type HelmCli, HelmCommandError, summarizeHelmError } from './helmCli.js';
import { isNotFound } from './kube.js';

export interface ChartReference {
  /** 'oci://registry/path/chart', 'repo/chart' (with repository), a chart name with `repository`, or a local directory / .tgz. */
  chart: string;
  /** Chart repository URL (helm --repo), for classic repositories. */
  repository?: string;
  /** Chart version constraint (helm --version); ignored for local charts. */
  version?: string;
}

export type ReleaseStatus =
  | 'deployed'
  | 'failed'
  | 'pending-install'
  | 'pending-upgrade'
  | 'pending-rollback'
  | 'uninstalling'
  | 'superseded'
  | 'uninstalled'
  | 'unknown';

export interface ReleaseInfo {
  name: string;
  namespace: string;
  revision: number;
  status: ReleaseStatus;
  chart: string;
  appVersion: string;
}

const PENDING: ReadonlySet<string> = new Set(['pending-install', 'pending-upgrade', 'pending-rollback']);

export function isPending(status: string): boolean {
  return PENDING.has(status);
}

/** Turns a helm failure into the error core classifies: helm's message, retried with backoff (no tight loop). */
export function helmFailure(err: unknown, what: string): never {
  if (err instanceof HelmCommandError) {
    const reason = /parse error|render error|template:|execution error|YAML parse|unable to build kubernetes objects|values don't meet the specifications/i.test(err.stderr)
      ? 'HelmRenderFailed'
      : /chart .*not found|failed to fetch|failed to download|no such file or directory|not a valid chart|could not find|pull access denied|unauthorized/i.test(err.stderr)
        ? 'HelmChartUnavailable'
        : 'HelmFailed';
    throw retryable(`${what}: ${summarizeHelmError(err.stderr) || err.message}`, err, reason);
  }
  throw err;
}

export class HelmReleases {
  /** Releases this process is running helm for right now: a pending state of any other is stale. */
  private readonly busy = new Set<string>();
  private readonly appVersions = new Map<string, string>();
  private readonly core: CoreV1Api;

  constructor(
    private readonly helm: HelmCli,
    kubeConfig: KubeConfig,
    private readonly log: Logger,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  isBusy(namespace: string, name: string): boolean {
    return this.busy.has(`${namespace}/${name}`);
  }

  /** The release in any state, or undefined. */
  async get(namespace: string, name: string, signal?: AbortSignal): Promise<ReleaseInfo | undefined> {
    let out;
    try {
      out = await this.helm.run(['list', '--namespace', namespace, '--all', '--filter', `^${escapeRegExp(name)}$`, '--output', 'json'], { ...(signal ? { signal } : {}) });
    } catch (err) {
      return helmFailure(err, `Listing helm releases in ${namespace} failed`);
    }
    const list = JSON.parse(out.stdout || '[]') as Array<{ name: string; namespace: string; revision: string; status: string; chart: string; app_version: string }>;
    const r = list.find((x) => x.name === name);
    if (!r) return undefined;
    return { name: r.name, namespace: r.namespace, revision: Number(r.revision), status: (r.status as ReleaseStatus) ?? 'unknown', chart: r.chart, appVersion: r.app_version };
  }

  /** The user-supplied values of the current revision. */
  async values(namespace: string, name: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    try {
      const out = await this.helm.run(['get', 'values', name, '--namespace', namespace, '--output', 'json'], { ...(signal ? { signal } : {}) });
      const parsed = JSON.parse(out.stdout || 'null') as Record<string, unknown> | null;
      return parsed ?? {};
    } catch (err) {
      return helmFailure(err, `Reading the values of helm release ${namespace}/${name} failed`);
    }
  }

  /**
   * The appVersion of a chart (the version of the image it installs by default), read once per
   * chart reference with `helm show chart` (read-only; a remote chart is downloaded into helm's cache).
   */
  async chartAppVersion(chart: ChartReference, signal?: AbortSignal): Promise<string | undefined> {
    const key = `${chart.chart}|${chart.repository ?? ''}|${chart.version ?? ''}`;
    const cached = this.appVersions.get(key);
    if (cached !== undefined) return cached || undefined;
    const args = ['show', 'chart', chart.chart];
    if (chart.repository) args.push('--repo', chart.repository);
    if (chart.version) args.push('--version', chart.version);
    let out;
    try {
      out = await this.helm.run(args, { ...(signal ? { signal } : {}) });
    } catch (err) {
      return helmFailure(err, `Reading chart ${chart.chart} failed`);
    }
    const parsed = parse(out.stdout) as { appVersion?: unknown } | null;
    const appVersion = parsed?.appVersion === undefined || parsed.appVersion === null ? '' : String(parsed.appVersion);
    this.appVersions.set(key, appVersion);
    return appVersion || undefined;
  }

  /** The rendered manifest of the current revision (all documents as YAML text). */
  async manifest(namespace: string, name: string, signal?: AbortSignal): Promise<string> {
    try {
      return (await this.helm.run(['get', 'manifest', name, '--namespace', namespace], { ...(signal ? { signal } : {}) })).stdout;
    } catch (err) {
      return helmFailure(err, `Reading the manifest of helm release ${namespace}/${name} failed`);
    }
  }

  /**
   * `helm upgrade --install` with the values in a private 0600 file; returns when helm has applied
   * the objects (no --wait: readiness is observed on the objects afterwards).
   */
  async upgradeInstall(
    namespace: string,
    name: string,
    chart: ChartReference,
    values: Record<string, unknown>,
    opts: { signal?: AbortSignal; timeoutSeconds: number; noHooks?: boolean },
  ): Promise<void> {
    const key = `${namespace}/${name}`;
    if (this.busy.has(key)) throw retryable(`helm is already running for release ${key}`, undefined, 'HelmBusy');
    this.busy.add(key);
    try {
      await this.recoverStuck(namespace, name, opts.signal);
      const args = ['upgrade', name, chart.chart, '--install', '--namespace', namespace, '--values', '{{file:values.yaml}}', '--timeout', `${opts.timeoutSeconds}s`, '--history-max', '10'];
      if (chart.repository) args.push('--repo', chart.repository);
      if (chart.version) args.push('--version', chart.version);
      if (opts.noHooks) args.push('--no-hooks');
      this.log.info({ release: key, chart: chart.chart, chartVersion: chart.version }, 'helm upgrade --install');
      try {
        await this.helm.run(args, { files: { 'values.yaml': stringify(values) }, ...(opts.signal ? { signal: opts.signal } : {}) });
      } catch (err) {
        helmFailure(err, `helm upgrade --install of ${key} failed`);
      }
    } finally {
      this.busy.delete(key);
    }
  }

  /** `helm uninstall`; true when the release is gone (or was never there). */
  async uninstall(namespace: string, name: string, signal?: AbortSignal): Promise<void> {
    const key = `${namespace}/${name}`;
    if (this.busy.has(key)) throw retryable(`helm is already running for release ${key}`, undefined, 'HelmBusy');
    this.busy.add(key);
    try {
      await this.recoverStuck(namespace, name, signal);
      try {
        await this.helm.run(['uninstall', name, '--namespace', namespace, '--ignore-not-found'], { ...(signal ? { signal } : {}) });
      } catch (err) {
        helmFailure(err, `helm uninstall of ${key} failed`);
      }
    } finally {
      this.busy.delete(key);
    }
  }

  /**
   * A release whose newest revision is pending-* while this process runs no helm for it was left
   * behind by a killed helm (operator crash, OOM, node loss). helm refuses any further operation on
   * it ("another operation is in progress"). Leader election guarantees no other operator replica
   * runs helm, so the pending revision record is stale: delete that one record. The objects it
   * created keep their helm ownership annotations, so the next upgrade --install adopts them, and
   * an earlier deployed revision (for pending-upgrade) becomes current again.
   */
  async recoverStuck(namespace: string, name: string, signal?: AbortSignal): Promise<boolean> {
    const info = await this.get(namespace, name, signal);
    if (!info || !isPending(info.status)) return false;
    const secretName = `sh.helm.release.v1.${name}.v${info.revision}`;
    this.log.warn({ release: `${namespace}/${name}`, revision: info.revision, status: info.status }, 'removing the record of a helm operation that was interrupted');
    try {
      await this.core.deleteNamespacedSecret({ name: secretName, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw retryable(`Removing the stale helm record ${namespace}/${secretName} failed: ${(err as Error).message}`, err, 'HelmFailed');
    }
    return true;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

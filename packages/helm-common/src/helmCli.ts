/**
 * Runs the helm binary as a child process. Never through a shell, never with `--wait`, never with
 * a secret in argv: values travel in a 0600 file in a private temp directory that is removed
 * afterwards (see valuesFile.ts). The kubeconfig core hands us is written the same way.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { retryable, terminal } from '@hybridcloud-postgresql/core';

export interface HelmCliOptions {
  /** Path or name (looked up on PATH) of the helm binary. */
  binary: string;
  kubeConfig: KubeConfig;
  /** Upper bound for one helm invocation; helm itself gets a slightly shorter --timeout. */
  timeoutMs: number;
}

export interface HelmResult {
  stdout: string;
  stderr: string;
}

/** helm exited non-zero: keeps helm's own message, which is what a human needs to see. */
export class HelmCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`helm ${args[0] ?? ''} failed: ${summarizeHelmError(stderr) || `exit code ${exitCode}`}`);
    this.name = 'HelmCommandError';
  }
}

/** The last meaningful line(s) of helm's stderr, without ANSI noise, capped for a status message. */
export function summarizeHelmError(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('WARNING: Kubernetes configuration file is'));
  const errors = lines.filter((l) => l.startsWith('Error:'));
  const text = (errors.length > 0 ? errors.join(' ') : lines.slice(-3).join(' ')).replace(/^Error:\s*/, '');
  return text.length > 900 ? `${text.slice(0, 900)}…` : text;
}

/** In-cluster configs from client-node use a token file helm cannot read from a kubeconfig; helm finds the service account itself. */
function isInClusterConfig(kc: KubeConfig): boolean {
  const user = kc.getCurrentUser() as { authProvider?: { name?: string } } | null;
  return user?.authProvider?.name === 'tokenFile' || (kc.getCurrentCluster()?.name === 'inCluster' && !!process.env['KUBERNETES_SERVICE_HOST']);
}

/**
 * Each helm run gets a private dir (values with passwords, a kubeconfig outside the cluster), named
 * after the process. A process killed mid-run leaves its dir behind, and the chart's /tmp is an
 * emptyDir that outlives a container restart: the first run of a process removes the dirs of
 * processes that are gone, and those of its own pid, which an earlier incarnation made (in a
 * container the operator is pid 1 every time). Dirs of live processes (other operators on a
 * shared machine) are left alone.
 */
const RUN_DIR_PREFIX = 'hcpg-helm-';
const RUN_DIR = new RegExp(`^${RUN_DIR_PREFIX}(\\d+)-`);
let sweeping: Promise<void> | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function sweepStaleRunDirs(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(RUN_DIR.exec(name)?.[1]);
    if (!pid || (pid !== process.pid && alive(pid))) continue;
    await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined);
  }
}

export class HelmCli {
  constructor(private readonly options: HelmCliOptions) {}

  get binary(): string {
    return this.options.binary;
  }

  /** Runs `helm <args>`; `files` are written to a private temp dir and their paths substituted for `{{file:<name>}}` in args. */
  async run(args: string[], opts: { signal?: AbortSignal; files?: Record<string, string> } = {}): Promise<HelmResult> {
    // Every run waits for the sweep: it lists /tmp before this process made any dir of its own.
    await (sweeping ??= sweepStaleRunDirs());
    const dir = await mkdtemp(join(tmpdir(), `${RUN_DIR_PREFIX}${process.pid}-`));
    try {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: process.env['HOME'] ?? dir,
        // Keep helm's caches and registry config out of shared locations and away from other users.
        HELM_CACHE_HOME: process.env['HELM_CACHE_HOME'] ?? join(tmpdir(), 'hcpg-helm-cache'),
        HELM_CONFIG_HOME: process.env['HELM_CONFIG_HOME'] ?? join(tmpdir(), 'hcpg-helm-config'),
        HELM_DATA_HOME: process.env['HELM_DATA_HOME'] ?? join(tmpdir(), 'hcpg-helm-data'),
      };
      for (const k of ['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy', 'HELM_REGISTRY_CONFIG', 'HELM_REPOSITORY_CONFIG', 'SSL_CERT_FILE', 'SSL_CERT_DIR']) {
        if (process.env[k] !== undefined) env[k] = process.env[k];
      }
      if (!isInClusterConfig(this.options.kubeConfig)) {
        const kubeconfigPath = join(dir, 'kubeconfig');
        await writeFile(kubeconfigPath, this.options.kubeConfig.exportConfig(), { mode: 0o600 });
        env['KUBECONFIG'] = kubeconfigPath;
      }
      const resolvedArgs = [...args];
      for (const [name, content] of Object.entries(opts.files ?? {})) {
        const path = join(dir, name);
        await writeFile(path, content, { mode: 0o600 });
        for (let i = 0; i < resolvedArgs.length; i++) {
          if (resolvedArgs[i] === `{{file:${name}}}`) resolvedArgs[i] = path;
        }
      }
      return await this.spawn(resolvedArgs, env, args, opts.signal);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private spawn(args: string[], env: NodeJS.ProcessEnv, displayArgs: string[], signal?: AbortSignal): Promise<HelmResult> {
    return new Promise((resolve, reject) => {
      let child;
      try {
        child = spawn(this.options.binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        reject(this.spawnError(err));
        return;
      }
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      // SIGTERM first: helm then records a failed (not a pending) release where it can.
      const kill = () => child.kill('SIGTERM');
      const timer = setTimeout(kill, this.options.timeoutMs);
      signal?.addEventListener('abort', kill, { once: true });
      child.on('error', (err) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', kill);
        reject(this.spawnError(err));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', kill);
        if (code === 0) resolve({ stdout, stderr });
        else reject(new HelmCommandError(displayArgs, code, stderr));
      });
    });
  }

  private spawnError(err: unknown) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT' || code === 'EACCES') {
      return terminal(
        'HelmNotFound',
        `The helm binary '${this.options.binary}' cannot be run (${code}). Install helm 3 in the operator image or set helm_binary (env HELM_BINARY) in the backend config.`,
        err,
      );
    }
    return retryable(`Running helm failed: ${(err as Error)?.message ?? String(err)}`, err, 'HelmFailed');
  }
}

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { cacheDir, GO_MODULES_DIR } from './paths.js';
import { isAlive } from './processes.js';
import { installSystemDeps } from './systemDeps.js';

const run = promisify(execFile);

export { cacheDir, GO_MODULES_DIR, REPO_ROOT } from './paths.js';

export type BinaryName = 'kube-apiserver' | 'kube-controller-manager' | 'kubectl' | 'etcd' | 'helm';
type GoModule = 'kube' | 'etcd' | 'helm';

interface BinarySpec {
  module: GoModule;
  /** The Go module whose version go.mod pins; its version names the binary. */
  pinned: string;
  pkg: string;
  /** Linker flags as upstream's release build sets them (version stamps), from the wrapper's go.mod. */
  ldflags: (version: string, goMod: string) => string;
}

/** Upstream's hack/lib/version.sh stamps: without them the binaries report v0.0.0-master. */
const k8sStamp = (v: string): string => {
  const [major, minor] = v.replace(/^v/, '').split('.');
  return [
    `-X k8s.io/component-base/version.gitVersion=${v}`, `-X k8s.io/component-base/version.gitMajor=${major}`,
    `-X k8s.io/component-base/version.gitMinor=${minor}`, '-X k8s.io/component-base/version.gitTreeState=clean',
  ].join(' ');
};

/**
 * helm's Makefile: the version, and the Kubernetes version helm assumes when it cannot ask a cluster
 * (`helm template`, `helm lint`), derived from the client-go it is built with (v0.N → 1.N). Without
 * them helm assumes 1.20 and refuses charts with `kubeVersion: >=1.27`. The git commit is not part
 * of a Go module, so `helm version` shows none (the release's tag is stamped instead).
 */
export const helmStamp = (v: string, goMod: string): string => {
  const clientGo = /^\s*k8s\.io\/client-go\s+v(\d+)\.(\d+)\./m.exec(goMod);
  if (!clientGo) throw new Error('testenv: the helm wrapper module does not require k8s.io/client-go');
  const [major, minor] = [String(Number(clientGo[1]) + 1), clientGo[2]!];
  return [
    `-X helm.sh/helm/v3/internal/version.version=${v}`, '-X helm.sh/helm/v3/internal/version.gitTreeState=clean',
    ...['helm.sh/helm/v3/pkg/lint/rules', 'helm.sh/helm/v3/pkg/chartutil'].flatMap((pkg) => [`-X ${pkg}.k8sVersionMajor=${major}`, `-X ${pkg}.k8sVersionMinor=${minor}`]),
  ].join(' ');
};

const SPECS: Record<BinaryName, BinarySpec> = {
  'kube-apiserver': { module: 'kube', pinned: 'k8s.io/kubernetes', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver', ldflags: k8sStamp },
  'kube-controller-manager': { module: 'kube', pinned: 'k8s.io/kubernetes', pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager', ldflags: k8sStamp },
  kubectl: { module: 'kube', pinned: 'k8s.io/kubernetes', pkg: 'k8s.io/kubernetes/cmd/kubectl', ldflags: k8sStamp },
  etcd: { module: 'etcd', pinned: 'go.etcd.io/etcd/server/v3', pkg: 'go.etcd.io/etcd/server/v3', ldflags: () => '' },
  helm: { module: 'helm', pinned: 'helm.sh/helm/v3', pkg: 'helm.sh/helm/v3/cmd/helm', ldflags: helmStamp },
};

/** Every binary the test environment uses, in build order (what the control plane needs first). */
export const ALL_BINARIES: readonly BinaryName[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl', 'helm'];

export interface BinaryInfo { name: BinaryName; version: string; path: string; ldflags: string }

/** Version and cache path of a binary; the path changes whenever the wrapper module's pins change. */
export function describeBinary(name: BinaryName): BinaryInfo {
  const spec = SPECS[name];
  const dir = join(GO_MODULES_DIR, spec.module);
  const goMod = readFileSync(join(dir, 'go.mod'), 'utf8');
  const match = new RegExp(`^\\s*(?:require\\s+)?${spec.pinned.replace(/\./g, '\\.')}\\s+(v\\S+)`, 'm').exec(goMod);
  if (!match?.[1]) throw new Error(`testenv: ${join(dir, 'go.mod')} does not pin ${spec.pinned}`);
  const version = match[1];
  const ldflags = spec.ldflags(version, goMod);
  const hash = createHash('sha256').update(goMod).update(readFileSync(join(dir, 'go.sum'))).update(ldflags).digest('hex').slice(0, 12);
  return { name, version, ldflags, path: join(cacheDir(), 'bin', `${name}-${version}-${hash}`, name) };
}

export type Log = (line: string) => void;
const stderrLog: Log = (l) => process.stderr.write(`${l}\n`);
/** How often a running build says it is still running. */
const PROGRESS_EVERY_MS = Number(process.env['HYBRIDCLOUD_BUILD_PROGRESS_MS'] ?? 30_000);

/** Path of the binary, building it with `go build` from the wrapper module when it is not cached yet. */
export async function ensureBinary(name: BinaryName, log: Log = stderrLog): Promise<string> {
  return (await ensureGroup([name], log))[name]!;
}

/**
 * Every binary, built where missing. Fits two cores: the modules of all wrappers are downloaded at
 * once (network-bound) while the builds run one module after another (each `go build` already uses
 * every core); the binaries of one module are built by one `go build`, so kube-apiserver,
 * kube-controller-manager and kubectl compile their shared packages once and link in parallel.
 */
export async function ensureBinaries(log: Log = stderrLog, names: readonly BinaryName[] = ALL_BINARIES): Promise<Record<BinaryName, string>> {
  const missing = names.filter((n) => !existsSync(describeBinary(n).path));
  const out = {} as Record<BinaryName, string>;
  if (missing.length === 0) {
    for (const n of names) out[n] = describeBinary(n).path;
    return out;
  }
  const started = Date.now();
  const modules = [...new Set(missing.map((n) => SPECS[n].module))];
  log(`[testenv] first run: building ${missing.join(', ')} from the Go module proxy into ${join(cacheDir(), 'bin')} (once; about 10-15 minutes on two cores with empty Go caches)`);
  const go = await findGo();
  const downloads = new Map(modules.map((m) => [m, goModDownload(go, m)] as const));
  for (const m of modules) {
    await downloads.get(m);
    Object.assign(out, await ensureGroup(missing.filter((n) => SPECS[n].module === m), log));
  }
  for (const n of names) out[n] ??= describeBinary(n).path;
  log(`[testenv] all binaries built in ${seconds(started)}`);
  return out;
}

/** What `go build -o dir/` names a main package's binary: its last element, major version suffixes skipped. */
function goBinaryName(pkg: string): string {
  const parts = pkg.split('/');
  let last = parts.pop()!;
  if (/^v\d+$/.test(last) && parts.length) last = parts.pop()!;
  return last;
}

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(0)} s`;

/** `go mod download` of a wrapper module; a failure is left for the build to report with its context. */
async function goModDownload(go: string, module: GoModule): Promise<void> {
  await run(go, ['mod', 'download'], { cwd: join(GO_MODULES_DIR, module), env: goEnv(), maxBuffer: 64 * 1024 * 1024 }).catch(() => undefined);
}

function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOFLAGS: process.env['GOFLAGS'] ?? '-mod=mod', GOTOOLCHAIN: process.env['GOTOOLCHAIN'] ?? 'auto' };
}

/** Builds the missing binaries of one wrapper module with one `go build`, under a lock per binary. */
async function ensureGroup(names: BinaryName[], log: Log): Promise<Partial<Record<BinaryName, string>>> {
  const infos = names.map(describeBinary);
  const out: Partial<Record<BinaryName, string>> = {};
  const releases: Array<() => void> = [];
  try {
    for (const info of infos) {
      if (existsSync(info.path)) continue;
      mkdirSync(join(info.path, '..'), { recursive: true });
      releases.push(await lock(join(info.path, '..', '.lock'), () => log(`[testenv] waiting for another process building ${info.name} ${info.version}`)));
    }
    const todo = infos.filter((i) => !existsSync(i.path)); // the rest was built by a process we waited for
    if (todo.length) await goBuild(todo, log);
    for (const info of infos) out[info.name] = info.path;
    return out;
  } finally {
    for (const r of releases) r();
  }
}

async function goBuild(infos: BinaryInfo[], log: Log): Promise<void> {
  const spec = SPECS[infos[0]!.name];
  const what = `${infos.map((i) => i.name).join(', ')} ${infos[0]!.version}`;
  const go = await findGo();
  const tmp = join(infos[0]!.path, '..', `.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const started = Date.now();
  log(`[testenv] building ${what} with ${go}`);
  const ticker = setInterval(() => log(`[testenv] building ${what}: ${seconds(started)} so far`), PROGRESS_EVERY_MS);
  ticker.unref();
  try {
    // One ldflags for all: the binaries of a module share their version stamps.
    await run(go, ['build', '-trimpath', '-ldflags', `-s -w ${infos[0]!.ldflags}`.trim(), '-o', `${tmp}/`, ...infos.map((i) => SPECS[i.name].pkg)], {
      cwd: join(GO_MODULES_DIR, spec.module), env: goEnv(), maxBuffer: 64 * 1024 * 1024,
    });
    for (const info of infos) {
      const built = join(tmp, goBinaryName(SPECS[info.name].pkg));
      renameSync(built, info.path); // atomic: readers never see a half-written binary
    }
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`testenv: go build of ${what} failed:\n${(e.stderr ?? e.message).split('\n').slice(-20).join('\n')}`, { cause: err });
  } finally {
    clearInterval(ticker);
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`[testenv] built ${what} in ${seconds(started)}`);
}

function findGoBinary(): string | undefined {
  const candidates = [
    ...(process.env['GO'] ? [process.env['GO']] : []),
    ...(process.env['PATH'] ?? '').split(':').filter(Boolean).map((d) => join(d, 'go')),
    '/usr/local/go/bin/go',
    join(cacheDir(), 'go', 'bin', 'go'), // where scripts/install-system-deps.sh puts it
  ];
  return candidates.find((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function findGo(): Promise<string> {
  const found = findGoBinary();
  if (found) return found;
  const how = await installSystemDeps();
  const again = findGoBinary();
  if (again) return again;
  throw new Error(`testenv: Go >= 1.26 is missing (looked on PATH, in /usr/local/go/bin and ${join(cacheDir(), 'go', 'bin')}; ${how}) — needed once to build etcd, kube-apiserver, kubectl and helm into ${join(cacheDir(), 'bin')}`);
}

/** A lock directory with the owner's pid; a lock whose owner died is taken over. */
async function lock(path: string, onWait: () => void): Promise<() => void> {
  let warned = false;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, 'pid'), String(process.pid));
      return () => rmSync(path, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = 0;
    try { owner = Number(readFileSync(join(path, 'pid'), 'utf8')); } catch { /* being written */ }
    // Owner gone, or a lock without a pid for long (its owner died between mkdir and write).
    const age = (() => { try { return Date.now() - statSync(path).mtimeMs; } catch { return 0; } })();
    if ((owner && !isAlive(owner)) || (!owner && age > 30_000)) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (!warned) { warned = true; onWait(); }
    await sleep(1000);
  }
}

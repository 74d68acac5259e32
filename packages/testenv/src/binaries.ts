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

export type BinaryName = 'kube-apiserver' | 'kubectl' | 'etcd' | 'helm';

interface BinarySpec {
  module: 'kube' | 'etcd' | 'helm';
  /** The Go module whose version go.mod pins; its version names the binary. */
  pinned: string;
  pkg: string;
  ldflags: (version: string) => string;
}

const k8sStamp = (v: string): string => {
  const [major, minor] = v.replace(/^v/, '').split('.');
  return `-X k8s.io/component-base/version.gitVersion=${v} -X k8s.io/component-base/version.gitMajor=${major} -X k8s.io/component-base/version.gitMinor=${minor}`;
};

const SPECS: Record<BinaryName, BinarySpec> = {
  'kube-apiserver': { module: 'kube', pinned: 'k8s.io/kubernetes', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver', ldflags: k8sStamp },
  kubectl: { module: 'kube', pinned: 'k8s.io/kubernetes', pkg: 'k8s.io/kubernetes/cmd/kubectl', ldflags: k8sStamp },
  etcd: { module: 'etcd', pinned: 'go.etcd.io/etcd/server/v3', pkg: 'go.etcd.io/etcd/server/v3', ldflags: () => '' },
  helm: { module: 'helm', pinned: 'helm.sh/helm/v3', pkg: 'helm.sh/helm/v3/cmd/helm', ldflags: (v) => `-X helm.sh/helm/v3/internal/version.version=${v}` },
};

export interface BinaryInfo { name: BinaryName; version: string; path: string }

/** Version and cache path of a binary; the path changes whenever the wrapper module's pins change. */
export function describeBinary(name: BinaryName): BinaryInfo {
  const spec = SPECS[name];
  const dir = join(GO_MODULES_DIR, spec.module);
  const goMod = readFileSync(join(dir, 'go.mod'), 'utf8');
  const match = new RegExp(`^\\s*(?:require\\s+)?${spec.pinned.replace(/\./g, '\\.')}\\s+(v\\S+)`, 'm').exec(goMod);
  if (!match?.[1]) throw new Error(`testenv: ${join(dir, 'go.mod')} does not pin ${spec.pinned}`);
  const version = match[1];
  const hash = createHash('sha256').update(goMod).update(readFileSync(join(dir, 'go.sum'))).update(spec.ldflags(version)).digest('hex').slice(0, 12);
  return { name, version, path: join(cacheDir(), 'bin', `${name}-${version}-${hash}`, name) };
}

/** Path of the binary, building it with `go build` from the wrapper module when it is not cached yet. */
export async function ensureBinary(name: BinaryName, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<string> {
  const info = describeBinary(name);
  if (existsSync(info.path)) return info.path;
  const dir = join(info.path, '..');
  mkdirSync(dir, { recursive: true });
  const release = await lock(join(dir, '.lock'), () => log(`[testenv] waiting for another process building ${name} ${info.version}`));
  try {
    if (existsSync(info.path)) return info.path; // built by the process we waited for
    const go = await findGo();
    const spec = SPECS[name];
    const tmp = `${info.path}.tmp-${process.pid}`;
    const started = Date.now();
    log(`[testenv] building ${name} ${info.version} with ${go} (first time only; kube-apiserver takes minutes on a cold Go cache)`);
    try {
      await run(go, ['build', '-trimpath', '-ldflags', `-s -w ${spec.ldflags(info.version)}`.trim(), '-o', tmp, spec.pkg], {
        cwd: join(GO_MODULES_DIR, spec.module),
        env: { ...process.env, GOFLAGS: process.env['GOFLAGS'] ?? '-mod=mod', GOTOOLCHAIN: process.env['GOTOOLCHAIN'] ?? 'auto' },
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (err) {
      rmSync(tmp, { force: true });
      const e = err as { stderr?: string; message: string };
      throw new Error(`testenv: go build of ${name} ${info.version} failed:\n${(e.stderr ?? e.message).split("\n").slice(-20).join("\n")}`, { cause: err });
    }
    renameSync(tmp, info.path); // atomic: readers never see a half-written binary
    log(`[testenv] built ${name} in ${((Date.now() - started) / 1000).toFixed(0)} s → ${info.path}`);
    return info.path;
  } finally {
    release();
  }
}

export async function ensureBinaries(): Promise<Record<BinaryName, string>> {
  // One at a time: on 2 cores parallel Go links only thrash; the Go build cache is shared anyway.
  const out = {} as Record<BinaryName, string>;
  for (const name of ['etcd', 'kube-apiserver', 'kubectl', 'helm'] as const) out[name] = await ensureBinary(name);
  return out;
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

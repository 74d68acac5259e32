/**
 * The image build tooling without a container engine (`npm run image` builds and runs the real
 * image with buildah/podman): the shell of the Dockerfile's helm and charts stages run with sh and
 * stand-ins for go/helm, the base-image recipes, and the scripts' syntax.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { helmStamp } from '@hybridcloud-postgresql/testenv';
import { REPO } from './helpers.js';

const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const goMod = readFileSync(join(REPO, 'packages', 'testenv', 'go', 'helm', 'go.mod'), 'utf8');
const helmVersion = /helm\.sh\/helm\/v3 (v[\d.]+)/.exec(goMod)![1]!;
const clientGo = /k8s\.io\/client-go (v[\d.]+)/.exec(goMod)![1]!;
const tmp = mkdtempSync(join(tmpdir(), 'image-build-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The shell of a stage's RUN instruction (continuation lines joined, as the builder runs it). */
function stageRun(stage: string): string {
  const start = dockerfile.search(new RegExp(`^FROM \\S+ AS ${stage}$`, 'm'));
  const body = dockerfile.slice(start).split(/^FROM /m)[1]!;
  const run = /^RUN ((?:.*\\\n)*.*)$/m.exec(body)![1]!;
  return run.replace(/\\\n/g, ' ').replace(/^(\s*--mount=\S+)+/, ''); // RUN flags are the builder's, not the shell's
}

/** Runs a script with the POSIX shell the Debian base images use for RUN (dash). */
function sh(script: string, env: Record<string, string>): { status: number | null; out: string } {
  const r = spawnSync('sh', ['-ec', script], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('Dockerfile helm stage', () => {
  it('links helm with upstream\'s flags: the version, the commit, a clean tree and the Kubernetes version of its client-go (as testenv does)', () => {
    const flags = join(tmp, 'ldflags');
    // Stand-ins: `go list -m k8s.io/client-go` answers the wrapper module's version, `go build` records its -ldflags.
    const fakeGo = `go() { case "$1" in list) echo ${clientGo} ;; build) shift; while [ $# -gt 0 ]; do [ "$1" = -ldflags ] && printf '%s' "$2" > ${flags}; shift; done ;; esac; }`;
    const run = stageRun('helm').replaceAll('/out/helm version', 'true');
    const r = sh(`${fakeGo}\n${run}`, { HELM_VERSION: helmVersion, HELM_GIT_COMMIT: '0123abc' });
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
    const ldflags = readFileSync(flags, 'utf8').trim().split(/\s+/);
    const pairs = (s: string[]) => s.join(' ').split('-X ').slice(1).map((x) => x.trim());
    const minor = clientGo.split('.')[1];
    expect(pairs(ldflags)).toEqual(expect.arrayContaining([
      `helm.sh/helm/v3/internal/version.version=${helmVersion}`,
      'helm.sh/helm/v3/internal/version.gitCommit=0123abc',
      'helm.sh/helm/v3/internal/version.gitTreeState=clean',
      'helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1',
      `helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${minor}`,
      'helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1',
      `helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${minor}`,
    ]));
    // Every flag the testenv's helm gets, the image's helm gets too.
    expect(pairs(ldflags)).toEqual(expect.arrayContaining(pairs(helmStamp(helmVersion, goMod).split(/\s+/))));
    expect(ldflags.slice(0, 2)).toEqual(['-s', '-w']);
  });
});

describe('Dockerfile charts stage', () => {
  /** The stage's RUN with its absolute paths moved into dir and helm replaced by a recorder. */
  function charts(dir: string, source: string) {
    mkdirSync(join(dir, 'in'), { recursive: true });
    const run = stageRun('charts')
      .replaceAll('/out/helm', 'fakehelm')
      .replaceAll('/in/charts', `${dir}/in`)
      .replaceAll('/out/charts', `${dir}/out`);
    const helm = `fakehelm() { echo "helm $*" >> ${dir}/helm.log; }`;
    return sh(`${helm}\n${run}`, { CHARTS_SOURCE: source, BITNAMI_POSTGRESQL_CHART: '17.1.0', YUGABYTE_CHART: '2026.1.0' });
  }

  it('CHARTS_SOURCE=local copies docker/charts/postgresql and docker/charts/yugabyte, offline', () => {
    const dir = join(tmp, 'local');
    mkdirSync(join(dir, 'in'), { recursive: true });
    cpSync(join(REPO, 'packages', 'backend-helm-bitnami', 'test-charts', 'postgresql'), join(dir, 'in', 'postgresql'), { recursive: true });
    cpSync(join(REPO, 'packages', 'backend-helm-yugabyte', 'test-charts', 'yugabyte'), join(dir, 'in', 'yugabyte'), { recursive: true });
    const r = charts(dir, 'local');
    expect(r.status, r.out).toBe(0);
    expect(existsSync(join(dir, 'out', 'postgresql', 'Chart.yaml'))).toBe(true);
    expect(existsSync(join(dir, 'out', 'yugabyte', 'Chart.yaml'))).toBe(true);
    const log = readFileSync(join(dir, 'helm.log'), 'utf8');
    expect(log).not.toContain('helm pull');
    expect(log).toContain(`helm show chart ${dir}/out/postgresql`);
  });

  it('pulls the pinned chart versions by default, and refuses an unknown CHARTS_SOURCE', () => {
    expect(dockerfile).toMatch(/^ARG CHARTS_SOURCE=pull$/m);
    const dir = join(tmp, 'pull');
    const r = charts(dir, 'pull');
    expect(r.status, r.out).toBe(0);
    const log = readFileSync(join(dir, 'helm.log'), 'utf8');
    expect(log).toContain('helm pull oci://registry-1.docker.io/bitnamicharts/postgresql --version 17.1.0');
    expect(log).toContain('helm pull yugabyte --repo https://charts.yugabyte.com --version 2026.1.0');
    const bad = charts(join(tmp, 'bad'), 'nope');
    expect(bad.status).not.toBe(0);
    expect(bad.out).toContain("CHARTS_SOURCE must be pull or local, not 'nope'");
  });

  it('mounts the optional build secrets only for the steps that fetch, never in the runtime stage', () => {
    const mounts = [...dockerfile.matchAll(/^RUN --mount=type=secret,id=(\w+),target=(\S+)/gm)].map((m) => m[2]);
    expect(mounts.length).toBeGreaterThanOrEqual(3);
    const runtime = dockerfile.slice(dockerfile.search(/^FROM \S+ AS runtime$/m));
    expect(runtime).not.toContain('--mount=');
  });

  it('reads the local charts from a build-context directory that always exists (only its README is committed)', () => {
    expect(dockerfile).toContain('COPY docker/charts/ /in/charts/');
    expect(existsSync(join(REPO, 'docker', 'charts', 'README.md'))).toBe(true);
    expect(readFileSync(join(REPO, 'docker', 'charts', '.gitignore'), 'utf8').split('\n')).toEqual(['*', '!.gitignore', '!README.md', '']);
  });
});

describe('scripts/image.sh and the base images', () => {
  it('is valid bash, and so is docker/check-image.sh', () => {
    for (const script of ['scripts/image.sh', 'docker/check-image.sh']) {
      const r = spawnSync('bash', ['-n', join(REPO, script)], { encoding: 'utf8' });
      expect(r.stderr, script).toBe('');
      expect(r.status, script).toBe(0);
    }
  });

  it('is what `npm run image` runs', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['image']).toBe('bash scripts/image.sh');
  });

  it('assembles the base images under the names the Dockerfile\'s ARGs use, from their versions', () => {
    const script = readFileSync(join(REPO, 'scripts', 'image.sh'), 'utf8');
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:\d+\.\d+\.\d+-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^ARG GO_IMAGE=golang:\d+\.\d+\.\d+-bookworm$/m);
    // Names and versions are read from the Dockerfile, never repeated in the script.
    expect(script).toContain('NODE_IMAGE=$(qualify "$(dockerfile_arg NODE_IMAGE)")');
    expect(script).toContain('GO_IMAGE=$(qualify "$(dockerfile_arg GO_IMAGE)")');
    expect(script).not.toMatch(/24\.21\.0|1\.26\.8/);
    for (const base of ['golang', 'node']) {
      const file = readFileSync(join(REPO, 'docker', 'base', `${base}.Containerfile`), 'utf8');
      expect(file).toMatch(/^ARG DEBIAN_IMAGE=docker\.io\/library\/debian:bookworm-slim$/m);
      expect(file).toMatch(/^FROM \$\{DEBIAN_IMAGE\}$/m);
    }
  });
});

import { copyFileSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CONTROL_PLANE_ENV, CONTROL_PLANE_PENDING_ENV, connectControlPlane, ensureBinaries, ownedTempDir, readControlPlaneInfo, startControlPlane, unexpectedExits, type ControlPlane,
} from '@hybridcloud-postgresql/testenv';

/**
 * One control plane (etcd + kube-apiserver) per vitest run, shared by all test files; each file
 * works in its own namespace (createTestNamespace). It starts in the background, so test files
 * that never touch Kubernetes do not wait for it; useControlPlane() in a worker waits for the info
 * file named in CONTROL_PLANE_ENV (workers inherit the env, being forked after this runs). A shell
 * that sourced .testenv/env (`npm run testenv -- up`) names a running one: reused when it answers.
 */
let starting: Promise<ControlPlane | undefined> | undefined;
let handoff: { dir: string; remove(): void } | undefined;

async function reusable(path: string | undefined): Promise<boolean> {
  if (!path || !existsSync(path)) return false;
  try {
    const out = await connectControlPlane(readControlPlaneInfo(path)).kubectl(['get', '--raw', '/readyz']);
    return out.stdout.trim() === 'ok';
  } catch {
    return false;
  }
}

export async function setup(): Promise<void> {
  // Binaries first, before any test starts: `npm test` has built them already (testenv prepare),
  // but a bare `vitest run` on a cold machine must not spend the build inside a hook's timeout.
  await ensureBinaries();
  const given = process.env[CONTROL_PLANE_ENV];
  if (await reusable(given)) {
    process.stderr.write(`[testenv] reusing the control plane of ${given}\n`);
    return;
  }
  if (given) process.stderr.write(`[testenv] ${CONTROL_PLANE_ENV}=${given} does not answer; starting a control plane for this run\n`);
  handoff = ownedTempDir('vitest');
  const infoPath = join(handoff.dir, 'controlplane.json');
  process.env[CONTROL_PLANE_ENV] = infoPath;
  process.env[CONTROL_PLANE_PENDING_ENV] = infoPath;
  const started = Date.now();
  starting = startControlPlane().then(
    (cp) => {
      // Whole or not at all: workers poll for the file and read it the moment it exists.
      copyFileSync(join(cp.dir, 'controlplane.json'), `${infoPath}.tmp`);
      renameSync(`${infoPath}.tmp`, infoPath);
      process.stderr.write(`[testenv] control plane ${cp.server} up in ${((Date.now() - started) / 1000).toFixed(1)} s (KUBECONFIG=${cp.kubeconfigPath})\n`);
      return cp;
    },
    (err: Error) => {
      // Test files that need Kubernetes fail with this message; the others still run.
      writeFileSync(`${infoPath}.tmp`, JSON.stringify({ error: err.message }));
      renameSync(`${infoPath}.tmp`, infoPath);
      process.stderr.write(`[testenv] control plane failed to start: ${err.message}\n`);
      return undefined;
    },
  );
}

export async function teardown(): Promise<void> {
  const cp = await starting;
  await cp?.stop();
  handoff?.remove();
  // A control-plane process that died during the run fails it, with its last log lines.
  const died = unexpectedExits();
  if (died.length) throw new Error(died.map((d) => d.message).join('\n\n'));
}

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROL_PLANE_ENV, connectControlPlane, readControlPlaneInfo, startControlPlane, unexpectedExits, type ControlPlane } from '@hybridcloud-postgresql/testenv';

/**
 * One control plane (etcd + kube-apiserver) per vitest run, shared by all test files; each file
 * works in its own namespace (createTestNamespace). Workers find it through CONTROL_PLANE_ENV,
 * which they inherit because they are forked after this runs. A shell that sourced
 * .testenv/env (`npm run testenv -- up`) already names a running one: it is reused when it answers.
 */
let cp: ControlPlane | undefined;

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
  const given = process.env[CONTROL_PLANE_ENV];
  if (await reusable(given)) {
    process.stderr.write(`[testenv] reusing the control plane of ${given}\n`);
    return;
  }
  if (given) process.stderr.write(`[testenv] ${CONTROL_PLANE_ENV}=${given} does not answer; starting a control plane for this run\n`);
  const started = Date.now();
  cp = await startControlPlane();
  process.env[CONTROL_PLANE_ENV] = join(cp.dir, 'controlplane.json');
  writeFileSync(join(cp.dir, 'started-by'), `vitest ${process.pid}\n`);
  process.stderr.write(`[testenv] control plane ${cp.server} up in ${((Date.now() - started) / 1000).toFixed(1)} s (KUBECONFIG=${cp.kubeconfigPath})\n`);
}

export async function teardown(): Promise<void> {
  await cp?.stop();
  // A control-plane process that died during the run fails it, with its last log lines.
  const died = unexpectedExits();
  if (died.length) throw new Error(died.map((d) => d.message).join('\n\n'));
}

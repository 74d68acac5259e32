import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api } from '@kubernetes/client-node';
import { connectControlPlane, readControlPlaneInfo, startControlPlane, type ControlPlane, type ControlPlaneInfo } from './controlPlane.js';
import { startMoto, type Moto } from './moto.js';
import { startPostgres, type Postgres } from './postgres.js';

/** Set by the vitest global setup (and `testenv up`): path of the running control plane's info file. */
export const CONTROL_PLANE_ENV = 'HYBRIDCLOUD_TESTENV_CONTROLPLANE';
/**
 * Set by the vitest global setup to the same path while it starts the control plane in the
 * background: the file is still to come (or an `{ "error" }` when the start failed).
 */
export const CONTROL_PLANE_PENDING_ENV = 'HYBRIDCLOUD_TESTENV_CONTROLPLANE_PENDING';

let own: Promise<ControlPlane> | undefined;

/**
 * The control plane for this test file: the shared one the vitest global setup started, or, when
 * none runs (a script, a single file run without the setup), one started for this process and
 * stopped when it exits.
 */
export function useControlPlane(): Promise<ControlPlane> {
  const infoPath = process.env[CONTROL_PLANE_ENV];
  if (infoPath) return waitForInfo(infoPath).then((info) => connectControlPlane(info));
  own ??= startControlPlane();
  return own;
}

async function waitForInfo(path: string): Promise<ControlPlaneInfo> {
  const pending = process.env[CONTROL_PLANE_PENDING_ENV] === path;
  // A cold cache builds kube-apiserver first: that can take many minutes.
  for (const deadline = Date.now() + 20 * 60_000; !existsSync(path); ) {
    if (!pending) throw new Error(`testenv: ${CONTROL_PLANE_ENV}=${path} names a control plane that is gone (stale shell env? run \`npm run testenv -- up\` or unset it)`);
    if (Date.now() > deadline) throw new Error(`testenv: the shared control plane did not come up (no ${path})`);
    await sleep(100);
  }
  const info = readControlPlaneInfo(path) as ControlPlaneInfo & { error?: string };
  if (info.error) throw new Error(`testenv: the shared control plane failed to start: ${info.error}`);
  return info;
}

let pg: Promise<Postgres> | undefined;
/** One PostgreSQL per test process, started on first use (a second of initdb), killed on exit. */
export function usePostgres(): Promise<Postgres> {
  pg ??= startPostgres();
  return pg;
}

let moto: Promise<Moto> | undefined;
/** One moto_server per test process, started on first use; reset() it between tests if needed. */
export function useMoto(): Promise<Moto> {
  moto ??= startMoto();
  return moto;
}

/** A fresh namespace with a unique name (namespaces never finish deleting without a controller-manager). */
export async function createTestNamespace(cp: ControlPlane, prefix = 'test'): Promise<string> {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'test';
  const name = `${clean}-${randomBytes(4).toString('hex')}`;
  await cp.kubeConfig().makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name, labels: { 'testenv.hybridcloud.maibornwolff.de/test': clean } } } });
  return name;
}

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { connectControlPlane, readControlPlaneInfo, startControlPlane, type ControlPlane } from './controlPlane.js';
import { startMoto, type Moto } from './moto.js';
import { startPostgres, type Postgres } from './postgres.js';

/** Set by the vitest global setup (and `testenv up`): path of the running control plane's info file. */
export const CONTROL_PLANE_ENV = 'HYBRIDCLOUD_TESTENV_CONTROLPLANE';

let own: Promise<ControlPlane> | undefined;

/**
 * The control plane for this test file: the shared one the vitest global setup started, or, when
 * none runs (a script, a single file run without the setup), one started for this process and
 * stopped when it exits.
 */
export function useControlPlane(): Promise<ControlPlane> {
  const infoPath = process.env[CONTROL_PLANE_ENV];
  if (infoPath) {
    if (!existsSync(infoPath)) return Promise.reject(new Error(`testenv: ${CONTROL_PLANE_ENV}=${infoPath} names a control plane that is gone (stale shell env? run \`npm run testenv -- up\` or unset it)`));
    return Promise.resolve(connectControlPlane(readControlPlaneInfo(infoPath)));
  }
  own ??= startControlPlane();
  return own;
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

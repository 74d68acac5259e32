import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './binaries.js';
import { type ControlPlane } from './controlPlane.js';

export const CRD_CHART_TEMPLATES = join(REPO_ROOT, 'charts', 'hybrid-cloud-postgresql-operator-crds', 'templates');

/** The CRD manifests of the CRD chart (templates/*.yaml). */
export function crdFiles(dir = CRD_CHART_TEMPLATES): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f));
}

/**
 * Installs the operator's CRDs with server-side apply (idempotent, so parallel test files may all
 * call it) and waits until the apiserver serves them (condition Established).
 * Returns the files applied; throws when the CRD chart has none.
 */
export async function applyCrds(cp: ControlPlane, dir = CRD_CHART_TEMPLATES): Promise<string[]> {
  const files = crdFiles(dir);
  if (files.length === 0) throw new Error(`testenv: no CRD manifests in ${dir}`);
  const fileArgs = files.flatMap((f) => ['-f', f]);
  await cp.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=testenv', ...fileArgs]);
  await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...fileArgs]);
  return files;
}

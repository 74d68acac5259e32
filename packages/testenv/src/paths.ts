import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (same relative place from src/ and dist/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The Go wrapper modules that pin etcd, kube-apiserver, kubectl and helm. */
export const GO_MODULES_DIR = fileURLToPath(new URL('../go/', import.meta.url));

/** Cache outside the work tree, shared by all clones (binaries, toolchain, moto venv). */
export function cacheDir(): string {
  return process.env['HYBRIDCLOUD_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'hybridcloud-postgresql');
}

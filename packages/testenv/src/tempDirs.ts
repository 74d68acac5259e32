import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, onExitSync } from './processes.js';

const PREFIX = 'testenv-';

/**
 * A temp dir that records its owner's pid. The owner removes it on stop and on exit; when the owner
 * was killed too hard for that, the next testenv start in any process sweeps it.
 */
export function ownedTempDir(kind: string): { dir: string; remove(): void } {
  if (!swept) {
    swept = true;
    sweepOrphanTempDirs();
  }
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${kind}-`));
  writeFileSync(join(dir, '.owner'), String(process.pid));
  const forget = onExitSync(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    remove() {
      rmSync(dir, { recursive: true, force: true });
      forget();
    },
  };
}

let swept = false;
/** Removes testenv temp dirs whose owner process is gone. */
export function sweepOrphanTempDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    let owner: number;
    try { owner = Number(readFileSync(join(tmpdir(), name, '.owner'), 'utf8')); } catch { continue; } // not ours or not ready
    if (owner > 0 && !isAlive(owner)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

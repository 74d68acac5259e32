import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';
import { runTool } from './tools.js';

let attempt: Promise<string> | undefined;

/**
 * Runs scripts/install-system-deps.sh (apt for PostgreSQL, a venv for moto) once per process and
 * returns a short description of how it went, for the one-line error when something is still missing.
 */
export function installSystemDeps(): Promise<string> {
  attempt ??= (async () => {
    const script = join(REPO_ROOT, 'scripts', 'install-system-deps.sh');
    if (!existsSync(script)) return `${script} not found`;
    process.stderr.write('[testenv] installing missing system dependencies with scripts/install-system-deps.sh\n');
    try {
      await runTool('bash', [script], { timeoutMs: 15 * 60_000 });
      return 'ran scripts/install-system-deps.sh';
    } catch (err) {
      return `scripts/install-system-deps.sh failed: ${(err as Error).message.split('\n').slice(-3).join(' ')}`;
    }
  })();
  return attempt;
}

/**
 * `npm run faults`: collects the rows every scenario records (report.ts) and prints them as one
 * table at the end, also written to .testenv/faults-table.md for the README.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ownedTempDir, REPO_ROOT } from '@hybridcloud-postgresql/testenv';
import { formatTable, RESULTS_ENV, type Row } from './report.js';

let dir: { dir: string; remove(): void } | undefined;

export function setup(): void {
  dir = ownedTempDir('faults');
  const file = join(dir.dir, 'rows.jsonl');
  writeFileSync(file, '');
  process.env[RESULTS_ENV] = file;
  process.env['HC_FAULTS_N'] ??= '20';
}

export function teardown(): void {
  const file = process.env[RESULTS_ENV];
  if (!file || !existsSync(file)) return;
  const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  const header = `Fault suite, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit}, HC_FAULTS_N=${process.env['HC_FAULTS_N']}, ${cpus().length} cores`;
  const text = `${header}\n\n${formatTable(rows)}\n`;
  process.stdout.write(`\n${text}\n`);
  mkdirSync(join(REPO_ROOT, '.testenv'), { recursive: true });
  writeFileSync(join(REPO_ROOT, '.testenv', 'faults-table.md'), text);
  dir?.remove();
}

/** Writes the generated CRDs into the CRD chart. Run: pnpm --filter @hybridcloud-postgresql/core run gen:crds */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderApiReference } from './docs.js';
import { CRD_FILES, databaseCrd, renderCrd, serverCrd } from './generate.js';

export const CRD_CHART_DIR = resolve(import.meta.dirname, '../../../../charts/hybrid-cloud-postgresql-operator-crds');
export const API_REFERENCE = resolve(import.meta.dirname, '../../../../docs/api-reference.md');

export function writeCrds(chartDir = CRD_CHART_DIR): string[] {
  const dir = join(chartDir, 'templates');
  mkdirSync(dir, { recursive: true });
  const files = [
    [join(dir, CRD_FILES.server), renderCrd(serverCrd())],
    [join(dir, CRD_FILES.database), renderCrd(databaseCrd())],
  ] as const;
  for (const [file, text] of files) writeFileSync(file, text);
  writeFileSync(API_REFERENCE, renderApiReference());
  return [...files.map(([file]) => file), API_REFERENCE];
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  for (const file of writeCrds()) console.log(`wrote ${file}`);
}

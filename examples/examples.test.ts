/**
 * Every example passes a server-side dry-run (strict field validation, CEL rules, quotas, RBAC
 * objects) against the real apiserver with the CRDs applied, and the admin-config snippet in its
 * comments is accepted by the operator's own `config check` with the real backend packages.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyCrds, createTestNamespace, ownedTempDir, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { kubectl, parseAllDocuments, parseYaml, REPO, stringify, unimplementedBackends, type K8sObject } from '../charts/test/helpers.js';

const DIR = import.meta.dirname;
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
/** Every backend id a package of this repository declares (package.json hybridcloudPostgresqlBackend). */
const BACKENDS = readdirSync(join(REPO, 'packages'))
  .map((dir) => join(REPO, 'packages', dir, 'package.json'))
  .filter((p) => existsSync(p))
  .flatMap((p) => {
    const marker = (JSON.parse(readFileSync(p, 'utf8')) as { hybridcloudPostgresqlBackend?: { id: string } }).hybridcloudPostgresqlBackend;
    return marker ? [marker.id] : [];
  })
  .sort();
/** The backends an example is for: spec.backend of its objects and the backend of its admin-config snippet. */
function backendsOf(file: string): string[] {
  const text = readFileSync(join(DIR, file), 'utf8');
  const fromSpecs = load(file).flatMap((o) => {
    const b = (o['spec'] as { backend?: string } | undefined)?.backend;
    return b ? [b] : [];
  });
  const snippet = adminConfigSnippet(text);
  const fromConfig = snippet ? [(parseYaml(snippet) as { backend?: string }).backend].filter((b): b is string => !!b) : [];
  return [...fromSpecs, ...fromConfig];
}
const load = (file: string) => parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => d.toJS() as K8sObject).filter(Boolean);

let cp: ControlPlane;

beforeAll(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
});

it('has an example for every backend package, and the README lists every example', () => {
  expect(BACKENDS.length).toBeGreaterThanOrEqual(7);
  const covered = new Set(files.flatMap(backendsOf));
  expect(BACKENDS.filter((id) => !covered.has(id)), 'backends without an example').toEqual([]);
  const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
  expect([...files, 'reset-password.md'].filter((f) => !readme.includes(`](${f})`)), 'examples missing from examples/README.md').toEqual([]);
  expect(existsSync(join(DIR, 'reset-password.md'))).toBe(true);
});

describe.each(files)('%s', (file) => {
  it('is consistent: databases reference a server of the same file and namespace, Secret names are unique', () => {
    const objs = load(file);
    const servers = objs.filter((o) => o.kind === 'PostgreSQLServer');
    expect(servers.length).toBeGreaterThan(0);
    for (const db of objs.filter((o) => o.kind === 'PostgreSQLDatabase')) {
      const ref = (db['spec'] as { serverRef: { name: string } }).serverRef.name;
      expect(servers.some((s) => s.metadata.name === ref && s.metadata.namespace === db.metadata.namespace), `${db.metadata.name} → ${ref}`).toBe(true);
    }
    const secrets = objs.filter((o) => o.kind.startsWith('PostgreSQL')).map((o) => `${o.metadata.namespace}/${(o['spec'] as { credentialsSecret: string }).credentialsSecret}`);
    expect(new Set(secrets).size).toBe(secrets.length);
  });

  it('passes a server-side dry-run with strict validation', async () => {
    // Each namespace of the example becomes a fresh test namespace (examples use default, team-*).
    const objs = load(file);
    const mapping = new Map<string, string>();
    for (const ns of new Set(objs.flatMap((o) => (o.kind === 'Namespace' ? [o.metadata.name] : o.metadata.namespace ? [o.metadata.namespace] : [])))) {
      mapping.set(ns, await createTestNamespace(cp, `example-${ns}`));
    }
    const rewritten = objs
      .filter((o) => o.kind !== 'Namespace')
      .map((o) => ({ ...o, metadata: { ...o.metadata, ...(o.metadata.namespace ? { namespace: mapping.get(o.metadata.namespace) } : {}) } }));
    const r = await kubectl(cp, ['apply', '--dry-run=server', '--validate=strict', '-f', '-'], { input: rewritten.map((o) => stringify(o)).join('---\n') });
    expect(r.stderr).toBe('');
    expect(r.ok).toBe(true);
    expect(r.stdout.trim().split('\n')).toHaveLength(rewritten.length);
  });

  const snippet = adminConfigSnippet(readFileSync(join(DIR, file), 'utf8'));
  it.runIf(snippet !== undefined)('has an admin-config snippet the operator accepts (config check)', async (ctx) => {
    const doc = parseYaml(snippet!) as { backend: string; allowed_backends?: string[] };
    const waiting = (unimplementedBackends()).filter((id) => [doc.backend, ...(doc.allowed_backends ?? [])].includes(id));
    if (waiting.length) {
      console.warn(`${file}: backend ${waiting.join(', ')} not implemented yet, its config snippet is not checked`);
      ctx.skip();
    }
    const cli = join(REPO, 'packages', 'core', 'dist', 'cli.js');
    if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (pnpm run build)`);
    const dir = ownedTempDir('example-config').dir;
    writeFileSync(join(dir, 'config.yaml'), stringify(parseYaml(snippet!)));
    const r = spawnSync(process.execPath, [cli, 'config', 'check', join(dir, 'config.yaml')], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', HOME: dir, HYBRIDCLOUD_PLUGIN_PATHS: join(REPO, 'packages') },
      encoding: 'utf8',
    });
    expect(r.stderr).toContain('configuration OK');
    expect(r.status).toBe(0);
  });
});

/** The YAML after an "Admin config" line in the leading comment, with the comment markers removed. */
function adminConfigSnippet(text: string): string | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^# Admin config/.test(l));
  if (start < 0) return undefined;
  const body: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('#   ')) {
      if (body.length) break;
      continue; // the rest of the "Admin config (...)" sentence
    }
    body.push(l.slice(4));
  }
  return body.join('\n');
}

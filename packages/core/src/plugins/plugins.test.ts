import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ownedTempDir } from '@hybridcloud-postgresql/testenv';
import type { Backend } from '../backend/contract.js';
import { defineBackend } from '../backend/defineBackend.js';
import { ConfigError } from '../config/errors.js';
import { silentLogger } from '../observability/logger.js';
import { createBackends, defaultSearchRoots, discoverPlugins, LoadedBackendRegistry, packageEntry, prepare } from './index.js';

const typeboxDir = realpathSync(join(import.meta.dirname, '../../node_modules/@sinclair/typebox'));
const repoRoot = resolve(import.meta.dirname, '../../../..');

interface FixtureOptions {
  name: string;
  id: string;
  apiVersion?: number;
  /** Body of index.js; default: a well-formed backend. */
  source?: string;
  markerApiVersion?: number;
}

/** A third-party backend package as it would be published: package.json marker + ESM entry. */
function writePlugin(root: string, o: FixtureOptions): string {
  const dir = join(root, ...o.name.split('/'));
  mkdirSync(join(dir, 'dist'), { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: o.name, version: '1.2.3', type: 'module', exports: { '.': { import: './dist/index.js' } }, hybridcloudPostgresqlBackend: { id: o.id, apiVersion: o.markerApiVersion ?? 1 } }),
  );
  const source =
    o.source ??
    `import { Type } from '@sinclair/typebox';
export default {
  brand: Symbol.for('hybridcloud-postgresql.backend/v1'),
  id: ${JSON.stringify(o.id)},
  apiVersion: ${o.apiVersion ?? 1},
  displayName: 'Fixture ${o.id}',
  configSchema: Type.Object({ region: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }, { additionalProperties: false }),
  create(ctx) {
    return { id: ${JSON.stringify(o.id)}, ctx, capabilities: {}, validateServer: () => [], observeServer: async () => ({ exists: false, upToDate: false, ready: false }),
      createServer: async () => ({ state: 'gone' }), updateServer: async () => ({ state: 'gone' }), deleteServer: async () => ({ state: 'gone' }) };
  },
};
`;
  writeFileSync(join(dir, 'dist/index.js'), source);
  return dir;
}

/** A plugins directory whose packages can import TypeBox (as an installed package could). */
function pluginsDir(): string {
  const root = ownedTempDir('hc-plugins').dir;
  mkdirSync(join(root, 'node_modules/@sinclair'), { recursive: true });
  symlinkSync(typeboxDir, join(root, 'node_modules/@sinclair/typebox'));
  mkdirSync(join(root, 'plugins'));
  return root;
}

async function expectConfigError(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).message;
}

describe('plugin discovery and loading', () => {
  it('discovers a third-party package in plugins.paths, loads it when enabled, validates and defaults its section', async () => {
    const root = pluginsDir();
    writePlugin(join(root, 'plugins'), { name: '@acme/pg-backend', id: 'acme' });
    // Installed but not enabled: importing it would throw, so this also proves it is never imported.
    writePlugin(join(root, 'plugins'), { name: 'other-backend', id: 'other', source: "throw new Error('must not be imported');" });
    const prepared = await prepare({
      document: { backend: 'acme', plugins: { paths: [join(root, 'plugins')] }, backends: { acme: { region: 'eu' }, other: { anything: 1 } } },
      env: {},
      searchRoots: [],
    });
    expect(prepared.discovery.plugins.map((p) => p.id).sort()).toEqual(['acme', 'other']);
    expect([...prepared.definitions.keys()]).toEqual(['acme']);
    expect(prepared.loaded.config.backends['acme']).toEqual({ region: 'eu', replicas: 1 });
    expect(prepared.loaded.warnings.join('\n')).toMatch(/backends.other: backend 'other' is not enabled/);

    const registry = await createBackends(prepared, { kubeConfig: new KubeConfig(), logger: silentLogger });
    const backend = registry.get('acme') as Backend & { ctx: { config: unknown; operatorNamespace: string; generatePassword(): string } };
    expect(backend.ctx.config).toEqual({ region: 'eu', replicas: 1 });
    expect(backend.ctx.operatorNamespace).toBe('default');
    expect(backend.ctx.generatePassword()).toHaveLength(16);
    // It sees the operator settings but not the other backends' sections.
    const operatorConfig = (backend.ctx as unknown as { operatorConfig: { backends: Record<string, unknown>; security: unknown } }).operatorConfig;
    expect(Object.keys(operatorConfig.backends)).toEqual(['acme']);
    expect(operatorConfig.security).toEqual({ password_length: 16, special_characters: true });
    expect(Object.isFrozen(operatorConfig.security)).toBe(true);
    expect(registry.ids()).toEqual(['acme']);
  });

  it('finds plugins through HYBRIDCLOUD_PLUGIN_PATHS and in a pnpm-style node_modules with symlinks', async () => {
    const root = pluginsDir();
    const store = join(root, 'node_modules/.pnpm/@acme+pg-backend@1.2.3/node_modules');
    const real = writePlugin(store, { name: '@acme/pg-backend', id: 'acme' });
    mkdirSync(join(root, 'app/node_modules/@acme'), { recursive: true });
    symlinkSync(real, join(root, 'app/node_modules/@acme/pg-backend'));
    const discovery = discoverPlugins(defaultSearchRoots({ cwd: join(root, 'app'), env: {} }));
    expect(discovery.plugins.filter((p) => p.id === 'acme')).toHaveLength(1);
    expect(discovery.plugins.find((p) => p.id === 'acme')?.dir).toBe(real);

    // `npm install --prefix DIR pkg` puts packages in DIR/node_modules; DIR itself is a valid path.
    const prefix = ownedTempDir('hc-prefix').dir;
    writePlugin(join(prefix, 'node_modules'), { name: '@acme/prefixed', id: 'prefixed' });
    expect(discoverPlugins([prefix]).plugins.map((p) => p.id)).toEqual(['prefixed']);

    // A second copy of the same package and version is the same plugin, not a duplicate.
    const copy = pluginsDir();
    writePlugin(join(copy, 'plugins'), { name: '@acme/pg-backend', id: 'acme' });
    expect(discoverPlugins([join(root, 'app/node_modules'), join(copy, 'plugins')]).plugins.filter((p) => p.id === 'acme')).toHaveLength(1);

    const other = pluginsDir();
    writePlugin(join(other, 'plugins'), { name: 'env-backend', id: 'envb' });
    const prepared = await prepare({ document: { backend: 'envb', backends: { envb: { region: 'x' } } }, env: { HYBRIDCLOUD_PLUGIN_PATHS: `/nonexistent:${join(other, 'plugins')}` }, searchRoots: [] });
    expect(prepared.definitions.get('envb')?.plugin?.packageName).toBe('env-backend');
    expect(prepared.loaded.warnings).toContain('plugin directory /nonexistent (plugins.paths / HYBRIDCLOUD_PLUGIN_PATHS) does not exist');
  });

  it('stops with a message naming the package for a wrong brand, a wrong API version, a duplicate id, a bad section', async () => {
    const root = pluginsDir();
    const plugins = join(root, 'plugins');
    writePlugin(plugins, { name: 'no-brand', id: 'nobrand', source: "export default { id: 'nobrand', apiVersion: 1, create() {} };" });
    writePlugin(plugins, { name: 'future-backend', id: 'future', markerApiVersion: 2 });
    writePlugin(plugins, { name: 'future-def', id: 'futuredef', apiVersion: 2 });
    writePlugin(plugins, { name: 'dup-one', id: 'dup' });
    writePlugin(plugins, { name: '@x/dup-two', id: 'dup' });
    writePlugin(plugins, { name: 'liar', id: 'liar', source: "export default { brand: Symbol.for('hybridcloud-postgresql.backend/v1'), id: 'somethingelse', apiVersion: 1, create() {} };" });
    writePlugin(plugins, { name: 'good', id: 'good' });
    const load = (backend: string, section: Record<string, unknown> = { region: 'r' }) =>
      prepare({ document: { backend, backends: { [backend]: section } }, env: {}, searchRoots: [plugins] });

    expect(await expectConfigError(load('nobrand'))).toMatch(/no-brand@1.2.3 \(.*no-brand\) does not default-export a backend made with defineBackend/);
    expect(await expectConfigError(load('future'))).toMatch(/future-backend@1.2.3 .* declares apiVersion 2, this operator supports 1/);
    expect(await expectConfigError(load('futuredef'))).toMatch(/future-def@1.2.3 .* exports a backend of apiVersion 2/);
    const dup = await expectConfigError(load('dup'));
    expect(dup).toMatch(/more than one package declares id 'dup'/);
    expect(dup).toContain(join(plugins, 'dup-one'));
    expect(dup).toContain(join(plugins, '@x/dup-two'));
    expect(await expectConfigError(load('liar'))).toMatch(/marked as 'liar' in package.json but its definition says 'somethingelse'/);
    expect(await expectConfigError(load('good', { region: 'r', replicas: 0, colour: 'red' }))).toMatch(/backends.good.colour: unknown key \(schema of good@1.2.3\)[\s\S]*backends.good.replicas: expected integer to be greater or equal to 1, got 0 \(schema of good@1.2.3\)/);
    const missing = await expectConfigError(load('nothere'));
    expect(missing).toMatch(/no backend package with id 'nothere' is installed \(found: dup, future, futuredef, good, liar, nobrand;/);
  });

  it('loads only backend + allowed_backends from the real workspace when its packages directory is a plugin path', () => {
    // From core's own directory the backend packages are not reachable: they are not core's dependencies.
    const fromCore = discoverPlugins(defaultSearchRoots({ cwd: join(repoRoot, 'packages/core'), env: {} }));
    expect(fromCore.plugins.map((p) => p.id)).not.toContain('awsrds');
    const workspace = discoverPlugins(defaultSearchRoots({ cwd: repoRoot, env: { HYBRIDCLOUD_PLUGIN_PATHS: join(repoRoot, 'packages') } }));
    expect(workspace.plugins.map((p) => p.id).sort()).toEqual(expect.arrayContaining(['awsaurora', 'awsrds', 'azurepostgres', 'azurepostgresflexible', 'helmbitnami', 'helmyugabyte']));
  });

  it('lets definitions be registered in code (they win over packages)', async () => {
    const def = defineBackend<{ url?: string }>({
      id: 'external',
      displayName: 'External server',
      configSchema: Type.Object({ url: Type.Optional(Type.String()) }, { additionalProperties: false }),
      create: () => ({ id: 'external', capabilities: {} as Backend['capabilities'], validateServer: () => [], observeServer: async () => ({ exists: true, upToDate: true, ready: false }), createServer: async () => ({ state: 'gone' }), updateServer: async () => ({ state: 'gone' }), deleteServer: async () => ({ state: 'gone' }) }),
    });
    const prepared = await prepare({ document: { backend: 'external' }, env: {}, searchRoots: [], registered: [def] });
    const registry = await createBackends(prepared, { kubeConfig: new KubeConfig(), logger: silentLogger });
    expect(registry.get('external')?.id).toBe('external');
  });

  it('names the backend whose create() fails', async () => {
    const def = defineBackend({ id: 'broken', displayName: 'x', configSchema: Type.Object({}), create: () => { throw new Error('no credentials'); } });
    const prepared = await prepare({ document: { backend: 'broken' }, env: {}, searchRoots: [], registered: [def] });
    expect(await expectConfigError(createBackends(prepared, { kubeConfig: new KubeConfig(), logger: silentLogger }))).toMatch(/backends.broken: backend 'broken' from registered programmatically failed to start: no credentials/);
  });
});

describe('package entry and markers', () => {
  it('resolves the entry like an ESM import would', () => {
    expect(packageEntry({ exports: './x.js' })).toBe('./x.js');
    expect(packageEntry({ exports: { '.': { types: './a.d.ts', import: './esm.js', require: './cjs.cjs' } } })).toBe('./esm.js');
    expect(packageEntry({ exports: { '.': { types: './a.d.ts', default: './d.js' }, './package.json': './package.json' } })).toBe('./d.js');
    expect(packageEntry({ exports: { import: './i.js', default: './d.js' } })).toBe('./i.js');
    expect(packageEntry({ main: 'lib/main.js' })).toBe('lib/main.js');
    expect(packageEntry({})).toBe('index.js');
  });

  it('skips a malformed marker with a warning naming the package', () => {
    const root = pluginsDir();
    const dir = join(root, 'plugins', 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'broken', hybridcloudPostgresqlBackend: { id: 'Not Valid' } }));
    const d = discoverPlugins([join(root, 'plugins')]);
    expect(d.plugins).toEqual([]);
    expect(d.warnings[0]).toMatch(/^broken \(.*broken\): ignored, "hybridcloudPostgresqlBackend" must be/);
  });
});

describe('LoadedBackendRegistry.resolve', () => {
  const fake = (id: string) => ({ id }) as unknown as Backend;
  const backends = new Map([['helmbitnami', fake('helmbitnami')], ['awsrds', fake('awsrds')]]);

  it('always uses the default when allowed_backends is empty, whatever spec.backend says', () => {
    const r = new LoadedBackendRegistry('helmbitnami', [], backends);
    expect(r.resolve('awsrds', undefined)).toMatchObject({ ok: true, id: 'helmbitnami' });
    expect(r.resolve(undefined, undefined)).toMatchObject({ ok: true, id: 'helmbitnami' });
  });

  it('honours spec.backend from the allowed list and refuses others by name', () => {
    const r = new LoadedBackendRegistry('helmbitnami', ['helmbitnami', 'awsrds'], backends);
    expect(r.resolve('awsrds', undefined)).toMatchObject({ ok: true, id: 'awsrds' });
    expect(r.resolve('', undefined)).toMatchObject({ ok: true, id: 'helmbitnami' });
    const denied = r.resolve('azurepostgres', undefined);
    expect(denied).toEqual({ ok: false, reason: 'BackendNotAllowed', message: expect.stringContaining("spec.backend 'azurepostgres' is not allowed; choose one of: helmbitnami, awsrds") });
  });

  it('keeps a sticky backend, and reports one that is not loaded', () => {
    const r = new LoadedBackendRegistry('helmbitnami', ['helmbitnami', 'awsrds'], backends);
    expect(r.resolve('helmbitnami', 'awsrds')).toMatchObject({ ok: true, id: 'awsrds' });
    expect(r.resolve(undefined, 'azurepostgres')).toMatchObject({ ok: false, reason: 'BackendNotLoaded' });
  });
});

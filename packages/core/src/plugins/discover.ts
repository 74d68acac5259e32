/**
 * Finds backend packages by the `hybridcloudPostgresqlBackend` marker in their package.json
 * (`{ "id": "awsrds", "apiVersion": 1 }`), without importing anything: only the ids the config
 * names are imported later. Search roots are package directories or node_modules-like
 * directories (including `@scope/*`), as npm, pnpm and a plain directory of packages lay them out.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MARKER_FIELD = 'hybridcloudPostgresqlBackend';

export interface DiscoveredPlugin {
  id: string;
  /** API version the package declares in its marker. */
  apiVersion: number;
  packageName: string;
  packageVersion: string;
  /** Real path of the package directory. */
  dir: string;
  /** Path of the module to import, from `exports['.']` or `main`. */
  entry: string;
}

export interface Discovery {
  plugins: DiscoveredPlugin[];
  /** Packages with a malformed marker (not fatal unless their id is needed; then it is missing). */
  warnings: string[];
  /** The directories that were searched, for "not found" messages. */
  searched: string[];
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** The module a bare import of the package resolves to (ESM conditions import > node > default). */
export function packageEntry(pkg: Record<string, unknown>): string {
  const pick = (target: unknown): string | undefined => {
    if (typeof target === 'string') return target;
    if (Array.isArray(target)) return target.map(pick).find(Boolean);
    if (target && typeof target === 'object') {
      const t = target as Record<string, unknown>;
      if ('.' in t) return pick(t['.']);
      if (Object.keys(t).some((k) => k.startsWith('.'))) return undefined;
      return pick(t['import']) ?? pick(t['node']) ?? pick(t['default']);
    }
    return undefined;
  };
  return pick(pkg['exports']) ?? (typeof pkg['main'] === 'string' ? pkg['main'] : 'index.js');
}

function inspectPackage(dir: string, out: Discovery): void {
  const pkg = readJson(join(dir, 'package.json'));
  if (!pkg || !(MARKER_FIELD in pkg)) return;
  const marker = pkg[MARKER_FIELD] as { id?: unknown; apiVersion?: unknown } | null;
  const name = typeof pkg['name'] === 'string' ? pkg['name'] : dir;
  if (!marker || typeof marker.id !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(marker.id) || typeof marker.apiVersion !== 'number') {
    out.warnings.push(`${name} (${dir}): ignored, "${MARKER_FIELD}" must be { "id": "<lowercase id>", "apiVersion": <number> }`);
    return;
  }
  const real = realpathSync(dir);
  const version = typeof pkg['version'] === 'string' ? pkg['version'] : '0.0.0';
  // The same package reached twice (symlinks, or one copy per layout) is one plugin; only different
  // packages or versions claiming one id are a conflict (reported when that id is loaded).
  if (out.plugins.some((p) => p.dir === real || (p.packageName === name && p.packageVersion === version && p.id === marker.id))) return;
  out.plugins.push({
    id: marker.id,
    apiVersion: marker.apiVersion,
    packageName: name,
    packageVersion: version,
    dir: real,
    entry: resolve(real, packageEntry(pkg)),
  });
}

/**
 * Scans one root: a package itself (plus its node_modules), a directory of packages
 * (node_modules layout), or an `npm install --prefix DIR` directory (DIR/node_modules).
 */
function scanRoot(root: string, out: Discovery): void {
  if (!isDir(root)) return;
  out.searched.push(root);
  const nested = join(root, 'node_modules');
  if (existsSync(join(root, 'package.json'))) inspectPackage(root, out);
  else scanPackagesDir(root, out);
  if (!root.endsWith(`${'/'}node_modules`) && isDir(nested)) scanPackagesDir(nested, out);
}

function scanPackagesDir(dir: string, out: Discovery): void {
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('.') || entry === 'node_modules') continue;
    const path = join(dir, entry);
    if (entry.startsWith('@')) {
      if (isDir(path)) for (const sub of readdirSync(path)) if (isDir(join(path, sub))) inspectPackage(join(path, sub), out);
    } else if (isDir(path)) {
      inspectPackage(path, out);
    }
  }
}

export function discoverPlugins(roots: readonly string[]): Discovery {
  const out: Discovery = { plugins: [], warnings: [], searched: [] };
  const seen = new Set<string>();
  for (const root of roots) {
    const abs = resolve(root);
    if (seen.has(abs)) continue;
    seen.add(abs);
    scanRoot(abs, out);
  }
  return out;
}

/** `dir/node_modules` for dir and every ancestor. */
function nodeModulesUpwards(start: string): string[] {
  const dirs: string[] = [];
  let dir = resolve(start);
  for (;;) {
    if (!dir.endsWith(`${'/'}node_modules`)) dirs.push(join(dir, 'node_modules'));
    else dirs.push(dir);
    const parent = dirname(dir);
    if (parent === dir) return dirs;
    dir = parent;
  }
}

export interface SearchRootOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** plugins.paths from the config (already absolute). */
  extraPaths?: readonly string[];
  /** The running script (process.argv[1]): packages installed next to the operator's entry. */
  entryScript?: string | undefined;
}

/**
 * Where backend packages can be: node_modules reachable from core itself (npm/pnpm installs the
 * backends next to core in the operator image; pnpm's `.pnpm/node_modules` is reached by walking
 * up from core's real path), from the entry script, from the working directory, plus the
 * admin's extra directories (config `plugins.paths`, env HYBRIDCLOUD_PLUGIN_PATHS, colon-separated).
 */
export function defaultSearchRoots(opts: SearchRootOptions = {}): string[] {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const coreDir = dirname(fileURLToPath(import.meta.url));
  const fromEnv = (env['HYBRIDCLOUD_PLUGIN_PATHS'] ?? '').split(':').filter(Boolean).map((p) => resolve(cwd, p));
  const roots = [
    ...(opts.extraPaths ?? []),
    ...fromEnv,
    ...nodeModulesUpwards(cwd),
    ...(opts.entryScript ? nodeModulesUpwards(dirname(opts.entryScript)) : []),
    ...nodeModulesUpwards(coreDir),
  ];
  return [...new Set(roots)];
}

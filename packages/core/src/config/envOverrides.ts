/**
 * HYBRIDCLOUD_* environment overrides, as the original documents them: the dotted key path
 * joined by underscores, upper-cased, prefixed with HYBRIDCLOUD_. That mapping is lossy (keys such
 * as `subscription_id` contain underscores), so the variable is resolved against the schema and the
 * keys present in the file, longest key first, with backtracking. Values are coerced to the
 * schema's type — unlike the original, `false` really is false and numbers are numbers.
 */
import type { TSchema } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import type { ConfigProblem } from './errors.js';
import { isSecretKey } from './render.js';
import { additionalSchema, childSchema, isPlainObject, propertyKeys, schemaTypes } from './schemaWalk.js';

export const ENV_PREFIX = 'HYBRIDCLOUD_';

/** Variables with the prefix that are not config overrides. */
const RESERVED = new Set(['HYBRIDCLOUD_PLUGIN_PATHS', 'HYBRIDCLOUD_CONFIG']);
/**
 * The project's own tooling (testenv's control plane, its cache, golden-file updates): set in
 * every shell that sourced `.testenv/env`, never configuration, not worth a warning on each run.
 */
const OWN_TOOLING = /^HYBRIDCLOUD_(TESTENV_|CACHE$|UPDATE_GOLDEN$)/;
/**
 * Kubernetes injects `<SERVICE>_SERVICE_HOST`, `<SERVICE>_PORT...` for every Service in the
 * namespace; a Service called "hybridcloud" must not stop the operator.
 */
const SERVICE_LINK = /^HYBRIDCLOUD_(SERVICE_(HOST|PORT)(_.*)?|PORT(_\d+_(TCP|UDP|SCTP)(_.*)?)?)$/;

export interface EnvOverride {
  variable: string;
  /** Resolved key path. */
  path: string[];
  value: unknown;
}

export interface EnvResolution {
  overrides: EnvOverride[];
  problems: ConfigProblem[];
  /** HYBRIDCLOUD_* variables that are not about this config at all (other tools' variables). */
  foreign: string[];
  /** Variables that could not be resolved yet (backend schemas not known in the first pass). */
  deferred: string[];
  /** Variables left unused on purpose, with the reason (an override for a backend that is not enabled). */
  ignored: Array<{ variable: string; reason: string }>;
}

export function overrideVariables(env: NodeJS.ProcessEnv): Array<[string, string]> {
  return Object.entries(env)
    .filter(([k, v]) => k.startsWith(ENV_PREFIX) && !RESERVED.has(k) && !OWN_TOOLING.test(k) && !SERVICE_LINK.test(k) && v !== undefined && v !== '')
    .sort(([a], [b]) => a.localeCompare(b)) as Array<[string, string]>;
}

/** Upper-case forms a key may take in a variable name: as written, and camelCase as snake_case. */
function keyForms(key: string): string[] {
  // Dashes (third-party backend ids, `latest-update`) cannot appear in variable names.
  const upper = key.toUpperCase().replace(/-/g, '_');
  const snake = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase().replace(/-/g, '_');
  return snake === upper ? [upper] : [upper, snake];
}

function resolvePath(tokens: string[], i: number, schema: TSchema | undefined, doc: unknown): string[] | undefined {
  if (i === tokens.length) return [];
  const docKeys = isPlainObject(doc) ? Object.keys(doc) : [];
  const keys = [...new Set([...propertyKeys(schema), ...docKeys])];
  for (let len = tokens.length - i; len >= 1; len--) {
    const joined = tokens.slice(i, i + len).join('_');
    for (const key of keys.filter((k) => keyForms(k).includes(joined))) {
      const sub = childSchema(schema, key);
      if (!sub && !docKeys.includes(key)) continue;
      const rest = resolvePath(tokens, i + len, sub, isPlainObject(doc) ? doc[key] : undefined);
      if (rest) return [key, ...rest];
    }
  }
  // A record (classes, tags, ...) may get a key the file does not have yet. Records of scalars
  // take the whole rest as the key; records of objects one token, then descend.
  const add = additionalSchema(schema);
  if (add && Object.keys(add).length > 0) {
    const scalar = !schemaTypes(add).has('object');
    if (scalar) return [tokens.slice(i).join('_').toLowerCase()];
    const rest = resolvePath(tokens, i + 1, add, undefined);
    if (rest) return [tokens[i]!.toLowerCase(), ...rest];
  }
  return undefined;
}

function startsWithKey(tokens: readonly string[], key: string): boolean {
  return keyForms(key).some((form) => {
    const parts = form.split('_');
    return parts.every((p, i) => tokens[i] === p);
  });
}

/** Levenshtein distance, for "did you mean" on a misspelt first segment. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** Coerces the raw string to what the schema expects; throws a message on mismatch. */
export function coerceEnvValue(raw: string, schema: TSchema | undefined): unknown {
  const types = schemaTypes(schema);
  const text = raw.trim();
  if (types.has('string') && !types.has('array') && !types.has('object')) return raw;
  if (types.has('boolean') && types.size <= 2) {
    const lower = text.toLowerCase();
    if (TRUE.has(lower)) return true;
    if (FALSE.has(lower)) return false;
    throw new Error(`expected a boolean (true/false/1/0), got '${raw}'`);
  }
  if ((types.has('integer') || types.has('number')) && !types.has('array') && !types.has('object')) {
    const n = Number(text);
    if (text === '' || !Number.isFinite(n)) throw new Error(`expected a number, got '${raw}'`);
    if (types.has('integer') && !types.has('number') && !Number.isInteger(n)) throw new Error(`expected an integer, got '${raw}'`);
    return n;
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new Error(`not valid YAML/JSON: ${(err as Error).message.split("\n")[0]}`, { cause: err });
  }
  // Convenience: `a,b,c` for a list of strings.
  if (types.has('array') && typeof parsed === 'string') return parsed.split(',').map((s) => s.trim()).filter(Boolean);
  if (types.has('array') && parsed === null) return [];
  return parsed;
}

export interface ResolveEnvOptions {
  /** Full document schema (with loaded backend sections). */
  schema: TSchema;
  /** The parsed file, for keys of records and of sections without a schema. */
  document: unknown;
  /** Paths whose subtree cannot be resolved yet: unresolved variables there are deferred. */
  deferPrefixes?: string[][];
  /**
   * Why an unresolved variable is harmless (e.g. "backend x is not enabled"): it is then ignored
   * with a warning, as the Python operator ignored it, instead of stopping the operator.
   */
  hint?(path: string[]): string | undefined;
}

export function resolveEnvOverrides(env: NodeJS.ProcessEnv, opts: ResolveEnvOptions): EnvResolution {
  const out: EnvResolution = { overrides: [], problems: [], deferred: [], foreign: [], ignored: [] };
  const topLevel = propertyKeys(opts.schema);
  for (const [variable, raw] of overrideVariables(env)) {
    const tokens = variable.slice(ENV_PREFIX.length).split('_').filter(Boolean);
    // Other tools share the prefix (HYBRIDCLOUD_CACHE, the sibling operators' settings, ...): only a
    // variable that starts with one of our top-level keys, or nearly does (a typo), is ours.
    if (!topLevel.some((k) => startsWithKey(tokens, k))) {
      const near = topLevel.find((k) => distance(tokens[0] ?? '', keyForms(k)[0]!.split('_')[0]!) <= 2);
      if (near) out.problems.push({ path: variable, message: `environment override matches no configuration key (did you mean ${ENV_PREFIX}${keyForms(near)[0]}_...?)` });
      else out.foreign.push(variable);
      continue;
    }
    const path = resolvePath(tokens, 0, opts.schema, opts.document);
    if (!path) {
      const deferred = opts.deferPrefixes?.some((p) => p.every((seg, i) => keyForms(seg).includes(tokens[i] ?? '')));
      if (deferred) {
        out.deferred.push(variable);
        continue;
      }
      const hint = opts.hint?.(tokens.map((t) => t.toLowerCase()));
      if (hint) out.ignored.push({ variable, reason: hint });
      else out.problems.push({ path: variable, message: 'environment override matches no configuration key' });
      continue;
    }
    let target: TSchema | undefined = opts.schema;
    for (const key of path) target = childSchema(target, key);
    try {
      out.overrides.push({ variable, path, value: coerceEnvValue(raw, target) });
    } catch (err) {
      // Never echo what might be a credential.
      const detail = isSecretKey(path.at(-1) ?? '') ? 'the value has the wrong type (not shown)' : (err as Error).message;
      out.problems.push({ path: variable, message: `for ${path.join('.')}: ${detail}` });
    }
  }
  return out;
}

/** Writes value at path, creating objects on the way (replacing non-objects). */
export function setIn(doc: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = doc;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      cur[key] = value;
      return;
    }
    if (!isPlainObject(cur[key])) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  });
}

/**
 * Turns the parsed file plus environment into the validated OperatorConfig: env overrides
 * (coerced through the schema), CLI overrides, defaults, virtual-parent merge and per-backend
 * validation. Collects every problem before failing.
 */
import type { TSchema } from '@sinclair/typebox';
import { ConfigError, type ConfigProblem } from './errors.js';
import { resolveEnvOverrides, setIn, type EnvOverride } from './envOverrides.js';
import { OperatorConfigSchema, VIRTUAL_PARENTS, WELL_KNOWN_BACKEND_IDS, type OperatorConfig } from './schema.js';
import { isPlainObject } from './schemaWalk.js';
import { validateValue, withDefaults } from './validate.js';
import { keysUnknownToAll, mergeParent, stripNulls } from './virtualParents.js';

/** What the loader needs to know about a loaded backend (a BackendDefinition fits). */
export interface BackendConfigSpec {
  configSchema: TSchema;
  configParent?: string | undefined;
  /** The package that ships the schema, named in messages (e.g. `@acme/backend@1.2.0`). */
  origin?: string | undefined;
}

/** A value set on the command line (run --namespace ...); wins over env and file. */
export interface CliOverride {
  path: string[];
  value: unknown;
  flag: string;
}

export interface ResolveConfigOptions {
  env?: NodeJS.ProcessEnv;
  /**
   * Schemas of the backends that will be loaded. Undefined = first pass (before plugins are
   * loaded): backend sections are not validated and overrides into them are deferred.
   */
  backendSchemas?: Readonly<Record<string, BackendConfigSpec>>;
  /** Installed backend ids that are not loaded: their sections are accepted unvalidated. */
  knownBackendIds?: readonly string[];
  cliOverrides?: readonly CliOverride[];
  /** For messages. */
  filepath?: string;
}

export interface LoadedConfig {
  config: OperatorConfig;
  filepath?: string;
  envOverrides: EnvOverride[];
  cliOverrides: CliOverride[];
  /** Env variables left for the second pass (only in the first pass). */
  deferredEnv: string[];
  /** Things an admin should know that do not stop the operator. */
  warnings: string[];
}

const getIn = (value: unknown, path: readonly string[]): unknown =>
  path.reduce<unknown>((cur, key) => (isPlainObject(cur) ? cur[key] : undefined), value);

const startsWith = (path: readonly string[], prefix: readonly string[]) => prefix.every((seg, i) => path[i] === seg);

function documentSchema(backendSchemas: Readonly<Record<string, BackendConfigSpec>> | undefined, parents: readonly string[]): TSchema {
  const props: Record<string, unknown> = {};
  for (const [id, spec] of Object.entries(backendSchemas ?? {})) props[id] = spec.configSchema;
  for (const parent of parents) {
    const children = Object.values(backendSchemas ?? {}).filter((s) => s.configParent === parent);
    if (children.length > 0) props[parent] = { anyOf: children.map((c) => c.configSchema) };
  }
  const backends = { type: 'object', properties: props, additionalProperties: { type: 'object' } };
  return { ...OperatorConfigSchema, properties: { ...OperatorConfigSchema.properties, backends } } as unknown as TSchema;
}

export function resolveConfig(document: unknown, opts: ResolveConfigOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  if (document !== undefined && document !== null && !isPlainObject(document)) {
    throw new ConfigError([{ path: opts.filepath ?? '(root)', message: 'the configuration must be a YAML mapping' }]);
  }
  const doc = stripNulls(structuredClone(document ?? {})) as Record<string, unknown>;
  const schemas = opts.backendSchemas;
  const parents = [...new Set<string>([...VIRTUAL_PARENTS, ...Object.values(schemas ?? {}).flatMap((s) => (s.configParent ? [s.configParent] : []))])];

  // 1. Environment, then command line.
  const envRes = resolveEnvOverrides(env, {
    schema: documentSchema(schemas, parents),
    document: doc,
    ...(schemas ? {} : { deferPrefixes: [['backends']] }),
    hint: (tokens) => {
      if (tokens[0] !== 'backends' || !schemas) return undefined;
      const ids = [...Object.keys(isPlainObject(doc['backends']) ? doc['backends'] : {}), ...WELL_KNOWN_BACKEND_IDS, ...parents];
      // Longest id first: `azurepostgres_x` is about azurepostgres, not azure.
      const id = ids.sort((a, b) => b.length - a.length).find((k) => tokens.slice(1).join('_').startsWith(k.toLowerCase().replace(/-/g, '_')));
      if (!id || schemas[id]) return undefined;
      return parents.includes(id) ? `no enabled backend takes its settings from backends.${id}` : `backend '${id}' is not enabled, so its keys are unknown`;
    },
  });
  problems.push(...envRes.problems);
  if (envRes.foreign.length > 0) warnings.push(`ignored environment variables that are not configuration keys: ${envRes.foreign.join(', ')}`);
  for (const i of envRes.ignored) warnings.push(`${i.variable} is ignored: ${i.reason}`);
  for (const o of envRes.overrides) setIn(doc, o.path, o.value);
  for (const o of opts.cliOverrides ?? []) setIn(doc, o.path, o.value);
  const sourceOf = (path: readonly string[]): string | undefined => {
    const cli = opts.cliOverrides?.find((o) => startsWith(path, o.path));
    if (cli) return cli.flag;
    return envRes.overrides.find((o) => startsWith(path, o.path))?.variable;
  };
  const note = (p: ConfigProblem & { segments: string[] }): ConfigProblem => {
    const src = sourceOf(p.segments);
    return { path: p.path, message: src ? `${p.message} (set by ${src})` : p.message };
  };

  // 2. The top level, with defaults.
  const config = withDefaults<OperatorConfig>(OperatorConfigSchema, doc);
  const topLevel = validateValue(OperatorConfigSchema, config).map(note);
  // Without a valid top level the rest cannot be checked; bad env values alone do not stop the
  // backend sections from being checked too, so every problem is reported in one round.
  if (topLevel.length > 0) throw new ConfigError([...problems, ...topLevel]);

  config.operator.namespace ??= env['POD_NAMESPACE'] || env['KUBERNETES_NAMESPACE'] || 'default';
  // The same ordering client-go's leader election insists on; a wrong one flaps leadership.
  const le = config.operator.leader_election;
  if (le.renew_deadline_seconds >= le.lease_duration_seconds) {
    problems.push({ path: 'operator.leader_election.renew_deadline_seconds', message: `must be less than lease_duration_seconds (${le.lease_duration_seconds})` });
  }
  if (le.retry_period_seconds >= le.renew_deadline_seconds) {
    problems.push({ path: 'operator.leader_election.retry_period_seconds', message: `must be less than renew_deadline_seconds (${le.renew_deadline_seconds})` });
  }
  if (config.allowed_backends.length > 0 && !config.allowed_backends.includes(config.backend)) {
    warnings.push(`allowed_backends does not list the default backend '${config.backend}'; it is allowed anyway (resources without spec.backend use it)`);
    config.allowed_backends = [config.backend, ...config.allowed_backends];
  }

  // 3. Backend sections (second pass only).
  if (schemas) resolveBackendSections(config, schemas, parents, opts.knownBackendIds ?? [], problems, warnings, note);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    config,
    ...(opts.filepath ? { filepath: opts.filepath } : {}),
    envOverrides: envRes.overrides,
    cliOverrides: [...(opts.cliOverrides ?? [])],
    deferredEnv: envRes.deferred,
    warnings,
  };
}

function resolveBackendSections(
  config: OperatorConfig,
  schemas: Readonly<Record<string, BackendConfigSpec>>,
  parents: readonly string[],
  knownIds: readonly string[],
  problems: ConfigProblem[],
  warnings: string[],
  note: (p: ConfigProblem & { segments: string[] }) => ConfigProblem,
): void {
  const raw = config.backends;
  const known = new Set<string>([...WELL_KNOWN_BACKEND_IDS, ...knownIds, ...Object.keys(schemas)]);
  const effective: Record<string, Record<string, unknown>> = {};

  for (const [id, spec] of Object.entries(schemas)) {
    const own = raw[id] ?? {};
    const parent = spec.configParent ? raw[spec.configParent] : undefined;
    const merged = parent ? mergeParent(parent, own, spec.configSchema) : own;
    let section: Record<string, unknown>;
    let found: ReturnType<typeof validateValue>;
    try {
      section = withDefaults<Record<string, unknown>>(spec.configSchema, merged);
      found = validateValue(spec.configSchema, section);
    } catch (err) {
      // A plugin shipping a plain JSON schema (no TypeBox kinds) must not crash startup.
      problems.push({ path: `backends.${id}`, message: `the backend's configSchema cannot be evaluated (is it a TypeBox schema?): ${(err as Error).message}` });
      continue;
    }
    for (const p of found) {
      // Report a value inherited from the virtual parent where the admin wrote it.
      const inherited = spec.configParent && getIn(own, p.segments) === undefined && getIn(parent, p.segments) !== undefined;
      const segments = inherited ? ['backends', spec.configParent!, ...p.segments] : ['backends', id, ...p.segments];
      const problem = note({ path: segments.join('.'), segments, message: p.message });
      const context = [inherited ? `inherited by ${id}` : '', spec.origin ? `schema of ${spec.origin}` : ''].filter(Boolean).join('; ');
      problems.push(context ? { ...problem, message: `${problem.message} (${context})` } : problem);
    }
    effective[id] = section;
  }

  for (const [key, section] of Object.entries(raw)) {
    if (schemas[key]) continue;
    if (parents.includes(key)) {
      const children = Object.entries(schemas).filter(([, s]) => s.configParent === key);
      if (children.length === 0) {
        effective[key] = section;
        continue;
      }
      for (const path of keysUnknownToAll(section, children.map(([, s]) => s.configSchema))) {
        const segments = ['backends', key, ...path];
        problems.push(note({ path: segments.join('.'), segments, message: `unknown key: not a setting of ${children.map(([id]) => id).join(' or ')}` }));
      }
      effective[key] = section;
    } else if (known.has(key)) {
      warnings.push(`backends.${key}: backend '${key}' is not enabled (backend/allowed_backends); its section is not validated and not used`);
      effective[key] = section;
    } else {
      problems.push({ path: `backends.${key}`, message: `no backend with id '${key}' is installed (known: ${[...known, ...parents].sort().join(', ')})` });
    }
  }
  config.backends = effective;
}

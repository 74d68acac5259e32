import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ownedTempDir } from '@hybridcloud-postgresql/testenv';
import { ConfigError, loadConfig, renderEffectiveConfig, resolveConfig, type BackendConfigSpec } from './index.js';

// A verbatim copy of the original's complete config file (shared/spec/config-reference.yaml).
const referencePath = join(import.meta.dirname, '__fixtures__/config-reference.yaml');

function tmpDir(): string {
  return ownedTempDir('hc-config').dir;
}

function writeConfig(content: string, name = 'config.yaml'): string {
  const dir = tmpDir();
  const file = join(dir, name);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, content);
  return dir;
}

// Shapes like the real Azure backends' schemas, enough to exercise the virtual-parent merge.
const azureCommon = {
  subscription_id: Type.Optional(Type.String()),
  location: Type.Optional(Type.String()),
  name_pattern: Type.String({ default: '{namespace}-{name}' }),
  resource_group: Type.String(),
  server_delete_fake: Type.Boolean({ default: false }),
  cpu_limit: Type.Optional(Type.Integer({ minimum: 1 })),
  tags: Type.Record(Type.String(), Type.String(), { default: {} }),
  network: Type.Object(
    { public_access: Type.Boolean({ default: true }), allow_azure_services: Type.Boolean({ default: true }) },
    { additionalProperties: false, default: {} },
  ),
};
const flexible: BackendConfigSpec = {
  configParent: 'azure',
  configSchema: Type.Object({ ...azureCommon, availability_zone: Type.String({ default: '1' }) }, { additionalProperties: false }),
};
const single: BackendConfigSpec = {
  configParent: 'azure',
  configSchema: Type.Object(
    {
      ...azureCommon,
      network: Type.Object(
        { public_access: Type.Boolean({ default: true }), create_private_endpoint: Type.Boolean({ default: false }) },
        { additionalProperties: false, default: {} },
      ),
    },
    { additionalProperties: false },
  ),
};
const helm: BackendConfigSpec = {
  configSchema: Type.Object(
    {
      admin_username: Type.String({ default: 'postgres' }),
      storage_class: Type.String({ default: '' }),
      pvc_cleanup: Type.Boolean({ default: false }),
      default_class: Type.Optional(Type.String()),
      classes: Type.Record(Type.String(), Type.Object({ cpu: Type.String(), memory: Type.String() }, { additionalProperties: false }), { default: {} }),
    },
    { additionalProperties: false },
  ),
};

function problemsOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('loads the full config-reference.yaml with defaults and validates the enabled backend', async () => {
    const loaded = await loadConfig({ path: referencePath, env: {}, backendSchemas: { helmbitnami: helm } });
    const c = loaded.config;
    expect(c.backend).toBe('helmbitnami');
    expect(c.handler_on_resume).toBe(false);
    expect(c.security).toEqual({ password_length: 16, special_characters: true });
    expect(c.operator).toMatchObject({ namespace: 'default', concurrency: 4, resync_seconds: 300, health_port: 8080, log_level: 'info', watch_namespaces: [] });
    expect(c.operator.leader_election).toEqual({ enabled: true, lease_name: 'hybrid-cloud-postgresql-operator', lease_duration_seconds: 15, renew_deadline_seconds: 10, retry_period_seconds: 2 });
    expect(c.plugins.paths).toEqual([]);
    expect(c.backends['helmbitnami']).toEqual({ admin_username: 'postgres', storage_class: '', pvc_cleanup: false, default_class: 'small', classes: { small: { cpu: '1000m', memory: '256Mi' } } });
    // The other backends are installed but not enabled: accepted, reported, not validated.
    expect(loaded.warnings.some((w) => w.includes("'awsrds' is not enabled"))).toBe(true);
  });

  it('finds OPERATOR_CONFIG first, then ./config.yaml, then .hybridcloudrc.yaml', async () => {
    const dir = writeConfig('backend: helmbitnami\n');
    writeFileSync(join(dir, '.hybridcloudrc.yaml'), 'backend: awsrds\n');
    writeFileSync(join(dir, 'other.yaml'), 'backend: azurepostgres\n');
    expect((await loadConfig({ cwd: dir, env: {} })).config.backend).toBe('helmbitnami');
    expect((await loadConfig({ cwd: dir, env: { OPERATOR_CONFIG: join(dir, 'other.yaml') } })).config.backend).toBe('azurepostgres');
    const rcOnly = writeConfig('backend: awsaurora\n', '.hybridcloudrc.yaml');
    expect((await loadConfig({ cwd: rcOnly, env: {} })).config.backend).toBe('awsaurora');
  });

  it('supports YAML anchors and merge keys for shared blocks', async () => {
    const dir = writeConfig('backend: helmbitnami\nbackends:\n  helmbitnami: &shared\n    storage_class: fast\n  helmyugabyte:\n    <<: *shared\n    replicas_master: 3\n');
    const { config } = await loadConfig({ cwd: dir, env: {} });
    expect(config.backends['helmyugabyte']).toEqual({ storage_class: 'fast', replicas_master: 3 });
  });

  it('names a missing file and a YAML error', async () => {
    await expect(loadConfig({ cwd: tmpDir(), env: { OPERATOR_CONFIG: '/nope/config.yaml' } })).rejects.toThrow(/OPERATOR_CONFIG: config file \/nope\/config.yaml does not exist/);
    await expect(loadConfig({ cwd: tmpDir(), env: {} })).rejects.toThrow(/no configuration file found/);
    const dir = writeConfig('backend: a\nbackend: b\n');
    await expect(loadConfig({ cwd: dir, env: {} })).rejects.toThrow(/unique/);
  });
});

describe('resolveConfig', () => {
  it('rejects unknown and mistyped keys anywhere with their dotted path', () => {
    const problems = problemsOf(() =>
      resolveConfig(
        { backend: 'helmbitnami', bakends: {}, security: { password_length: 4, special_chars: true }, operator: { leader_election: { enabld: false } } },
        { env: {} },
      ),
    );
    expect(problems.map((p) => p.path).sort()).toEqual(['bakends', 'operator.leader_election.enabld', 'security.password_length', 'security.special_chars']);
    expect(problems.find((p) => p.path === 'bakends')?.message).toBe('unknown key');
  });

  it('requires backend', () => {
    expect(problemsOf(() => resolveConfig({}, { env: {} }))).toEqual([{ path: 'backend', message: 'required key is missing' }]);
  });

  it('rejects a bad key inside a backend section and an unknown backend id', () => {
    const problems = problemsOf(() =>
      resolveConfig(
        { backend: 'helmbitnami', backends: { helmbitnami: { pvc_cleanup: 'yes', classes: { small: { cpu: '1', memroy: '1Gi' } } }, mysql: {} } },
        { env: {}, backendSchemas: { helmbitnami: helm } },
      ),
    );
    expect(problems.map((p) => p.path).sort()).toEqual(['backends.helmbitnami.classes.small.memory', 'backends.helmbitnami.classes.small.memroy', 'backends.helmbitnami.pvc_cleanup', 'backends.mysql']);
  });

  it('applies HYBRIDCLOUD_* overrides with the schema type: boolean false, number, list, object', () => {
    const env = {
      HYBRIDCLOUD_HANDLER_ON_RESUME: 'true',
      HYBRIDCLOUD_SECURITY_SPECIAL_CHARACTERS: 'false',
      HYBRIDCLOUD_SECURITY_PASSWORD_LENGTH: '32',
      HYBRIDCLOUD_ALLOWED_BACKENDS: '[helmbitnami, azurepostgresflexible]',
      HYBRIDCLOUD_OPERATOR_WATCH_NAMESPACES: 'team-a,team-b',
      HYBRIDCLOUD_OPERATOR_LEADER_ELECTION_ENABLED: '0',
      HYBRIDCLOUD_BACKENDS_AZURE_SUBSCRIPTION_ID: '0000-1111',
      HYBRIDCLOUD_BACKENDS_AZUREPOSTGRESFLEXIBLE_CPU_LIMIT: '16',
      HYBRIDCLOUD_BACKENDS_AZURE_TAGS: '{team: platform}',
      HYBRIDCLOUD_BACKENDS_HELMBITNAMI_CLASSES: '{"small": {"cpu": "1", "memory": "1Gi"}}',
      HYBRIDCLOUD_BACKENDS_AZUREPOSTGRESFLEXIBLE_NETWORK_PUBLIC_ACCESS: 'false',
    };
    const loaded = resolveConfig(
      { backend: 'helmbitnami', backends: { azure: { subscription_id: 'from-file', resource_group: 'rg' } } },
      { env, backendSchemas: { helmbitnami: helm, azurepostgresflexible: flexible } },
    );
    const c = loaded.config;
    expect(c.handler_on_resume).toBe(true);
    expect(c.security.special_characters).toBe(false);
    expect(c.security.password_length).toBe(32);
    expect(c.allowed_backends).toEqual(['helmbitnami', 'azurepostgresflexible']);
    expect(c.operator.watch_namespaces).toEqual(['team-a', 'team-b']);
    expect(c.operator.leader_election.enabled).toBe(false);
    const flex = c.backends['azurepostgresflexible']!;
    expect(flex['subscription_id']).toBe('0000-1111');
    expect(flex['cpu_limit']).toBe(16);
    expect(flex['tags']).toEqual({ team: 'platform' });
    expect(flex['network']).toEqual({ public_access: false, allow_azure_services: true });
    expect(c.backends['helmbitnami']!['classes']).toEqual({ small: { cpu: '1', memory: '1Gi' } });
    expect(loaded.envOverrides.find((o) => o.variable === 'HYBRIDCLOUD_BACKENDS_AZURE_SUBSCRIPTION_ID')?.path).toEqual(['backends', 'azure', 'subscription_id']);
    expect(renderEffectiveConfig(loaded)).toMatch(/special_characters: false # from HYBRIDCLOUD_SECURITY_SPECIAL_CHARACTERS/);
  });

  it('names an override that matches no key or has the wrong type', () => {
    const problems = problemsOf(() =>
      resolveConfig(
        { backend: 'helmbitnami' },
        { env: { HYBRIDCLOUD_SECURITY_PASSWORD_LEN: '20', HYBRIDCLOUD_SECURITY_SPECIAL_CHARACTERS: 'maybe', HYBRIDCLOUD_OPERATOR_CONCURRENCY: '2.5', HYBRIDCLOUD_SERVICE_HOST: '10.0.0.1' }, backendSchemas: { helmbitnami: helm } },
      ),
    );
    expect(problems).toEqual([
      { path: 'HYBRIDCLOUD_OPERATOR_CONCURRENCY', message: "for operator.concurrency: expected an integer, got '2.5'" },
      { path: 'HYBRIDCLOUD_SECURITY_PASSWORD_LEN', message: 'environment override matches no configuration key' },
      { path: 'HYBRIDCLOUD_SECURITY_SPECIAL_CHARACTERS', message: "for security.special_characters: expected a boolean (true/false/1/0), got 'maybe'" },
    ]);
  });

  it('ignores an override into a backend that is not enabled with a warning (the Python operator ignored it)', () => {
    const loaded = resolveConfig({ backend: 'helmbitnami' }, { env: { HYBRIDCLOUD_BACKENDS_AZUREPOSTGRES_LOCATION: 'x', HYBRIDCLOUD_BACKENDS_AZURE_SUBSCRIPTION_ID: 'y' }, backendSchemas: { helmbitnami: helm } });
    expect(loaded.warnings).toEqual(expect.arrayContaining([
      "HYBRIDCLOUD_BACKENDS_AZUREPOSTGRES_LOCATION is ignored: backend 'azurepostgres' is not enabled, so its keys are unknown",
      'HYBRIDCLOUD_BACKENDS_AZURE_SUBSCRIPTION_ID is ignored: no enabled backend takes its settings from backends.azure',
    ]));
    expect(loaded.config.backends['azurepostgres']).toBeUndefined();
    // a misspelt key of an enabled backend still stops the operator
    expect(problemsOf(() => resolveConfig({ backend: 'helmbitnami' }, { env: { HYBRIDCLOUD_BACKENDS_HELMBITNAMI_PVC_CLEANUPP: 'true' }, backendSchemas: { helmbitnami: helm } }))).toEqual([
      { path: 'HYBRIDCLOUD_BACKENDS_HELMBITNAMI_PVC_CLEANUPP', message: 'environment override matches no configuration key' },
    ]);
  });

  it("ignores other tools' HYBRIDCLOUD_* variables (the project's own silently) but flags a misspelt top-level key", () => {
    const loaded = resolveConfig({ backend: 'x' }, { env: { HYBRIDCLOUD_CACHE: '/c', HYBRIDCLOUD_TESTENV_CONTROLPLANE: '/x.json', HYBRIDCLOUD_UPDATE_GOLDEN: '1', HYBRIDCLOUD_SIBLING_TOOL: 'y' } });
    expect(loaded.warnings).toEqual(['ignored environment variables that are not configuration keys: HYBRIDCLOUD_SIBLING_TOOL']);
    expect(problemsOf(() => resolveConfig({ backend: 'x' }, { env: { HYBRIDCLOUD_SECURTY_PASSWORD_LENGTH: '20' } }))).toEqual([
      { path: 'HYBRIDCLOUD_SECURTY_PASSWORD_LENGTH', message: 'environment override matches no configuration key (did you mean HYBRIDCLOUD_SECURITY_...?)' },
    ]);
  });

  it('reports an out-of-range env value at its key, naming the variable', () => {
    const problems = problemsOf(() => resolveConfig({ backend: 'x' }, { env: { HYBRIDCLOUD_SECURITY_PASSWORD_LENGTH: '500' } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('security.password_length');
    expect(problems[0]!.message).toMatch(/set by HYBRIDCLOUD_SECURITY_PASSWORD_LENGTH/);
  });

  it('merges the virtual parent key by key into each child and validates against the child schema', () => {
    const doc = {
      backend: 'azurepostgresflexible',
      allowed_backends: ['azurepostgres', 'azurepostgresflexible'],
      backends: {
        azure: { subscription_id: 's', location: 'westeurope', resource_group: 'rg', virtual_network: null, tags: { a: '1' }, network: { public_access: false, allow_azure_services: false } },
        azurepostgresflexible: { location: 'northeurope', tags: { b: '2' }, network: { public_access: true } },
        azurepostgres: { network: { create_private_endpoint: true } },
      },
    };
    const c = resolveConfig(doc, { env: {}, backendSchemas: { azurepostgres: single, azurepostgresflexible: flexible } }).config;
    expect(c.backends['azurepostgresflexible']).toEqual({
      subscription_id: 's', location: 'northeurope', resource_group: 'rg', name_pattern: '{namespace}-{name}', server_delete_fake: false,
      availability_zone: '1', tags: { a: '1', b: '2' }, network: { public_access: true, allow_azure_services: false },
    });
    // allow_azure_services is not a key of the single-server schema: it is not merged there.
    expect(c.backends['azurepostgres']!['network']).toEqual({ public_access: false, create_private_endpoint: true });
  });

  it('rejects a virtual-parent key no child knows, and reports an inherited bad value at the parent', () => {
    const problems = problemsOf(() =>
      resolveConfig(
        { backend: 'azurepostgresflexible', backends: { azure: { resource_group: 'rg', cpu_limit: 0, frobnicate: true, network: { public_acess: true } } } },
        { env: {}, backendSchemas: { azurepostgresflexible: flexible } },
      ),
    );
    expect(problems.map((p) => p.path).sort()).toEqual(['backends.azure.cpu_limit', 'backends.azure.frobnicate', 'backends.azure.network.public_acess', 'backends.azure.network.public_acess']);
    expect(problems.find((p) => p.path === 'backends.azure.cpu_limit')?.message).toMatch(/inherited by azurepostgresflexible/);
    expect(problems.find((p) => p.path === 'backends.azure.frobnicate')?.message).toMatch(/not a setting of azurepostgresflexible/);
  });

  it('names a backend whose configSchema is not a TypeBox schema instead of crashing', () => {
    const plain = { configSchema: { type: 'object', properties: {} } as unknown as BackendConfigSpec['configSchema'] };
    expect(problemsOf(() => resolveConfig({ backend: 'plain' }, { env: {}, backendSchemas: { plain } }))[0]!.message).toMatch(/configSchema cannot be evaluated/);
  });

  it('reports a missing required key of an enabled backend', () => {
    const problems = problemsOf(() => resolveConfig({ backend: 'azurepostgresflexible' }, { env: {}, backendSchemas: { azurepostgresflexible: flexible } }));
    expect(problems).toEqual([{ path: 'backends.azurepostgresflexible.resource_group', message: 'required key is missing' }]);
  });

  it('takes the operator namespace from the environment and lets the default backend always be allowed', () => {
    const loaded = resolveConfig({ backend: 'a', allowed_backends: ['b'] }, { env: { POD_NAMESPACE: 'ops' } });
    expect(loaded.config.operator.namespace).toBe('ops');
    expect(loaded.config.allowed_backends).toEqual(['a', 'b']);
    expect(loaded.warnings[0]).toMatch(/does not list the default backend 'a'/);
  });

  it('defers overrides into backend sections in the first pass', () => {
    const loaded = resolveConfig({ backend: 'a' }, { env: { HYBRIDCLOUD_BACKENDS_AZURE_SUBSCRIPTION_ID: 'x' } });
    expect(loaded.deferredEnv).toEqual(['HYBRIDCLOUD_BACKENDS_AZURE_SUBSCRIPTION_ID']);
  });

  it('never echoes a credential in an error', () => {
    const secret: BackendConfigSpec = { configSchema: Type.Object({ admin_password: Type.String({ minLength: 12 }), api_token: Type.Integer() }, { additionalProperties: false }) };
    const problems = problemsOf(() => resolveConfig({ backend: 's', backends: { s: { admin_password: 'hunter2' } } }, { env: { HYBRIDCLOUD_BACKENDS_S_API_TOKEN: 'tok-123' }, backendSchemas: { s: secret } }));
    const text = JSON.stringify(problems);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('tok-123');
    expect(problems.map((p) => p.path).sort()).toEqual(['HYBRIDCLOUD_BACKENDS_S_API_TOKEN', 'backends.s.admin_password', 'backends.s.api_token']);
  });

  it('redacts secrets when rendering', () => {
    const loaded = resolveConfig({ backend: 'helmbitnami', backends: { helmbitnami: { admin_password: 'hunter2' } } }, { env: {} });
    const text = renderEffectiveConfig(loaded);
    expect(text).not.toContain('hunter2');
    expect(text).toContain('admin_password: <redacted>');
  });

  it('shows keys that name where a secret is (an environment variable), not the secret', () => {
    const loaded = resolveConfig({ backend: 'helmbitnami', backends: { helmbitnami: { admin_password_env: 'PG_ADMIN_PASSWORD' } } }, { env: {} });
    expect(renderEffectiveConfig(loaded)).toContain('admin_password_env: PG_ADMIN_PASSWORD');
  });

  it('applies defaults inside record values (classes)', () => {
    const spec: BackendConfigSpec = {
      configSchema: Type.Object({ classes: Type.Record(Type.String(), Type.Object({ tier: Type.String(), storage_type: Type.String({ default: 'gp2' }) }), { default: {} }) }),
    };
    const c = resolveConfig({ backend: 'b', backends: { b: { classes: { small: { tier: 't' }, big: { tier: 'u', storage_type: 'io1' } } } } }, { env: {}, backendSchemas: { b: spec } }).config;
    expect(c.backends['b']!['classes']).toEqual({ small: { tier: 't', storage_type: 'gp2' }, big: { tier: 'u', storage_type: 'io1' } });
  });

  it('checks leader election timings against each other and namespace names', () => {
    const problems = problemsOf(() =>
      resolveConfig({ backend: 'x', operator: { watch_namespaces: ['Team_A'], leader_election: { lease_duration_seconds: 10, renew_deadline_seconds: 10 } } }, { env: {} }),
    );
    expect(problems.map((p) => p.path)).toEqual(['operator.watch_namespaces.0']);
    const timing = problemsOf(() => resolveConfig({ backend: 'x', operator: { leader_election: { lease_duration_seconds: 10, renew_deadline_seconds: 10 } } }, { env: {} }));
    expect(timing).toEqual([{ path: 'operator.leader_election.renew_deadline_seconds', message: 'must be less than lease_duration_seconds (10)' }]);
  });

  it('resolves overrides into backend ids with dashes', () => {
    const dashed: BackendConfigSpec = { configSchema: Type.Object({ api_url: Type.String() }, { additionalProperties: false }) };
    const c = resolveConfig({ backend: 'my-backend' }, { env: { HYBRIDCLOUD_BACKENDS_MY_BACKEND_API_URL: 'https://x' }, backendSchemas: { 'my-backend': dashed } }).config;
    expect(c.backends['my-backend']).toEqual({ api_url: 'https://x' });
  });
});

describe('docs/configuration.md', () => {
  it('documents every operator, security and plugins setting', async () => {
    const { readFileSync } = await import('node:fs');
    const { OperatorSettingsSchema, SecuritySchema, PluginsSchema, LeaderElectionSchema } = await import('./schema.js');
    const doc = readFileSync(join(import.meta.dirname, '../../../../docs/configuration.md'), 'utf8');
    const keys = [
      ...Object.keys(OperatorSettingsSchema.properties).filter((k) => k !== 'leader_election').map((k) => `operator.${k}`),
      ...Object.keys(LeaderElectionSchema.properties).map((k) => `operator.leader_election.${k}`),
      ...Object.keys(SecuritySchema.properties).map((k) => `security.${k}`),
      ...Object.keys(PluginsSchema.properties).map((k) => `plugins.${k}`),
    ];
    for (const key of keys) expect(doc, key).toContain(`\`${key}\``);
  });
});

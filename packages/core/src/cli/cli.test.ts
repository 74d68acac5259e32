import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Type } from '@sinclair/typebox';
import type { DependencyContainer } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import { ownedTempDir } from '@hybridcloud-postgresql/testenv';
import { parseAllDocuments } from 'yaml';
import type { Backend } from '../backend/contract.js';
import { defineBackend } from '../backend/defineBackend.js';
import type { BackendRegistry } from '../backend/registry.js';
import type { OperatorConfig } from '../config/schema.js';
import { silentLogger } from '../observability/logger.js';
import { Tokens } from '../tokens.js';
import { main, type CliIo } from './commands.js';

const fakeBackend = defineBackend<{ token?: string; region: string }>({
  id: 'fake',
  displayName: 'Fake',
  configSchema: Type.Object({ region: Type.String(), token: Type.Optional(Type.String()) }, { additionalProperties: false }),
  create: () => ({ id: 'fake' }) as unknown as Backend,
});

function io(env: NodeJS.ProcessEnv = {}, extra: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const dir = ownedTempDir('hc-cli').dir;
  const value: CliIo = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    env,
    cwd: dir,
    registered: [fakeBackend],
    loadKubeConfig: () => new KubeConfig(),
    logger: () => silentLogger,
    ...extra,
  };
  return { io: value, dir, out: () => out.join(''), err: () => err.join('') };
}

const pickyBackend = defineBackend<{ region: string }>({
  id: 'picky',
  displayName: 'Picky',
  configSchema: Type.Object({ region: Type.String() }, { additionalProperties: false }),
  create: ({ config }) => {
    if (config.region === 'mars') throw new Error('region mars is not served');
    return { id: 'picky', close: async () => undefined } as unknown as Backend;
  },
});

describe('cli', () => {
  it('config check runs each backend\'s create(): a config that run would refuse is refused here', async () => {
    const t = io({}, { registered: [pickyBackend] });
    writeFileSync(join(t.dir, 'bad.yaml'), 'backend: picky\nbackends:\n  picky:\n    region: mars\n');
    expect(await main(['config', 'check', join(t.dir, 'bad.yaml')], t.io)).toBe(1);
    expect(t.err()).toContain('region mars is not served');
    const ok = io({}, { registered: [pickyBackend] });
    writeFileSync(join(ok.dir, 'ok.yaml'), 'backend: picky\nbackends:\n  picky:\n    region: earth\n');
    expect(await main(['config', 'check', join(ok.dir, 'ok.yaml')], ok.io)).toBe(0);
  });

  it('prints help and both CRDs', async () => {
    const h = io();
    expect(await main(['--help'], h.io)).toBe(0);
    expect(h.out()).toMatch(/^Usage: hybridcloud-postgresql-operator/);
    const c = io();
    expect(await main(['crds'], c.io)).toBe(0);
    const docs = parseAllDocuments(c.out()).map((d) => d.toJS() as { metadata: { name: string } });
    expect(docs.map((d) => d.metadata.name)).toEqual(['postgresqlservers.hybridcloud.maibornwolff.de', 'postgresqldatabases.hybridcloud.maibornwolff.de']);
  });

  it('config check prints the effective config: defaults, env overrides marked, secrets redacted', async () => {
    const t = io({ HYBRIDCLOUD_OPERATOR_CONCURRENCY: '8' });
    writeFileSync(join(t.dir, 'my.yaml'), 'backend: fake\nbackends:\n  fake:\n    region: eu\n    token: s3cr3t\n');
    expect(await main(['config', 'check', join(t.dir, 'my.yaml')], t.io)).toBe(0);
    expect(t.out()).toContain('concurrency: 8 # from HYBRIDCLOUD_OPERATOR_CONCURRENCY');
    expect(t.out()).toContain('password_length: 16');
    expect(t.out()).toContain('token: <redacted>');
    expect(t.out()).not.toContain('s3cr3t');
    expect(t.out()).toContain('#   fake: registered programmatically');
  });

  it('config check lists every bad key with its path and exits 1 without a stack trace', async () => {
    const t = io({ HYBRIDCLOUD_SECURITY_SPECIAL_CHARACTERS: 'nope' });
    writeFileSync(join(t.dir, 'config.yaml'), 'backend: fake\nsecurity:\n  password_length: 3\noperater: {}\n');
    expect(await main(['check-config'], t.io)).toBe(1);
    expect(t.err()).toContain('operater: unknown key');
    expect(t.err()).toContain('HYBRIDCLOUD_SECURITY_SPECIAL_CHARACTERS: for security.special_characters: expected a boolean');
    expect(t.err()).not.toMatch(/\n\s+at /);
    const bad = io();
    writeFileSync(join(bad.dir, 'config.yaml'), 'backend: fake\nbackends:\n  fake:\n    regoin: eu\n');
    expect(await main(['config', 'check'], bad.io)).toBe(1);
    expect(bad.err()).toContain('backends.fake.region: required key is missing');
    expect(bad.err()).toContain('backends.fake.regoin: unknown key');
  });

  it('run loads config and plugins, applies flags, builds the container and starts the operator', async () => {
    let seen: DependencyContainer | undefined;
    const t = io({}, { startOperator: async (c) => void (seen = c) });
    writeFileSync(join(t.dir, 'config.yaml'), 'backend: fake\nbackends:\n  fake:\n    region: eu\n');
    const code = await main(['run', '-n', 'team-a', '--namespace', 'team-b', '--no-leader-elect', '--metrics-port', '9090'], t.io);
    expect(t.err()).toBe('');
    expect(code).toBe(0);
    const config = seen!.resolve<OperatorConfig>(Tokens.Config);
    expect(config.operator.watch_namespaces).toEqual(['team-a', 'team-b']);
    expect(config.operator.leader_election.enabled).toBe(false);
    expect(config.operator.health_port).toBe(9090);
    expect(seen!.resolve<BackendRegistry>(Tokens.BackendRegistry).resolve(undefined, undefined)).toMatchObject({ ok: true, id: 'fake' });
  });

  it('run refuses a bad config before touching the cluster, and a bad flag with usage', async () => {
    let started = false;
    const t = io({}, { startOperator: async () => void (started = true) });
    writeFileSync(join(t.dir, 'config.yaml'), 'backend: awsrds\n');
    expect(await main([], t.io)).toBe(1);
    expect(t.err()).toMatch(/no backend package with id 'awsrds' is installed \(found: fake;/);
    expect(started).toBe(false);
    const u = io();
    expect(await main(['run', '--metrics-port', 'http'], u.io)).toBe(2);
    expect(u.err()).toContain('--metrics-port must be a port number');
    const v = io();
    expect(await main(['config', 'chek'], v.io)).toBe(2);
    expect(v.err()).toContain("did you mean 'config check'");
  });
});

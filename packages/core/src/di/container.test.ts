import { KubeConfig } from '@kubernetes/client-node';
import type { DependencyContainer } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import type { BackendRegistry } from '../backend/registry.js';
import { resolveConfig } from '../config/resolve.js';
import type { OperatorConfig } from '../config/schema.js';
import type { PasswordGenerator } from '../credentials/password.js';
import { silentLogger } from '../observability/logger.js';
import { Tokens, type Clock } from '../tokens.js';
import { createContainer } from './container.js';

const config = resolveConfig({ backend: 'helmbitnami', security: { password_length: 24, special_characters: false }, operator: { namespace: 'ops' } }, { env: {} }).config;

// Test files are outside packages/core/tsconfig.json (excluded from the build), so vitest does not
// compile legacy decorators here; resolve by token the way a decorated constructor would.
const needsCore = (c: DependencyContainer) => ({
  config: c.resolve<OperatorConfig>(Tokens.Config),
  clock: c.resolve<Clock>(Tokens.Clock),
  password: c.resolve<PasswordGenerator>(Tokens.PasswordGenerator),
  registry: c.resolve<BackendRegistry>(Tokens.BackendRegistry),
  namespace: c.resolve<string>(Tokens.OperatorNamespace),
});

describe('createContainer', () => {
  it('wires core services by token, with config-bound defaults', () => {
    const c = createContainer({ config, kubeConfig: new KubeConfig(), logger: silentLogger });
    const svc = needsCore(c);
    expect(svc.config.backend).toBe('helmbitnami');
    expect(svc.namespace).toBe('ops');
    expect(svc.password()).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(svc.registry.resolve(undefined, undefined)).toMatchObject({ ok: false, reason: 'BackendNotLoaded' });
    expect(svc.clock.now()).toBeInstanceOf(Date);
  });

  it('lets modules add services and overrides replace them, without leaking between containers', () => {
    const fixed: Clock = { now: () => new Date('2030-01-01T00:00:00Z') };
    const Extra = Symbol('Extra');
    const a = createContainer({ config, kubeConfig: new KubeConfig(), logger: silentLogger, modules: [(c) => c.register(Extra, { useValue: 'from module' })], overrides: [[Tokens.Clock, fixed]] });
    const b = createContainer({ config, kubeConfig: new KubeConfig(), logger: silentLogger });
    expect(a.resolve<string>(Extra)).toBe('from module');
    expect(needsCore(a).clock.now().toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(b.isRegistered(Extra)).toBe(false);
    expect(needsCore(b).clock).not.toBe(fixed);
  });
});

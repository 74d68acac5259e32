import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import type { ServerRequest, ServerSpec } from '@hybridcloud-postgresql/core';
import { BitnamiConfigSchema, type BitnamiConfig } from './config.js';
import { BitnamiProfile, postgresMajor } from './profile.js';

const config = (c: Record<string, unknown> = {}) => Value.Default(BitnamiConfigSchema, structuredClone(c)) as BitnamiConfig;
const req = (spec: Partial<ServerSpec> = {}, name = 'db'): ServerRequest => ({ namespace: 'ns', name, uid: 'u', spec: { credentialsSecret: 'x', ...spec }, state: {} });

describe('BitnamiProfile values', () => {
  it('defaults: release name, existingSecret, legacy image, cpu/memory defaults, 10Gi', () => {
    const { values, warnings } = new BitnamiProfile(config()).values(req());
    expect(values).toEqual({
      fullnameOverride: 'db-postgresql',
      architecture: 'standalone',
      auth: { enablePostgresUser: true, existingSecret: 'db-postgresql-admin', secretKeys: { adminPasswordKey: 'postgres-password' } },
      image: { registry: 'docker.io', repository: 'bitnamilegacy/postgresql' },
      primary: { resourcesPreset: 'none', resources: { requests: { cpu: '1', memory: '256Mi' }, limits: { cpu: '1', memory: '256Mi' } }, persistence: { enabled: true, size: '10Gi' } },
      global: { security: { allowInsecureImages: true } },
    });
    expect(warnings).toEqual([]);
    expect(JSON.stringify(values)).not.toMatch(/password"\s*:/i);
  });

  it('class wins over cpu/memory; unknown class falls back to default_class with a warning', () => {
    const p = new BitnamiProfile(config({ classes: { small: { cpu: '500m', memory: '1Gi' }, big: { cpu: '4', memory: '8Gi' } }, default_class: 'small', storage_class: 'fast' }));
    expect((p.values(req({ size: { class: 'big', cpu: 1 } })).values['primary'] as { resources: unknown }).resources).toEqual({ requests: { cpu: '4', memory: '8Gi' }, limits: { cpu: '4', memory: '8Gi' } });
    const r = p.values(req({ size: { class: 'huge' } }));
    expect((r.values['primary'] as { resources: unknown }).resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '500m', memory: '1Gi' } });
    expect(r.warnings.map((w) => w.reason)).toEqual(['UnknownClass']);
    expect((r.values['primary'] as { persistence: unknown }).persistence).toEqual({ enabled: true, size: '10Gi', storageClass: 'fast' });
    // cpu/memoryMB without class: used as given
    expect((p.values(req({ size: { cpu: 2, memoryMB: 1500 } })).values['primary'] as { resources: unknown }).resources).toEqual({ requests: { cpu: '2', memory: '1500Mi' }, limits: { cpu: '2', memory: '1500Mi' } });
  });

  it('version → image tag', () => {
    const tag = (c: Record<string, unknown>, version?: string) => (new BitnamiProfile(config(c)).values(req(version ? { version } : {})).values['image'] as { tag?: string }).tag;
    expect(tag({}, 'latest')).toBeUndefined();
    expect(tag({}, '16')).toBe('16');
    expect(tag({ version_tags: { '16': '16.6.0-debian-12-r2' } }, '16')).toBe('16.6.0-debian-12-r2');
    expect(tag({ version_tags: { '16': '16.6.0-debian-12-r2' } }, '15')).toBeUndefined();
    expect(tag({ image: { tag: '17.1.0' } }, '15')).toBe('17.1.0');
  });

  it('keeps the deployed volume size (immutable claim template) and warns', () => {
    const p = new BitnamiProfile(config());
    const r = p.values(req({ size: { storageGB: 20 } }), { values: { primary: { persistence: { size: '10Gi' } } } });
    expect((r.values['primary'] as { persistence: { size: string } }).persistence.size).toBe('10Gi');
    expect(r.warnings.map((w) => w.reason)).toEqual(['StorageResizeUnsupported']);
  });

  it('validates the name length', () => {
    const p = new BitnamiProfile(config());
    expect(p.validate(req({}, 'a'.repeat(50)))).toHaveLength(1);
    expect(p.validate(req({}, 'a'.repeat(40)))).toEqual([]);
  });
});

describe('config', () => {
  it('accepts the original operator\'s helmbitnami section unchanged', async () => {
    const withDefaults = (_schema: unknown, v: unknown) => Value.Default(BitnamiConfigSchema, v);
    const validateValue = (_schema: unknown, v: unknown) => [...Value.Errors(BitnamiConfigSchema, v)].map((e) => ({ path: e.path.replace(/^\//, '').replace(/\//g, '.'), message: e.message }));
    const original = { default_class: 'small', classes: { small: { cpu: '1000m', memory: '256Mi' } }, admin_username: 'postgres', storage_class: '', pvc_cleanup: false };
    const withDefs = withDefaults(BitnamiConfigSchema, structuredClone(original));
    expect(validateValue(BitnamiConfigSchema, withDefs)).toEqual([]);
    expect(validateValue(BitnamiConfigSchema, withDefaults(BitnamiConfigSchema, { classes: { s: { cpu: 2, memory: '1Gi' } } }))).toEqual([]);
    expect(validateValue(BitnamiConfigSchema, withDefaults(BitnamiConfigSchema, { typo_key: 1 })).map((p) => p.path)).toEqual(['typo_key']);
  });
});

describe('BitnamiProfile and the Python operator', () => {
  it('reads PostgreSQL majors from versions and tags', () => {
    expect(['14.5.0-debian-11-r14', '16', '17.6.0', '9.6.24', 'latest'].map(postgresMajor)).toEqual(['14', '16', '17', '9.6', undefined]);
  });
  it('recognises its releases and whether the spec still renders what they hold', () => {
    const p = new BitnamiProfile(config({ classes: { small: { cpu: '500m', memory: '512Mi' } }, default_class: 'small' }));
    const live = { values: { fullnameOverride: 'db-postgresql', global: { storageClass: '', postgresql: { auth: { postgresPassword: 'pw' } } }, primary: { resources: { limits: { cpu: 1, memory: '256Mi' }, requests: { cpu: 1, memory: '256Mi' } }, persistence: { size: '10Gi' } } } };
    expect(p.comparePythonRelease(req(), live)).toEqual({ unchanged: true, differences: [expect.stringMatching(/cpu 500m \/ memory 512Mi .*default_class 'small'/)] });
    expect(p.comparePythonRelease(req({ size: { class: 'small' } }), live)?.unchanged).toBe(false);
    expect(p.comparePythonRelease(req({ size: { storageGB: 20 } }), live)?.unchanged).toBe(false);
    expect(p.comparePythonRelease(req(), { values: p.values(req()).values })).toBeUndefined();
    expect(p.adminUsername(req(), live)).toBe('postgres');
  });
});

import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import type { ServerRequest, ServerSpec } from '@hybridcloud-postgresql/core';
import { YugabyteConfigSchema, type YugabyteConfig } from './config.js';
import { wholeCpus, YugabyteProfile, yugabyteSeries } from './profile.js';

const config = (c: Record<string, unknown> = {}) => Value.Default(YugabyteConfigSchema, structuredClone(c)) as YugabyteConfig;
const req = (spec: Partial<ServerSpec> = {}, name = 'db'): ServerRequest => ({ namespace: 'ns', name, uid: 'u', spec: { credentialsSecret: 'x', ...spec }, state: {} });

describe('YugabyteProfile', () => {
  it('new installs: prefixed names, password Secret, no load balancers, partitions 0', () => {
    const p = new YugabyteProfile(config({ replicas_tserver: 3, storage_class: 'fast' }));
    const { values } = p.values(req({ size: { storageGB: 7 } }));
    expect(values).toMatchObject({
      oldNamingStyle: false,
      storage: { ephemeral: false, tserver: { count: 1, size: '7Gi', storageClass: 'fast' } },
      replicas: { master: 1, tserver: 3 },
      partition: { master: 0, tserver: 0 },
      authCredentials: { ysql: { passwordSecretName: 'db-yugabyte-ysql-admin' } },
      enableLoadBalancer: false,
      serviceEndpoints: [],
    });
    expect(p.endpoint(req())).toEqual({ host: 'db-yugabyte-yb-tservers.ns.svc.cluster.local', port: 5433, sslmode: 'disable', adminUsername: 'yugabyte', adminDatabase: 'yugabyte' });
    expect(p.statefulSets(req())).toEqual(['db-yugabyte-yb-master', 'db-yugabyte-yb-tserver']);
    expect(p.chart).toEqual({ chart: 'yugabyte', repository: 'https://charts.yugabyte.com', version: '2026.1.0' });
  });

  it('adopted old-style releases keep their names and password', async () => {
    const p = new YugabyteProfile(config());
    const live = { values: { authCredentials: { ysql: { password: 'old' } } } };
    expect(p.values(req(), live).values['oldNamingStyle']).toBe(true);
    expect(p.endpoint(req(), live).host).toBe('yb-tservers.ns.svc.cluster.local');
    expect(p.statefulSets(req(), live)).toEqual(['yb-master', 'yb-tserver']);
    expect(await p.legacyPassword(req(), undefined, live)).toBe('old');
  });

  it('classes per component; memoryMB rounded up to whole Gi', () => {
    const p = new YugabyteProfile(config({ classes: { s: { master: { cpu: '1', memory: '1Gi' }, tserver: { cpu: '2', memory: '500Mi' } } } }));
    const r = p.values(req({ size: { class: 's' } }));
    expect(r.values['resource']).toEqual({
      master: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
      tserver: { requests: { cpu: '2', memory: '500Mi' }, limits: { cpu: '2', memory: '500Mi' } },
    });
    expect(r.warnings.map((w) => w.reason)).toEqual(['MemoryNotWholeGi']);
    const r2 = p.values(req({ size: { cpu: 3, memoryMB: 1500 } }));
    expect((r2.values['resource'] as { tserver: { limits: unknown } }).tserver.limits).toEqual({ cpu: '3', memory: '2Gi' });
    expect(r2.warnings.map((w) => w.reason)).toEqual(['MemoryRounded']);
  });

  it('refuses names the chart would truncate', () => {
    expect(new YugabyteProfile(config()).validate(req({}, 'x'.repeat(40)))).toHaveLength(1);
  });
});

describe('config', () => {
  it('accepts the original operator\'s helmyugabyte section unchanged', async () => {
    const withDefaults = (_schema: unknown, v: unknown) => Value.Default(YugabyteConfigSchema, v);
    const validateValue = (_schema: unknown, v: unknown) => [...Value.Errors(YugabyteConfigSchema, v)].map((e) => ({ path: e.path.replace(/^\//, '').replace(/\//g, '.'), message: e.message }));
    const original = {
      default_class: 'small',
      classes: { small: { master: { cpu: '1000m', memory: '256Mi' }, tserver: { cpu: '1000m', memory: '256Mi' } } },
      replicas_master: 1, replicas_tserver: 1, partitions_master: 1, partitions_tserver: 1, storage_class: '', pvc_cleanup: false,
    };
    expect(validateValue(YugabyteConfigSchema, withDefaults(YugabyteConfigSchema, structuredClone(original)))).toEqual([]);
  });
});

describe('YugabyteDB release series', () => {
  it('is the first two parts of the version', () => {
    expect(['2.13.0.0-b42', '2024.2.1.0-b185', '2025.1.0.0-b1', 'latest'].map(yugabyteSeries)).toEqual(['2.13', '2024.2', '2025.1', undefined]);
  });
  it('writes CPUs as numbers (the chart ceils the request into --num_cpus) and disables the yugabyted-ui sidecar', () => {
    expect([wholeCpus('1000m'), wholeCpus('500m'), wholeCpus('1500m'), wholeCpus('2'), wholeCpus(2), wholeCpus('250m')]).toEqual(['1', '0.5', '1.5', '2', '2', '0.25']);
    const p = new YugabyteProfile(config({ classes: { s: { master: { cpu: '1000m', memory: '1Gi' }, tserver: { cpu: '2000m', memory: '2Gi' } } }, default_class: 's' }));
    const { values } = p.values(req({ size: { class: 's' } }));
    expect(values['resource']).toMatchObject({ master: { requests: { cpu: '1' } }, tserver: { requests: { cpu: '2' }, limits: { cpu: '2' } } });
    expect(p.values(req({ size: { cpu: '750m' as never } })).values['resource']).toMatchObject({ tserver: { requests: { cpu: '0.75' } } });
    expect(values['yugabytedUi']).toEqual({ enabled: false });
    expect(p.loginReadiness).toBe(true);
    expect(p.startupAuthGraceMs).toBe(300_000);
  });
});

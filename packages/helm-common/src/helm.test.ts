import { describe, expect, it } from 'vitest';
import { claimBelongsTo, claimSelectorsFromManifest, statefulSetReadiness, isReady } from './kube.js';
import { md5Verifier, scramVerifier } from './adminSql.js';
import { summarizeHelmError } from './helmCli.js';
import { stableJson } from './stableJson.js';
import { pickClass } from './config.js';
import { imageTagOf, liveMajor } from './helmServerBackend.js';

describe('helm-common helpers', () => {
  it('claims belong to a StatefulSet by name pattern and selector labels', () => {
    const [sel] = claimSelectorsFromManifest(`---
apiVersion: v1
kind: Service
metadata: { name: x }
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db-postgresql }
spec:
  selector: { matchLabels: { app.kubernetes.io/instance: db-postgresql } }
  volumeClaimTemplates:
    - metadata: { name: data }
`);
    expect(sel).toEqual({ statefulSet: 'db-postgresql', templates: ['data'], matchLabels: { 'app.kubernetes.io/instance': 'db-postgresql' } });
    const pvc = (name: string, labels: Record<string, string>) => ({ metadata: { name, labels } });
    expect(claimBelongsTo(pvc('data-db-postgresql-0', { 'app.kubernetes.io/instance': 'db-postgresql' }), sel!)).toBe(true);
    expect(claimBelongsTo(pvc('data-db-postgresql-0', { 'app.kubernetes.io/instance': 'other' }), sel!)).toBe(false);
    expect(claimBelongsTo(pvc('data-db-postgresql-0-copy', { 'app.kubernetes.io/instance': 'db-postgresql' }), sel!)).toBe(false);
    expect(claimBelongsTo(pvc('data-db-postgresql-x-0', { 'app.kubernetes.io/instance': 'db-postgresql' }), sel!)).toBe(false);
  });

  it('StatefulSet readiness needs the current generation and ready replicas', () => {
    const sts = (generation: number, observed: number, ready: number) => ({ metadata: { name: 's', generation }, spec: { replicas: 1, selector: {}, serviceName: 's', template: {} }, status: { replicas: 1, observedGeneration: observed, readyReplicas: ready } });
    expect(isReady(statefulSetReadiness(sts(2, 2, 1) as never))).toBe(true);
    expect(isReady(statefulSetReadiness(sts(2, 1, 1) as never))).toBe(false);
    expect(isReady(statefulSetReadiness(sts(2, 2, 0) as never))).toBe(false);
  });

  it('password verifiers', () => {
    // md5 verifier as PostgreSQL computes it: md5(password || user)
    expect(md5Verifier('postgres', 'postgres')).toBe('md53175bce1d3201d16594cebf9d7eb3f9d');
    expect(md5Verifier('a', 'b')).toMatch(/^md5[0-9a-f]{32}$/);
    expect(scramVerifier('pw', Buffer.alloc(16, 1))).toMatch(/^SCRAM-SHA-256\$4096:AQEBAQEBAQEBAQEBAQEBAQ==\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
  });

  it('summarizes helm errors, stable JSON, class choice', () => {
    expect(summarizeHelmError('WARNING: Kubernetes configuration file is group-readable\nError: INSTALLATION FAILED: execution error at (x): boom\n')).toBe('INSTALLATION FAILED: execution error at (x): boom');
    expect(stableJson({ b: 1, a: { d: [1, { f: 1, e: 2 }], c: 1 } })).toBe('{"a":{"c":1,"d":[1,{"e":2,"f":1}]},"b":1}');
    expect(pickClass('x', { s: 1 }, 's')).toMatchObject({ name: 's', cls: 1, warning: { reason: 'UnknownClass' } });
    expect(pickClass(undefined, { s: 1 }, 's')).toEqual({ name: 's', cls: 1 });
    expect(pickClass(undefined, {}, undefined)).toEqual({});
  });
});

describe('chart reference', () => {
  it('configured, baked into the image, or the pinned remote chart', async () => {
    const { chartReference } = await import('./config.js');
    const defaults = { baked: '/opt/x/charts/pg', remote: { chart: 'oci://r/pg', version: '1.2.3' } };
    expect(chartReference({}, defaults, () => true)).toEqual({ chart: '/opt/x/charts/pg' });
    expect(chartReference({}, defaults, () => false)).toEqual({ chart: 'oci://r/pg', version: '1.2.3' });
    expect(chartReference({ version: '2.0.0' }, defaults, () => false)).toEqual({ chart: 'oci://r/pg', version: '2.0.0' });
    expect(chartReference({ reference: 'pg', repository: 'https://x' }, defaults, () => true)).toEqual({ chart: 'pg', repository: 'https://x' });
  });
});

describe('live major version', () => {
  const pg = { majorOf: (v: string) => /^(\d+)/.exec(v)?.[1], valuesImageTag: (v: Record<string, unknown>) => (v['image'] as { tag?: string } | undefined)?.tag };
  it('reads the tag of an image reference (registry port, digest)', () => {
    expect(imageTagOf('docker.io/bitnami/postgresql:14.5.0-debian-11-r14')).toBe('14.5.0-debian-11-r14');
    expect(imageTagOf('reg:5000/bitnami/postgresql:16@sha256:abc')).toBe('16');
    expect(imageTagOf('reg:5000/bitnami/postgresql')).toBeUndefined();
  });
  it('prefers the running image, then the values, then the chart appVersion', () => {
    expect(liveMajor(pg, { values: { image: { tag: '15' } }, appVersion: '17.6.0', images: ['x/pg:14.5.0'] })).toEqual({ major: '14', source: 'running image x/pg:14.5.0', tag: '14.5.0' });
    expect(liveMajor(pg, { values: { image: { tag: '15' } }, appVersion: '17.6.0', images: [] })).toMatchObject({ major: '15', tag: '15' });
    expect(liveMajor(pg, { values: {}, chart: 'postgresql-11.9.13', appVersion: '14.5.0' })).toEqual({ major: '14', source: 'chart postgresql-11.9.13 appVersion 14.5.0' });
    expect(liveMajor(pg, { values: {} })).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { unchangedSincePythonOperator, type Capabilities } from '../backend/contract.js';
import { redact, serverRequest, unsupportedFields, WarningMemory } from './common.js';

const none: Capabilities = { sizeByCpuMemory: false, storageAutoGrow: false, backupRetention: false, geoRedundantBackup: false, serverExtensions: false, firewallRules: false, serverParameters: false, maintenanceWindow: false, highAvailability: false };

describe('reconcile helpers', () => {
  it('lists the spec fields a backend cannot honour, only when set', () => {
    expect(unsupportedFields({ credentialsSecret: 's' }, none)).toEqual([]);
    const spec = {
      credentialsSecret: 's', size: { cpu: 2, storageAutoGrow: false }, backup: { retentionDays: 7 }, extensions: ['pg_cron'],
      network: { firewallRules: [{ name: 'a', startIp: '1.1.1.1', endIp: '1.1.1.1' }] }, serverParameters: { work_mem: '4MB' },
      maintenance: { window: { weekday: 'Wed', starttime: '03:00' } }, highavailability: { enabled: true },
    };
    expect(unsupportedFields(spec, none)).toEqual(['spec.size.cpu', 'spec.backup.retentionDays', 'spec.extensions', 'spec.network.firewallRules', 'spec.serverParameters', 'spec.maintenance.window', 'spec.highavailability.enabled']);
    expect(unsupportedFields(spec, { ...none, sizeByCpuMemory: true, highAvailability: true })).not.toContain('spec.size.cpu');
  });

  it('redacts every known secret from messages', () => {
    expect(redact('login as bob with s3cr3t-pw failed (s3cr3t-pw)', ['s3cr3t-pw', undefined])).toBe('login as bob with [REDACTED] failed ([REDACTED])');
    // Kubernetes errors quote Secret data base64-encoded.
    expect(redact(`denied: password=${Buffer.from('s3cr3t-pw').toString('base64')}`, ['s3cr3t-pw'])).toBe('denied: password=[REDACTED]');
  });

  it('remembers warnings per generation', () => {
    const m = new WarningMemory();
    expect(m.firstTime('u', 1, 'R')).toBe(true);
    expect(m.firstTime('u', 1, 'R')).toBe(false);
    expect(m.firstTime('u', 2, 'R')).toBe(true);
  });

  it('remembers each message of a reason, up to a few per generation', () => {
    const m = new WarningMemory();
    expect(m.firstTime('u', 1, 'AdoptedValueKept', 'sku')).toBe(true);
    expect(m.firstTime('u', 1, 'AdoptedValueKept', 'storage')).toBe(true);
    expect(m.firstTime('u', 1, 'AdoptedValueKept', 'sku')).toBe(false);
    for (let i = 0; i < 6; i++) m.firstTime('u', 1, 'Flaky', `attempt ${i}`);
    expect(m.firstTime('u', 1, 'Flaky', 'attempt 6')).toBe(true);
    expect(m.firstTime('u', 1, 'Flaky', 'attempt 7')).toBe(true);
    expect(m.firstTime('u', 1, 'Flaky', 'attempt 8')).toBe(false);
    expect(m.firstTime('u', 2, 'AdoptedValueKept', 'sku')).toBe(true);
  });
});

describe('objects of the Python operator', () => {
  const meta = (annotation?: string) => ({ name: 'a', namespace: 'n', ...(annotation !== undefined ? { annotations: { 'kopf.zalando.org/last-handled-configuration': annotation } } : {}) });
  it('carry the spec kopf last handled; unchanged means equal regardless of key order and nulls', () => {
    const spec = { credentialsSecret: 's', size: { cpu: 2, storageGB: 10 } };
    const kopf = JSON.stringify({ spec: { size: { storageGB: 10, cpu: 2 }, credentialsSecret: 's', version: null }, metadata: { labels: {} } });
    const req = serverRequest({ metadata: meta(kopf), spec }, 'awsrds');
    expect(req.pythonOperatorSpec).toBeDefined();
    expect(unchangedSincePythonOperator(req)).toBe(true);
    expect(unchangedSincePythonOperator({ ...req, spec: { ...spec, size: { cpu: 4, storageGB: 10 } } })).toBe(false);
  });
  it('without the annotation (or with a broken one) nothing counts as unchanged', () => {
    expect(serverRequest({ metadata: meta(), spec: { credentialsSecret: 's' } }, 'x').pythonOperatorSpec).toBeUndefined();
    expect(unchangedSincePythonOperator(serverRequest({ metadata: meta('{not json'), spec: { credentialsSecret: 's' } }, 'x'))).toBe(false);
  });
});

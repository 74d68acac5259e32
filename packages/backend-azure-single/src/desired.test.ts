import { describe, expect, it } from 'vitest';
import type { ServerRequest, ServerSpec } from '@hybridcloud-postgresql/core';
import type { SingleConfig } from './config.js';
import { desiredServer, diffServer, pythonSku, resolveSku } from './desired.js';

const cfg = (c: Partial<SingleConfig>) => ({ parameters: { backup_retention_days: 7, geo_redundant_backup: false, infrastructure_encryption: 'Disabled', network: { firewall_rules: [] } }, network: { public_access: true }, tags: {}, name_pattern: '{namespace}-{name}', name_overrides: [], classes: { basic: { name: 'B_Gen5_1', tier: 'Basic', family: 'Gen5', capacity: 1 } }, python_objects: 'keep', ...c }) as unknown as SingleConfig;
const req = (spec: Partial<ServerSpec>, adopted: boolean): ServerRequest => {
  const full = { credentialsSecret: 's', ...spec } as ServerSpec;
  return { namespace: 'n', name: 'a', uid: 'u', spec: full, state: {}, ...(adopted ? { pythonOperatorSpec: structuredClone(full) } : {}) };
};

describe('single server SKU of objects the Python operator managed', () => {
  it('is what it chose: class only with both size.class and default_class, else cpu (default 1) rounded up, memoryMB ignored', () => {
    expect(pythonSku(cfg({ default_class: 'basic' }), req({}, true)).name).toBe('GP_Gen5_2');
    expect(pythonSku(cfg({}), req({ size: { class: 'basic' } }, true)).name).toBe('GP_Gen5_2');
    expect(pythonSku(cfg({ default_class: 'basic' }), req({ size: { class: 'nope' } }, true)).name).toBe('B_Gen5_1');
    expect(pythonSku(cfg({}), req({ size: { cpu: 3, memoryMB: 40000 } }, true)).name).toBe('GP_Gen5_4');
  });
  it('is kept (with a warning) while the spec is unchanged; new objects and python_objects: apply get this operator\'s reading', () => {
    const kept = resolveSku(cfg({ default_class: 'basic' }), req({}, true));
    expect(kept.sku.name).toBe('GP_Gen5_2');
    expect(kept.warnings).toEqual([expect.objectContaining({ reason: 'AdoptedValueKept' })]);
    expect(resolveSku(cfg({ default_class: 'basic' }), req({}, false)).sku.name).toBe('B_Gen5_1');
    expect(resolveSku(cfg({ default_class: 'basic', python_objects: 'apply' }), req({}, true)).sku.name).toBe('B_Gen5_1');
    expect(resolveSku(cfg({}), req({ size: { cpu: 2, memoryMB: 20000 } }, true)).sku.name).toBe('GP_Gen5_2');
    expect(resolveSku(cfg({}), req({ size: { cpu: 2, memoryMB: 20000 } }, false)).sku.name).toBe('MO_Gen5_2');
  });
});

describe('single server storage of objects the Python operator managed', () => {
  // It validated a spec without storageGB as 100 GB but created 10 GB.
  const live = { sku: { name: 'GP_Gen5_2' }, sslEnforcement: 'Enabled', publicNetworkAccess: 'Enabled', tags: { 'hybridcloud-postgresql-operator:namespace': 'n', 'hybridcloud-postgresql-operator:name': 'a' }, storageProfile: { storageMB: 10 * 1024, backupRetentionDays: 7, geoRedundantBackup: 'Disabled', storageAutogrow: 'Disabled' } } as never;
  it('is kept (with a warning) while the spec without storageGB is unchanged', () => {
    const diff = diffServer(cfg({}), desiredServer(cfg({}), req({}, true)), live);
    expect(diff.changes).toEqual([]);
    expect(diff.warnings).toEqual([expect.objectContaining({ reason: 'AdoptedValueKept', message: expect.stringMatching(/created 10 GB .*100 GB.*python_objects: apply/) })]);
  });
  it('grows to this operator\'s reading for a changed spec, a new object and python_objects: apply', () => {
    expect(diffServer(cfg({}), desiredServer(cfg({}), req({}, false)), live).changes).toEqual(['storage 10 → 100 GB']);
    expect(diffServer(cfg({ python_objects: 'apply' }), desiredServer(cfg({ python_objects: 'apply' }), req({}, true)), live).changes).toEqual(['storage 10 → 100 GB']);
  });
});

/**
 * Every key of the original's complete config file (spec/config-reference.yaml) is honoured by
 * the real backend packages' schemas or rejected by name: the reference loads with every backend
 * enabled, and each section reaches its backend with the virtual-parent fallbacks applied.
 * Backends whose package does not export a definition yet are reported, not silently passed.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBackendDefinition, readConfigFile, resolveConfig, type BackendConfigSpec, type BackendDefinition } from '@hybridcloud-postgresql/core';

const reference = (await readConfigFile({ path: join(import.meta.dirname, '../packages/core/src/config/__fixtures__/config-reference.yaml'), env: {} })).document as Record<string, unknown>;

const packages: Record<string, () => Promise<{ default?: unknown }>> = {
  azurepostgres: () => import('@hybridcloud-postgresql/backend-azure-single'),
  azurepostgresflexible: () => import('@hybridcloud-postgresql/backend-azure-flexible'),
  awsrds: () => import('@hybridcloud-postgresql/backend-aws-rds'),
  awsaurora: () => import('@hybridcloud-postgresql/backend-aws-aurora'),
  helmbitnami: () => import('@hybridcloud-postgresql/backend-helm-bitnami'),
  helmyugabyte: () => import('@hybridcloud-postgresql/backend-helm-yugabyte'),
};

async function definitions(): Promise<{ found: Record<string, BackendDefinition>; missing: string[] }> {
  const found: Record<string, BackendDefinition> = {};
  const missing: string[] = [];
  for (const [id, load] of Object.entries(packages)) {
    const def = (await load()).default;
    if (isBackendDefinition(def)) found[id] = def;
    else missing.push(id);
  }
  return { found, missing };
}

// Required keys the reference leaves empty (aws.subnet_group is `null` there), and a real
// subscription id for its placeholder `1-2-3-4-5` (Azure backends may insist on a GUID).
const SUBSCRIPTION = '00000000-1111-2222-3333-444444444444';
const env = { HYBRIDCLOUD_BACKENDS_AWS_SUBNET_GROUP: 'db-subnets', HYBRIDCLOUD_BACKENDS_AZURE_SUBSCRIPTION_ID: SUBSCRIPTION };

describe('config-reference.yaml with the real backend packages', () => {
  it('loads with every implemented backend enabled, each section validated by its own schema', async () => {
    const { found, missing } = await definitions();
    if (missing.length > 0) console.warn(`backends without a definition yet (their sections are not validated here): ${missing.join(', ')}`);
    expect(Object.keys(found).length).toBeGreaterThan(0);
    const schemas: Record<string, BackendConfigSpec> = {};
    for (const [id, d] of Object.entries(found)) schemas[id] = { configSchema: d.configSchema, configParent: d.configParent };
    const doc = { ...reference, allowed_backends: Object.keys(found) };
    const { config } = resolveConfig(doc, { env, backendSchemas: schemas });

    for (const id of Object.keys(found)) expect(config.backends[id], id).toBeDefined();
    if (found['awsrds']) {
      // From the aws parent, key by key, plus its own keys.
      expect(config.backends['awsrds']).toMatchObject({ region: 'eu-central-1', subnet_group: 'db-subnets', availability_zone: 'eu-central-1a', default_class: 'small', network: { public_access: false } });
    }
    if (found['awsaurora']) expect(config.backends['awsaurora']).toMatchObject({ region: 'eu-central-1', default_class: 'small' });
    if (found['azurepostgresflexible']) {
      expect(config.backends['azurepostgresflexible']).toMatchObject({ subscription_id: SUBSCRIPTION, resource_group: 'foobar-rg', availability_zone: '1', dns_zone: { name: 'privatelink.postgres.database.azure.com' } });
    }
    if (found['azurepostgres']) expect(config.backends['azurepostgres']).toMatchObject({ location: 'westeurope', network: { create_private_endpoint: false } });
    if (found['helmbitnami']) expect(config.backends['helmbitnami']).toMatchObject({ pvc_cleanup: false, classes: { small: { cpu: '1000m', memory: '256Mi' } } });
    if (found['helmyugabyte']) expect(config.backends['helmyugabyte']).toMatchObject({ replicas_master: 1, classes: { small: { tserver: { memory: '256Mi' } } } });
  });

  it('rejects a misspelt key in any enabled backend section by its path', async () => {
    const { found } = await definitions();
    const schemas: Record<string, BackendConfigSpec> = {};
    for (const [id, d] of Object.entries(found)) schemas[id] = { configSchema: d.configSchema, configParent: d.configParent };
    for (const id of Object.keys(found)) {
      const backends = structuredClone(reference['backends']) as Record<string, Record<string, unknown>>;
      backends[id] = { ...backends[id], pvc_clenaup: true };
      expect(() => resolveConfig({ ...reference, backends, allowed_backends: Object.keys(found) }, { env, backendSchemas: schemas }), id).toThrow(`backends.${id}.pvc_clenaup: unknown key`);
    }
  });
});

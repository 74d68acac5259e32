/**
 * Every Azure key of the original config reference is accepted by the two Azure backends'
 * schemas (merged from backends.azure by core's loader), and defaults are applied.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '@hybridcloud-postgresql/core';
import single from '@hybridcloud-postgresql/backend-azure-single';
import flexible, { dnsZone, type FlexibleConfig } from './index.js';

const reference = fileURLToPath(new URL('../../core/src/config/__fixtures__/config-reference.yaml', import.meta.url));
const schemas = {
  azurepostgresflexible: { configSchema: flexible.configSchema, configParent: 'azure' },
  azurepostgres: { configSchema: single.configSchema, configParent: 'azure' },
};

function load(mutate: (doc: Record<string, any>) => void = () => {}) { // eslint-disable-line @typescript-eslint/no-explicit-any
  const doc = parse(readFileSync(reference, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  doc['backend'] = 'azurepostgresflexible';
  mutate(doc);
  return resolveConfig(doc, { backendSchemas: schemas, env: {} }).config.backends;
}

describe('Azure config from the reference file', () => {
  it('accepts every key of backends.azure/azurepostgres/azurepostgresflexible', () => {
    const backends = load((d) => (d['backends'].azure.subscription_id = '11111111-2222-3333-4444-555555555555'));
    const f = backends['azurepostgresflexible'] as unknown as FlexibleConfig;
    expect(f).toMatchObject({
      subscription_id: '11111111-2222-3333-4444-555555555555',
      location: 'westeurope',
      resource_group: 'foobar-rg',
      name_pattern: 'foobar-{namespace}-{name}',
      availability_zone: '1',
      standby_availability_zone: '2',
      classes: { dev: { name: 'Standard_B1ms', tier: 'Burstable' } },
      parameters: { backup_retention_days: 7, network: { firewall_rules: [{ name: 'foobar', startIp: '1.2.3.4', endIp: '1.2.3.4' }] } },
      network: { public_access: true, allow_azure_services: true },
      reset_unlisted_server_parameters: false,
    });
    expect(dnsZone(f)).toEqual({ name: 'privatelink.postgres.database.azure.com', resourceGroup: 'foobar-rg' });
    expect(backends['azurepostgres']).toMatchObject({ network: { create_private_endpoint: false, vnets: [{ vnet: 'foobar-vnet', subnet: 'default' }] }, parameters: { infrastructure_encryption: 'Disabled' }, classes: { dev: { name: 'GP_Gen5_2', capacity: 2 } } });
  });

  it('refuses a subscription id the Azure SDK would reject (the reference file\'s placeholder)', () => {
    expect(() => load()).toThrow(ConfigError);
    try {
      load();
    } catch (err) {
      expect((err as Error).message).toContain('backends.azure.subscription_id');
    }
  });

  it('rejects unknown keys by name', () => {
    expect(() => load((d) => {
      d['backends'].azure.subscription_id = '11111111-2222-3333-4444-555555555555';
      d['backends'].azurepostgresflexible.availabilty_zone = '3';
    })).toThrow(/availabilty_zone/);
  });
});

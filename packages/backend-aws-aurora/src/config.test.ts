/**
 * The AWS sections of the documented configuration load through core's loader with both AWS
 * backends: `aws` fills in what awsrds/awsaurora leave out, key by key, and a backend's own
 * value (awsaurora.region) wins, which the Python operator got wrong.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '@hybridcloud-postgresql/core';
import rds from '@hybridcloud-postgresql/backend-aws-rds';
import aurora from './index.js';

const document = {
  backend: 'awsrds',
  allowed_backends: ['awsrds', 'awsaurora'],
  backends: {
    aws: {
      region: 'eu-central-1',
      vpc_security_group_ids: ['sg-1'],
      subnet_group: 'db-subnets',
      deletion_protection: false,
      network: { public_access: false },
      admin_username: 'postgres',
      name_pattern: '{namespace}-{name}',
      tags: { team: '{namespace}' },
    },
    awsrds: {
      availability_zone: 'eu-central-1a',
      default_class: 'small',
      classes: { small: { instance_type: 'db.m5.large', storage_type: 'gp2', iops: 0 } },
    },
    awsaurora: {
      region: 'eu-west-1',
      availability_zones: [],
      default_class: 'small',
      network: { public_access: true },
      classes: { small: { instance_type: 'db.serverless', scaling_configuration: { min_capacity: 0.5, max_capacity: 1 }, storage_type: 'aurora', iops: 0 } },
    },
  },
};

const load = (doc: unknown, env: NodeJS.ProcessEnv = {}) =>
  resolveConfig(doc, { env, backendSchemas: { awsrds: rds, awsaurora: aurora }, knownBackendIds: ['awsrds', 'awsaurora'] }).config;

describe('AWS config sections', () => {
  it('merges aws into both backends; the specific section wins', () => {
    const cfg = load(document);
    expect(cfg.backends['awsrds']).toMatchObject({ region: 'eu-central-1', subnet_group: 'db-subnets', vpc_security_group_ids: ['sg-1'], tags: { team: '{namespace}' }, network: { public_access: false }, final_snapshot: true, requests_per_second: 4 });
    expect(cfg.backends['awsaurora']).toMatchObject({ region: 'eu-west-1', subnet_group: 'db-subnets', network: { public_access: true }, availability_zones: [] });
  });

  it('takes typed env overrides', () => {
    const cfg = load(document, { HYBRIDCLOUD_BACKENDS_AWSAURORA_FINAL_SNAPSHOT: 'false', HYBRIDCLOUD_BACKENDS_AWS_REQUESTS_PER_SECOND: '2' });
    expect(cfg.backends['awsaurora']).toMatchObject({ final_snapshot: false, requests_per_second: 2 });
  });

  it('rejects unknown keys and a missing subnet group loudly', () => {
    const bad = structuredClone(document) as { backends: Record<string, Record<string, unknown>> };
    bad.backends['awsrds']!['storage_autoscaling'] = true;
    delete bad.backends['aws']!['subnet_group'];
    expect(() => load(bad)).toThrow(/storage_autoscaling[\s\S]*subnet_group|subnet_group[\s\S]*storage_autoscaling/);
  });

  it('refuses a default_class that names no class when the backend is created', () => {
    const cfg = load(document);
    const ctx = { operatorConfig: {}, log: {} as never, kubeConfig: {} as never, operatorNamespace: 'x', generatePassword: () => 'x' };
    expect(() => aurora.create({ ...ctx, config: { ...(cfg.backends['awsaurora'] as never), default_class: 'missing' } })).toThrow(/default_class 'missing'/);
  });
});

describe('READMEs', () => {
  it('document every config key of both AWS backends', async () => {
    const { readFileSync } = await import('node:fs');
    const { RdsConfigSchema } = await import('@hybridcloud-postgresql/backend-aws-rds');
    const { AuroraConfigSchema } = await import('./config.js');
    for (const [schema, readme] of [[RdsConfigSchema, '../../backend-aws-rds/README.md'], [AuroraConfigSchema, '../README.md']] as const) {
      const doc = readFileSync(new URL(readme, import.meta.url), 'utf8');
      const props = schema.properties as Record<string, { properties?: Record<string, unknown>; patternProperties?: Record<string, { properties?: Record<string, unknown> }> }>;
      for (const [key, sub] of Object.entries(props)) {
        expect(doc, key).toMatch(new RegExp(`\`${key}[\`.]`));
        for (const nested of Object.keys(sub.properties ?? {})) expect(doc, `${key}.${nested}`).toContain(`${key}.${nested}`);
        for (const cls of Object.values(sub.patternProperties ?? {})) {
          for (const classKey of Object.keys(cls.properties ?? {})) expect(doc, `classes.${classKey}`).toContain(classKey);
        }
      }
    }
  });
});

/**
 * The testkit's conformance suite for `azurepostgres` (legacy single server): the backend in core's
 * real controller, the real Azure SDKs against the ARM fake, and the harness's PostgreSQL behind a
 * single-server gateway (azure-common/testing standInGateway): logins are `user@server` over
 * TLS and md5 only, as on single server. So the credentials Secrets the kit logs in with are the
 * ones core wrote from the backend's endpoint and loginName, end to end. Faults come from the fake
 * (429 with Retry-After, 503), so the backend's own error mapping runs.
 */
import { expect } from 'vitest';
import { defineBackend } from '@hybridcloud-postgresql/core';
import { describeBackendConformance, type ServerRef } from '@hybridcloud-postgresql/testkit';
import type { ArmFake } from '@hybridcloud-postgresql/azure-fake';
import { staticTokenCredential, TAG_NAME, TAG_NAMESPACE } from '@hybridcloud-postgresql/azure-common';
import { startArmStandIns, type ArmStandIns } from '@hybridcloud-postgresql/azure-common/testing';
import single, { createSingleBackend, type SingleConfig } from './index.js';

const SUB = '00000000-0000-0000-0000-0000000000c2';
const RG = 'rg-kit-single';
const TYPE = 'Microsoft.DBforPostgreSQL/servers';

let fake: ArmFake;
let stand: ArmStandIns | undefined;


/** The backend as its definition builds it, with a static token for the fake instead of DefaultAzureCredential. */
const definition = defineBackend<SingleConfig>({ ...single, create: (ctx) => createSingleBackend(ctx.config, staticTokenCredential(), { pollIntervalMs: 50 }) });

/** The single servers ARM holds for this CR (by the operator's owner tags). */
const serversOf = (s: ServerRef) =>
  fake.idsOfType(TYPE).filter((id) => {
    const tags = (fake.get(id)?.['tags'] ?? {}) as Record<string, string>;
    return tags[TAG_NAMESPACE] === s.namespace && tags[TAG_NAME] === s.name;
  });

describeBackendConformance({
  definition,
  environment: async ({ postgres }) => {
    // The fake's hooks set admin passwords and create databases in the stand-in; clients reach it through the gateway.
    stand = await startArmStandIns(postgres, { kind: 'single', subscription: SUB, resourceGroup: RG });
    fake = stand.fake;
    return {
      config: {
        backend: 'azurepostgres',
        backends: {
          // admin_username: not the stand-in's superuser, whose password the fake's hook would change.
          azure: { subscription_id: SUB, location: 'westeurope', resource_group: RG, resource_manager_endpoint: fake.url, ca_file: fake.caFile, poll_interval_seconds: 1, admin_username: 'azadmin' },
          azurepostgres: {},
        },
      },
      serverSpec: { size: { storageGB: 100 } },
      resolver: stand.gateway,
      resources: async (s) => serversOf(s),
      update: {
        spec: { size: { cpu: 4, storageGB: 200 } },
        check: async (s) => {
          const [id] = serversOf(s);
          const live = fake.get(id!);
          expect(live?.['sku']?.name).toBe('GP_Gen5_4');
          expect(live?.['properties']?.storageProfile?.storageMB).toBe(200 * 1024);
        },
      },
      unsupported: {
        spec: { maintenance: { window: { weekday: 'Sun', starttime: '03:00' } }, highavailability: { enabled: true } },
        fields: ['spec.maintenance.window', 'spec.highavailability.enabled'],
      },
      // Until ended: every ARM request answers 429 (Retry-After 1 s) or 503, the SDK's own retries included.
      fault: async (kind) => {
        const end = kind === 'throttled' ? fake.throttle(Infinity, 1) : fake.unavailable(Infinity);
        return async () => end();
      },
      close: async () => stand?.close(),
    };
  },
});

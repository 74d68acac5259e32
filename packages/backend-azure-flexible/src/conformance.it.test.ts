/**
 * The testkit's conformance suite for `azurepostgresflexible`: the backend in core's real
 * controller, the real Azure SDK against the ARM fake, and the harness's PostgreSQL standing in for
 * the fake's servers (TLS, admin password and databases set through ARM, reached through the
 * resolver). Faults come from the fake (429 with Retry-After, 503), so the backend's own error
 * mapping (azure-common toBackendError) runs.
 */
import { expect } from 'vitest';
import { defineBackend } from '@hybridcloud-postgresql/core';
import { describeBackendConformance, type ServerRef } from '@hybridcloud-postgresql/testkit';
import type { ArmFake } from '@hybridcloud-postgresql/azure-fake';
import { staticTokenCredential, TAG_NAME, TAG_NAMESPACE } from '@hybridcloud-postgresql/azure-common';
import { startArmStandIns, type ArmStandIns } from '@hybridcloud-postgresql/azure-common/testing';
import flexible, { createFlexibleBackend, type FlexibleConfig } from './index.js';

const SUB = '00000000-0000-0000-0000-0000000000c1';
const RG = 'rg-kit';
const TYPE = 'Microsoft.DBforPostgreSQL/flexibleServers';

let fake: ArmFake;
let stand: ArmStandIns | undefined;

/** The backend as its definition builds it, with a static token for the fake instead of DefaultAzureCredential. */
const definition = defineBackend<FlexibleConfig>({ ...flexible, create: (ctx) => createFlexibleBackend(ctx.config, staticTokenCredential(), { pollIntervalMs: 50 }) });

/** The flexible servers ARM holds for this CR (by the operator's owner tags). */
const serversOf = (s: ServerRef) =>
  fake.idsOfType(TYPE).filter((id) => {
    const tags = (fake.get(id)?.['tags'] ?? {}) as Record<string, string>;
    return tags[TAG_NAMESPACE] === s.namespace && tags[TAG_NAME] === s.name;
  });

describeBackendConformance({
  definition,
  environment: async ({ postgres }) => {
    // The fake's hooks set admin passwords and create databases in the stand-in; clients reach it through the gateway.
    stand = await startArmStandIns(postgres, { kind: 'flexible', subscription: SUB, resourceGroup: RG });
    fake = stand.fake;
    return {
      config: {
        backend: 'azurepostgresflexible',
        backends: {
          // admin_username: not the stand-in's superuser, whose password the fake's hook would change.
          azure: { subscription_id: SUB, location: 'westeurope', resource_group: RG, resource_manager_endpoint: fake.url, ca_file: fake.caFile, poll_interval_seconds: 1, admin_username: 'azadmin' },
          azurepostgresflexible: {},
        },
      },
      serverSpec: { size: { storageGB: 32 } },
      resolver: stand.gateway,
      resources: async (s) => serversOf(s),
      update: {
        spec: { size: { storageGB: 64 } },
        check: async (s) => {
          const [id] = serversOf(s);
          expect(fake.get(id!)?.['properties']?.storage?.storageSizeGB).toBe(64);
        },
      },
      // Until ended: every ARM request answers 429 (Retry-After 1 s) or 503, the SDK's own retries included.
      fault: async (kind) => {
        const end = kind === 'throttled' ? fake.throttle(Infinity, 1) : fake.unavailable(Infinity);
        return async () => end();
      },
      notApplicable: {
        unsupportedFields: 'flexible server honours every spec field (capabilities all true): nothing to report',
      },
      close: async () => stand?.close(),
    };
  },
});

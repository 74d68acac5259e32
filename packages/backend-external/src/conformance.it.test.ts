/**
 * The testkit's conformance suite for `external`: the backend in core's real controller, on the
 * harness's PostgreSQL as the shared server.
 */
import { describeBackendConformance } from '@hybridcloud-postgresql/testkit';
import external from './index.js';
import { serverRoleName } from './names.js';

describeBackendConformance({
  definition: external,
  environment: async ({ postgres }) => ({
    config: {
      backend: 'external',
      backends: { external: { host: postgres.host, port: postgres.port, sslmode: 'disable', admin_username: postgres.superuser, admin_password_env: 'KIT_PG_ADMIN_PASSWORD' } },
    },
    env: { KIT_PG_ADMIN_PASSWORD: postgres.password },
    // A server is a login role on the shared PostgreSQL.
    resources: async (s) => {
      const role = serverRoleName('', s.namespace, s.name);
      const out = await postgres.psql(`SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = '${role.replace(/'/g, "''")}'`);
      return out.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    },
    unsupported: { spec: { size: { cpu: 2 }, highavailability: { enabled: true } }, fields: ['spec.size.cpu', 'spec.highavailability.enabled'] },
    notApplicable: {
      update: 'a server is a login role: no spec field changes it (every field is reported unsupported)',
      nativeErrors: 'no cloud API: the backend speaks SQL only (an unreachable server: e2e/unreachable.it.test.ts)',
    },
  }),
});

/**
 * The backend contract, checked by the operator's testkit: core's real controller and
 * reconcilers drive this backend against a real kube-apiserver and a real PostgreSQL.
 */
import { describeBackendConformance } from '@hybridcloud-postgresql/testkit';
import teamdb from './index.js';

describeBackendConformance({
  definition: teamdb,
  environment: async ({ postgres }) => ({
    // The operator config file, as the admin writes it.
    config: {
      backend: 'teamdb',
      backends: { teamdb: { host: postgres.host, port: postgres.port, sslmode: 'disable', admin_username: postgres.superuser, admin_password_env: 'TEAMDB_ADMIN_PASSWORD' } },
    },
    env: { TEAMDB_ADMIN_PASSWORD: postgres.password },
    // What exists for a server: its team role.
    resources: async (server) => {
      const out = await postgres.psql(`SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = 'team_${server.namespace}.${server.name}'`);
      return out.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    },
    unsupported: { spec: { size: { cpu: 2 } }, fields: ['spec.size.cpu'] },
    notApplicable: {
      update: 'a team is a login role: no spec field changes it',
      nativeErrors: 'no cloud API: only SQL, whose errors core classifies',
    },
  }),
});

/**
 * Fault suite, scenario 1 for backend `external`: SIGKILL at a random instant during create,
 * update, reset-password and delete (HC_FAULTS_N runs; 1 in `npm test`), on the real control
 * plane and a real PostgreSQL, the operator through its CLI.
 */
import { randomBytes } from 'node:crypto';
import { startPostgres } from '@hybridcloud-postgresql/testenv';
import { externalConfig, loginError, startOperator, withLogin } from '../harness.js';
import { rolesAndDatabases, tokenObjects } from './killDuringLifecycle.js';
import { killSuite } from './killSuite.js';

const ADMIN_PW = `Adm${randomBytes(8).toString('hex')}Pw`;

killSuite({
  backend: 'external',
  claim: 'no duplicate, no leak, no stuck finalizer, logins work',
  phaseMs: 100_000,
  async setup(cp, w) {
    const pgs = await startPostgres({ password: ADMIN_PW });
    const id = `faults-${w.ns}`;
    return {
      stop: () => pgs.stop(),
      stack: {
        start: () => startOperator({
          cp,
          id,
          config: externalConfig(pgs, { operator: { namespace: w.ns, resync_seconds: 60, log_level: 'info', leader_election: { enabled: false } } }),
          env: { E2E_PG_ADMIN_PASSWORD: ADMIN_PW },
          args: ['-n', w.ns],
        }),
        async inventory(token) {
          const names = await tokenObjects(pgs, token);
          return { servers: 0, ...rolesAndDatabases(names), names };
        },
        expected: { servers: 0, roles: 2, databases: 1 },
        windowMs: { create: 1500, update: 800, 'reset-password': 800, delete: 1000 },
        loginError: (data, database) => loginError(data, database),
        extensions: (data) => withLogin(data, async (c) => (await c.query<{ extname: string }>('SELECT extname FROM pg_extension')).rows.map((r) => r.extname)),
        timeoutMs: 90_000,
      },
    };
  },
});

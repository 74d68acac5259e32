/**
 * Fault suite, scenario 1 for backend `awsaurora`: SIGKILL at a random instant during create,
 * update (an extension), reset-password and delete, against moto (one cluster and its writer
 * instance per server) with a stand-in PostgreSQL for the SQL. Only under `npm run faults`
 * (awsrds covers the shared AWS code in `npm test`).
 */
import { startAwsWorld } from './aws.js';
import { rolesAndDatabases, tokenObjects } from './killDuringLifecycle.js';
import { killSuite } from './killSuite.js';

killSuite({
  backend: 'awsaurora',
  claim: 'one cluster per server, nothing left after delete, logins work',
  onlyInFaults: true,
  async setup(cp, w) {
    const aws = await startAwsWorld();
    return {
      stop: () => aws.stop(),
      stack: {
        start: () => aws.start(cp, { namespace: w.ns, id: `faults-${w.ns}`, backend: 'awsaurora' }),
        serverSpec: { version: '16' },
        async inventory(token) {
          const clusters = (await aws.clusters()).filter((c) => c.id.includes(token));
          const instances = (await aws.instances()).filter((i) => i.id.includes(token));
          const names = [...clusters.map((c) => `cluster:${c.id}(${c.status})`), ...instances.map((i) => `instance:${i.id}(${i.status})`), ...(await tokenObjects(aws.pgs, token))];
          // A server is a cluster plus its writer instance: a second of either is a duplicate.
          return { servers: Math.max(clusters.length, instances.length), ...rolesAndDatabases(names), names };
        },
        expected: { servers: 1, roles: 1, databases: 1 },
        windowMs: { create: 3000, update: 1500, 'reset-password': 2000, delete: 2000 },
        loginError: (data, database) => aws.loginError(data, database),
        extensions: (data) => aws.extensions(data),
        timeoutMs: 120_000,
      },
    };
  },
});

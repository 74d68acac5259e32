/**
 * Fault suite, scenario 1 for backend `awsrds`: SIGKILL at a random instant during create,
 * update (storage and an extension), reset-password and delete, against moto (the real AWS SDK
 * in the operator) with a stand-in PostgreSQL for the instances' SQL.
 */
import { startAwsWorld } from './aws.js';
import { killSuite } from './killSuite.js';

killSuite({
  backend: 'awsrds',
  claim: 'one instance per server, nothing left after delete, logins work',
  async setup(cp, w) {
    const aws = await startAwsWorld();
    return {
      stop: () => aws.stop(),
      stack: {
        start: () => aws.start(cp, { namespace: w.ns, id: `faults-${w.ns}` }),
        serverSpec: { size: { storageGB: 20 } },
        serverUpdate: { spec: { size: { storageGB: 30 } }, done: async (token) => (await aws.instances()).some((i) => i.id.includes(token) && i.storageGB === 30) },
        async inventory(token) {
          const instances = (await aws.instances()).filter((i) => i.id.includes(token));
          const out = await aws.pgs.psql(`SELECT 'role:' || rolname FROM pg_roles WHERE rolname LIKE '%${token}%' UNION ALL SELECT 'db:' || datname FROM pg_database WHERE datname LIKE '%${token}%'`);
          const names = [...instances.map((i) => `instance:${i.id}(${i.status})`), ...out.stdout.split('\n').map((l) => l.trim()).filter(Boolean)];
          return { servers: instances.length, roles: names.filter((n) => n.startsWith('role:')).length, databases: names.filter((n) => n.startsWith('db:')).length, names };
        },
        expected: { servers: 1, roles: 1, databases: 1 },
        windowMs: { create: 3000, update: 2000, 'reset-password': 2000, delete: 2000 },
        loginError: (data, database) => aws.loginError(data, database),
        extensions: (data) => aws.extensions(data),
        timeoutMs: 120_000,
      },
    };
  },
});

/**
 * Fault suite, scenario 1 for backend `awsrds`: SIGKILL at a random instant during create,
 * update (storage and an extension), reset-password and delete, against moto (the real AWS SDK
 * in the operator) with a stand-in PostgreSQL for the instances' SQL.
 */
import { rdsStack, startAwsWorld } from './aws.js';
import { killSuite } from './killSuite.js';

killSuite({
  backend: 'awsrds',
  claim: 'one instance per server, nothing left after delete, logins work',
  async setup(cp, w) {
    const aws = await startAwsWorld();
    return {
      stop: () => aws.stop(),
      stack: {
        ...rdsStack(aws, cp, w.ns),
        windowMs: { create: 3000, update: 2000, 'reset-password': 2000, delete: 2000 },
        timeoutMs: 120_000,
      },
    };
  },
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { startMoto, type Moto } from '@hybridcloud-postgresql/testenv';
import { createRdsClient } from './client.js';
import { peakRequests, startRdsProxy, type RdsProxy } from './testing/index.js';

process.env['AWS_ACCESS_KEY_ID'] = 'testing';
process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';

let moto: Moto;
let proxy: RdsProxy;
beforeAll(async () => {
  moto = await startMoto();
  proxy = await startRdsProxy(moto.endpoint);
});
afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

it('spends every HTTP attempt, retries included, from one budget shared by all clients of a region and endpoint', async () => {
  // Two clients, as awsrds and awsaurora would have, on the same region and endpoint.
  const a = createRdsClient({ region: 'eu-central-1', endpoint: proxy.endpoint, requestsPerSecond: 5, maxAttempts: 3 });
  const b = createRdsClient({ region: 'eu-central-1', endpoint: proxy.endpoint, requestsPerSecond: 5, maxAttempts: 3 });
  expect(a.budget).toBe(b.budget);
  proxy.fail({ action: 'DescribeDBInstances', times: 4, error: 'Throttling' });
  const started = Date.now();
  await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).client.send(new DescribeDBInstancesCommand({}))));
  const elapsed = Date.now() - started;
  // 16 calls + 4 retried attempts = 20 requests at 5/s with a burst of 5: at least 3 s.
  expect(proxy.requests).toHaveLength(20);
  expect(elapsed).toBeGreaterThanOrEqual(2900);
  expect(peakRequests(proxy.requests)).toBeLessThanOrEqual(10);
  a.client.destroy();
  b.client.destroy();
});

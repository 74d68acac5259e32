import { afterAll, beforeAll, expect, it } from 'vitest';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { ownedTempDir, startMoto, type Moto } from '@hybridcloud-postgresql/testenv';
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
  // At most burst + rate = 10 requests leave in any second; arrival times at the proxy may
  // jitter by up to a second on a busy machine (+5). Without the budget all 20 arrive at once.
  // The exact spacing is the TokenBucket unit test's job; the elapsed time above proves waiting.
  expect(peakRequests(proxy.requests)).toBeLessThanOrEqual(15);
  a.client.destroy();
  b.client.destroy();
});

it('finds credentials through the Node provider chain: shared files, then web identity (IRSA)', async () => {
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = ownedTempDir('aws-creds').dir;
  const saved = { ...process.env };
  try {
    delete process.env['AWS_ACCESS_KEY_ID'];
    delete process.env['AWS_SECRET_ACCESS_KEY'];
    process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
    writeFileSync(join(dir, 'credentials'), '[default]\naws_access_key_id = AKIDSHAREDFILE\naws_secret_access_key = secret\n');
    writeFileSync(join(dir, 'config'), '[default]\nregion = eu-central-1\n');
    process.env['AWS_SHARED_CREDENTIALS_FILE'] = join(dir, 'credentials');
    process.env['AWS_CONFIG_FILE'] = join(dir, 'config');
    proxy.clear();
    const shared = createRdsClient({ region: 'eu-central-1', endpoint: proxy.endpoint, requestsPerSecond: 5, maxAttempts: 1 });
    await shared.client.send(new DescribeDBInstancesCommand({}));
    expect(proxy.requests.at(-1)?.accessKeyId).toBe('AKIDSHAREDFILE');
    shared.client.destroy();

    // IRSA: a projected token file and a role; STS (moto) exchanges them for temporary credentials.
    // (The SDK caches the shared files per process: a profile they do not have moves the chain on.)
    process.env['AWS_PROFILE'] = 'not-in-the-shared-files';
    writeFileSync(join(dir, 'token'), 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln');
    process.env['AWS_WEB_IDENTITY_TOKEN_FILE'] = join(dir, 'token');
    process.env['AWS_ROLE_ARN'] = 'arn:aws:iam::123456789012:role/hybridcloud-postgresql-operator';
    process.env['AWS_ROLE_SESSION_NAME'] = 'operator';
    process.env['AWS_ENDPOINT_URL_STS'] = moto.endpoint;
    process.env['AWS_REGION'] = 'eu-central-1';
    proxy.clear();
    const irsa = createRdsClient({ region: 'eu-central-1', endpoint: proxy.endpoint, requestsPerSecond: 5, maxAttempts: 1 });
    await irsa.client.send(new DescribeDBInstancesCommand({}));
    const key = proxy.requests.at(-1)?.accessKeyId;
    expect(key).toBeDefined();
    expect(key).not.toBe('AKIDSHAREDFILE');
    expect(key).toMatch(/^ASIA/); // temporary credentials from STS
    irsa.client.destroy();
  } finally {
    process.env = saved;
  }
});

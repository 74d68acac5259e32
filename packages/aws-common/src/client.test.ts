import { createServer, type Server, type Socket } from 'node:net';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRdsClient } from './client.js';

// An endpoint that accepts connections and never answers: what a black-holed proxy or a hung
// load balancer looks like. Every call must end within its timeout, not hold a worker for ever.
let server: Server;
let port = 0;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

describe('RDS client timeouts', () => {
  it('a request to an endpoint that never answers fails after the request timeout', async () => {
    process.env['AWS_ACCESS_KEY_ID'] ??= 'test';
    process.env['AWS_SECRET_ACCESS_KEY'] ??= 'test';
    const { client } = createRdsClient({ region: 'eu-central-1', endpoint: `http://127.0.0.1:${port}`, requestsPerSecond: 100, maxAttempts: 1, requestTimeoutMs: 500 });
    const started = Date.now();
    const err = await client.send(new DescribeDBInstancesCommand({})).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(5_000);
    client.destroy();
  }, 20_000);
});

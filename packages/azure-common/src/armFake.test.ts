/**
 * The ARM fake speaks the protocol the SDKs expect: ARM error bodies, api-version, bearer auth,
 * 429 with Retry-After, locks by scope (percent-encoded by arm-locks) blocking deletes.
 */
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArmFake } from '@hybridcloud-postgresql/azure-fake';
import { Locks, armClientOptions, staticTokenCredential, toBackendError } from './index.js';

const SUB = '00000000-0000-0000-0000-0000000000f0';
let fake: ArmFake;

beforeAll(async () => {
  fake = await ArmFake.start();
  fake.seedResourceGroup(SUB, 'rg');
});
afterAll(async () => fake?.stop());

function call(method: string, path: string, headers: Record<string, string> = { authorization: 'Bearer x' }, body?: unknown): Promise<{ status: number; headers: Record<string, unknown>; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const req = request(`${fake.url}${path}`, { method, headers: { ...headers, 'content-type': 'application/json' }, ca: fake.caPem }, (res) => {
      let data = '';
      res.on('data', (c: Buffer) => (data += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data ? JSON.parse(data) : undefined }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const server = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/fs1`;
const v = '?api-version=2025-08-01';

describe('ARM fake protocol', () => {
  it('answers with ARM error bodies', async () => {
    expect(await call('GET', `${server}${v}`, {})).toMatchObject({ status: 401, body: { error: { code: 'AuthenticationFailed' } } });
    expect(await call('GET', server)).toMatchObject({ status: 400, body: { error: { code: 'MissingApiVersionParameter' } } });
    expect(await call('GET', `${server}${v}`)).toMatchObject({ status: 404, body: { error: { code: 'ResourceNotFound' } } });
    expect(await call('GET', `/subscriptions/${SUB}/resourceGroups/nope/providers/Microsoft.DBforPostgreSQL/flexibleServers/fs1${v}`)).toMatchObject({ status: 404, body: { error: { code: 'ResourceGroupNotFound' } } });
  });

  it('runs a creation as a long-running operation: Azure-AsyncOperation InProgress → Succeeded, state Provisioning → Ready', async () => {
    fake.operationMs = 200;
    const put = await call('PUT', `${server}${v}`, undefined, { location: 'westeurope', sku: { name: 'Standard_B1ms', tier: 'Burstable' }, properties: { administratorLogin: 'a', administratorLoginPassword: 'secret-pw', version: '16' } });
    expect(put.status).toBe(201);
    expect(put.body.properties.state).toBe('Provisioning');
    expect(JSON.stringify(put.body)).not.toContain('secret-pw');
    const op = new URL(String(put.headers['azure-asyncoperation']));
    expect((await call('GET', op.pathname + op.search)).body.status).toBe('InProgress');
    expect(await call('PATCH', `${server}${v}`, undefined, { properties: {} })).toMatchObject({ status: 409, body: { error: { code: 'ServerBusy' } } });
    fake.finishOperations();
    expect((await call('GET', op.pathname + op.search)).body.status).toBe('Succeeded');
    expect((await call('GET', `${server}${v}`)).body.properties.state).toBe('Ready');
    fake.operationMs = 40;
  });

  it('throttles with 429 and Retry-After', async () => {
    fake.throttle(1, 3);
    const r = await call('GET', `${server}${v}`);
    expect(r).toMatchObject({ status: 429, body: { error: { code: 'TooManyRequests' } } });
    expect(r.headers['retry-after']).toBe('3');
  });

  it('locks set through the real arm-locks client block deletes with 409 ScopeLocked', async () => {
    const locks = new Locks(staticTokenCredential(), SUB, armClientOptions({ resource_manager_endpoint: fake.url, ca_file: fake.caFile, max_retries: 0 }));
    expect(await locks.ensure(server, 'test')).toBe(true);
    expect(await locks.ensure(server, 'test')).toBe(false);
    expect(fake.lockNames(server)).toEqual(['DoNotDeleteLock']);
    expect((await locks.blocking(server)).map((l) => l.name)).toEqual(['DoNotDeleteLock']);
    const del = await call('DELETE', `${server}${v}`);
    expect(del).toMatchObject({ status: 409, body: { error: { code: 'ScopeLocked' } } });
    fake.removeLock(server, 'DoNotDeleteLock');
    expect(await locks.isLocked(server)).toBe(false);
    expect((await call('DELETE', `${server}${v}`)).status).toBe(202);
  });

  it('maps ARM errors into core\'s kinds', () => {
    const rest = (statusCode: number, code: string, retryAfter?: string) => Object.assign(new Error('m'), { name: 'RestError', statusCode, code, response: { headers: { get: (h: string) => (h === 'retry-after' ? retryAfter : undefined) } } });
    expect(toBackendError(rest(429, 'TooManyRequests', '5'), 'x')).toMatchObject({ kind: 'throttled', retryAfterMs: 5000 });
    expect(toBackendError(rest(409, 'ScopeLocked'), 'x')).toMatchObject({ kind: 'terminal', reason: 'DeletionLocked' });
    expect(toBackendError(rest(403, 'AuthorizationFailed'), 'x')).toMatchObject({ kind: 'terminal', reason: 'AzureAccessDenied' });
    expect(toBackendError(rest(503, 'ServiceUnavailable'), 'x')).toMatchObject({ kind: 'retryable' });
    expect(toBackendError(rest(409, 'ServerBusy'), 'x')).toMatchObject({ kind: 'retryable', reason: 'AzureBusy' });
    expect(toBackendError(rest(400, 'InvalidParameterValue'), 'x')).toMatchObject({ kind: 'terminal', reason: 'AzureRejected' });
    expect(toBackendError(new Error('The long-running operation has failed. QuotaExceeded. no cores'), 'creating x')).toMatchObject({ kind: 'terminal', reason: 'AzureOperationFailed' });
  });
});

import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { describeError, isAlreadyExists, isConflict, isGone, isNotFound, KubeApiError, kubeStatus, toKubeError } from './errors.js';

const apiErr = (code: number, body: unknown) => new ApiException<unknown>(code, 'msg', body, { 'content-type': 'application/json' });

describe('kube errors', () => {
  it('parses ApiException bodies given as JSON strings (client-node 2.x)', () => {
    const e = apiErr(409, JSON.stringify({ kind: 'Status', code: 409, reason: 'Conflict', message: 'the object has been modified' }));
    expect(kubeStatus(e)).toEqual({ code: 409, reason: 'Conflict', message: 'the object has been modified' });
    expect(isConflict(e)).toBe(true);
    expect(describeError(e)).toBe('the object has been modified (409 Conflict)');
  });

  it('tells AlreadyExists (409) from a conflict', () => {
    const e = apiErr(409, JSON.stringify({ code: 409, reason: 'AlreadyExists', message: 'exists' }));
    expect(isAlreadyExists(e)).toBe(true);
    expect(isConflict(e)).toBe(false);
  });

  it('falls back on the code when the body is not JSON', () => {
    const e = apiErr(404, 'page not found');
    expect(kubeStatus(e)).toEqual({ code: 404, reason: 'NotFound', message: 'page not found' });
    expect(isNotFound(e)).toBe(true);
  });

  it('understands watch errors: Error with statusCode, and ERROR event Status objects', () => {
    expect(isGone(Object.assign(new Error('Gone'), { statusCode: 410 }))).toBe(true);
    expect(isGone({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' })).toBe(true);
    expect(kubeStatus(new Error('ECONNRESET'))).toBeUndefined();
    expect(describeError(new Error('a\nb'))).toBe('a');
  });

  it('toKubeError wraps API errors with context and passes others through', () => {
    const e = toKubeError(apiErr(403, JSON.stringify({ code: 403, reason: 'Forbidden', message: 'secrets "x" is forbidden' })), 'get Secret ns/x');
    expect(e).toBeInstanceOf(KubeApiError);
    expect((e as KubeApiError).message).toBe('get Secret ns/x: secrets "x" is forbidden (403 Forbidden)');
    const plain = new Error('boom');
    expect(toKubeError(plain)).toBe(plain);
  });
});

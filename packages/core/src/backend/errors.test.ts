import { describe, expect, it } from 'vitest';
import { BackendError, classifyError, terminal, throttled } from './errors.js';

describe('classifyError', () => {
  it('keeps kind, reason and retry-after of our errors', () => {
    expect(classifyError(terminal('DeletionProtected', 'lift it'))).toEqual({ kind: 'terminal', reason: 'DeletionProtected', message: 'lift it' });
    expect(classifyError(throttled('slow down', 1500))).toMatchObject({ kind: 'throttled', retryAfterMs: 1500 });
  });

  it('recognises a BackendError from another copy of core by its shape', () => {
    class ForeignBackendError extends Error {
      override name = 'BackendError';
      kind = 'terminal' as const;
      reason = 'InvalidSku';
      retryAfterMs = undefined;
    }
    const foreign = new ForeignBackendError('no such SKU');
    expect(foreign instanceof BackendError).toBe(false);
    expect(classifyError(foreign)).toEqual({ kind: 'terminal', reason: 'InvalidSku', message: 'no such SKU' });
  });

  it('treats anything else as retryable', () => {
    expect(classifyError(new Error('ECONNRESET'))).toEqual({ kind: 'retryable', reason: 'BackendError', message: 'ECONNRESET' });
    expect(classifyError({ name: 'BackendError', kind: 'bogus' })).toMatchObject({ kind: 'retryable' });
  });
});

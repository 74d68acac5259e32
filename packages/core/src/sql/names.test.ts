import { describe, expect, it } from 'vitest';
import { BackendError } from '../backend/errors.js';
import { databaseNameFor, identifierProblem, quoteIdent, quoteLiteral } from './names.js';

describe('names', () => {
  it('replaces dashes like the original', () => {
    expect(databaseNameFor('my-service-db')).toBe('my_service_db');
    expect(databaseNameFor('with.dots')).toBe('with.dots');
  });

  it('quotes hostile identifiers', () => {
    expect(quoteIdent('a"; DROP TABLE x; --')).toBe('"a""; DROP TABLE x; --"');
    expect(quoteIdent('with.dot')).toBe('"with.dot"');
  });

  it('refuses names PostgreSQL would truncate, counting bytes', () => {
    expect(identifierProblem('a'.repeat(63))).toBeUndefined();
    expect(identifierProblem('a'.repeat(64))).toMatch(/64 bytes/);
    // 22 three-byte characters = 66 bytes although only 22 characters.
    expect(identifierProblem('日'.repeat(22))).toMatch(/66 bytes/);
    expect(() => quoteIdent('x'.repeat(64))).toThrow(BackendError);
    try {
      quoteIdent('x'.repeat(64));
    } catch (err) {
      expect((err as BackendError).kind).toBe('terminal');
      expect((err as BackendError).reason).toBe('InvalidName');
    }
  });

  it('escapes literals with quotes and backslashes', () => {
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(quoteLiteral('a\\b')).toBe(" E'a\\\\b'");
  });
});

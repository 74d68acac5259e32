import { describe, expect, it } from 'vitest';
import { DIGITS, generatePassword, LOWER, passwordGeneratorFor, SPECIAL, UPPER } from './password.js';

const ALNUM = LOWER + UPPER + DIGITS;
const has = (pw: string, set: string) => [...pw].some((c) => set.includes(c));

describe('generatePassword', () => {
  it('honours length and the class rules with special characters', () => {
    for (let i = 0; i < 2000; i++) {
      const pw = generatePassword({ length: 16, specialCharacters: true });
      expect(pw).toHaveLength(16);
      expect(ALNUM).toContain(pw[0]);
      expect(has(pw, LOWER) && has(pw, UPPER) && has(pw, DIGITS) && has(pw, SPECIAL)).toBe(true);
      expect([...pw].every((c) => (ALNUM + SPECIAL).includes(c))).toBe(true);
    }
  });

  it('uses only letters and digits when special characters are off', () => {
    for (let i = 0; i < 2000; i++) {
      const pw = generatePassword({ length: 8, specialCharacters: false });
      expect(pw).toMatch(/^[A-Za-z0-9]{8}$/);
      expect(has(pw, LOWER) && has(pw, UPPER) && has(pw, DIGITS)).toBe(true);
    }
  });

  it('spreads characters evenly (no modulo bias, every position random)', () => {
    const counts = new Map<string, number>();
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const c = generatePassword({ length: 8, specialCharacters: false })[0]!;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(counts.size).toBe(ALNUM.length);
    const expected = n / ALNUM.length;
    for (const count of counts.values()) expect(Math.abs(count - expected)).toBeLessThan(expected * 0.35);
    // Not a fixed pattern: the required characters are shuffled over all positions.
    const lastIsDigit = Array.from({ length: 500 }, () => /[0-9]$/.test(generatePassword({ length: 8, specialCharacters: false }))).filter(Boolean).length;
    expect(lastIsDigit).toBeGreaterThan(50);
    expect(lastIsDigit).toBeLessThan(300);
  });

  it('is never repeated and follows the config', () => {
    const gen = passwordGeneratorFor({ password_length: 40, special_characters: false });
    const seen = new Set(Array.from({ length: 1000 }, gen));
    expect(seen.size).toBe(1000);
    expect([...seen][0]).toMatch(/^[A-Za-z0-9]{40}$/);
  });

  it('refuses a length that cannot hold every required class', () => {
    expect(() => generatePassword({ length: 4, specialCharacters: true })).toThrow(/at least 5/);
  });
});

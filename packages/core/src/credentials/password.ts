/**
 * Passwords for server admins and database users. Cryptographic randomness (node:crypto
 * randomInt, which is unbiased — the original used Python's `random`), the original's alphabet
 * and rules: letters and digits, plus `+-_.:<>?` when security.special_characters is on; the first
 * character is alphanumeric (some clients choke on a leading special); at least one lower, upper,
 * digit (and special). Required classes are placed by construction and shuffled, no retry loop.
 */
import { randomInt } from 'node:crypto';

export const LOWER = 'abcdefghijklmnopqrstuvwxyz';
export const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const DIGITS = '0123456789';
export const SPECIAL = '+-_.:<>?';

export interface PasswordOptions {
  length: number;
  specialCharacters: boolean;
}

export type PasswordGenerator = () => string;

const pick = (alphabet: string): string => alphabet[randomInt(alphabet.length)]!;

export function generatePassword(opts: PasswordOptions): string {
  const classes = opts.specialCharacters ? [LOWER, UPPER, DIGITS, SPECIAL] : [LOWER, UPPER, DIGITS];
  if (!Number.isInteger(opts.length) || opts.length < classes.length + 1) {
    throw new RangeError(`password length must be an integer of at least ${classes.length + 1}, got ${opts.length}`);
  }
  const all = classes.join('');
  const alnum = LOWER + UPPER + DIGITS;
  // One of each required class, the rest from the full alphabet, then a Fisher-Yates shuffle of
  // all but the first position, which is drawn from the alphanumerics.
  const rest = [...classes.map(pick)];
  while (rest.length < opts.length - 1) rest.push(pick(all));
  for (let i = rest.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  return pick(alnum) + rest.join('');
}

/** A generator bound to the security section of the config. */
export function passwordGeneratorFor(security: { password_length: number; special_characters: boolean }): PasswordGenerator {
  return () => generatePassword({ length: security.password_length, specialCharacters: security.special_characters });
}

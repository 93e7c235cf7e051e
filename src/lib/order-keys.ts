import { generateKeyBetween, generateNKeysBetween } from 'fractional-indexing';

/**
 * Order keys (a list's place in a member's sidebar, a task's among its siblings): those of the
 * fractional-indexing algorithm in base 62, as the npm package `fractional-indexing` makes them (its
 * default digits), compared as bytes (PostgreSQL's COLLATE "C"). A client mints one with
 * generateKeyBetween(before, after); the server checks a key the same way and computes the ones it
 * chooses with the same package.
 */
const SHAPE = /^[A-Za-z][0-9A-Za-z]*$/;

/** Whether `key` is a key the package could make (its own check: head, length, no trailing zero). */
export function isOrderKey(key: string): boolean {
  if (!SHAPE.test(key)) return false;
  try {
    generateKeyBetween(key, null);
    return true;
  } catch {
    return false;
  }
}

/** Byte order of two keys (both ASCII): what PostgreSQL's COLLATE "C" and the package compare. */
export const compareKeys = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A key strictly between `lo` and `hi` (either null: an open end), at most `maxLength` characters;
 * null when there is none: equal neighbours (two items placed at one key order by id), or a gap split
 * so often that the key would be longer. The caller then looks further, or renumbers.
 */
export function keyBetween(lo: string | null, hi: string | null, maxLength = Infinity): string | null {
  if (lo !== null && hi !== null && compareKeys(lo, hi) >= 0) return null;
  try {
    const key = generateKeyBetween(lo, hi);
    return key.length <= maxLength ? key : null;
  } catch {
    return null;
  }
}

/** `n` fresh keys in order, the shortest there are (a0, a1, ...): a renumbering. */
export function freshKeys(n: number): string[] {
  return generateNKeysBetween(null, null, n);
}

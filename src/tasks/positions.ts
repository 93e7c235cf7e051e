import { generateKeyBetween } from 'fractional-indexing';

/**
 * Position keys: those of the fractional-indexing algorithm in base 62, as the npm package
 * `fractional-indexing` makes them (its default digits), compared as bytes. A client mints one with
 * generateKeyBetween(before, after); the server checks a key the same way and computes the ones it
 * chooses (after the last sibling, between two neighbours) with the same package.
 */
const SHAPE = /^[A-Za-z][0-9A-Za-z]*$/;

/** Whether `key` is a key the package could make (its own check: head, length, no trailing zero). */
export function isPositionKey(key: string): boolean {
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
 * A key strictly between `a` and `b` (either null: open-ended). Equal neighbours (two siblings that
 * share a key) leave no room: then null, and the caller looks further.
 */
export function keyBetween(a: string | null, b: string | null): string | null {
  if (a !== null && b !== null && compareKeys(a, b) >= 0) return null;
  return generateKeyBetween(a, b);
}

import { generateKeyBetween, generateNKeysBetween } from 'fractional-indexing';
import { POSITION_MAX } from './lists.schemas.js';

const KEY = /^[A-Za-z][0-9A-Za-z]*$/;

/** Whether `key` is an order key fractional-indexing could make (base 62): what `position` takes. */
export function isOrderKey(key: string): boolean {
  if (!KEY.test(key) || key.length > POSITION_MAX) return false;
  try {
    generateKeyBetween(key, null);
    return true;
  } catch {
    return false;
  }
}

/**
 * A key strictly between `lo` and `hi` (either may be absent: an open end), or undefined when there
 * is none short enough: the two are equal (two lists placed at one key order by id), or the gap has
 * been split so often that the key would be longer than POSITION_MAX. The caller then renumbers.
 */
export function keyBetween(lo: string | null, hi: string | null): string | undefined {
  if (lo !== null && hi !== null && lo >= hi) return undefined;
  try {
    const key = generateKeyBetween(lo, hi);
    return key.length <= POSITION_MAX ? key : undefined;
  } catch {
    return undefined;
  }
}

/** `n` fresh keys in order, the shortest there are (a0, a1, ...): a renumbering. */
export function freshKeys(n: number): string[] {
  return generateNKeysBetween(null, null, n);
}

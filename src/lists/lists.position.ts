import { freshKeys, isOrderKey as isKey, keyBetween as between } from '../lib/order-keys.js';
import { POSITION_MAX } from './lists.schemas.js';

/** Whether `key` is an order key (src/lib/order-keys.ts) of at most POSITION_MAX characters: what a list's `position` takes. */
export function isOrderKey(key: string): boolean {
  return key.length <= POSITION_MAX && isKey(key);
}

/**
 * A key strictly between `lo` and `hi` of at most POSITION_MAX characters, or undefined when there is
 * none (equal neighbours, or a gap split too often): the caller then renumbers.
 */
export function keyBetween(lo: string | null, hi: string | null): string | undefined {
  return between(lo, hi, POSITION_MAX) ?? undefined;
}

export { freshKeys };

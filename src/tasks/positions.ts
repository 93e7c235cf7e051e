/** A task's `position`: an order key among its siblings (src/lib/order-keys.ts). */
export { isOrderKey as isPositionKey, keyBetween } from '../lib/order-keys.js';

/**
 * What a settings page needs beside the calls: the webhook event names (checked against the
 * generated types: a new event in the API's document fails the build until it is listed here) and
 * the `webcal://` form of a calendar feed's address.
 */
import type { WebhookEvent } from './types.js';

/** Every event a webhook can subscribe to, in the API's order (`*`, all of them, aside). */
export const WEBHOOK_EVENTS = [
  'task.created',
  'task.updated',
  'task.completed',
  'task.deleted',
  'task.restored',
  'task.reminder',
  'list.created',
  'list.updated',
  'list.deleted',
  'member.added',
  'member.updated',
  'member.removed',
] as const satisfies readonly Exclude<WebhookEvent, '*'>[];

// Every event of the document is listed above (this line fails to compile otherwise).
const allListed: Exclude<WebhookEvent, '*' | (typeof WEBHOOK_EVENTS)[number]> extends never ? true : false = true;
void allListed;

/**
 * The `webcal://` form of a feed's `http(s)://` address: the link that opens "subscribe" in
 * calendar apps (Apple Calendar, Outlook; Google Calendar takes the https address). Only the scheme
 * changes (a webcal:// address does not say whether to fetch it over https or http, and apps
 * differ: serve the feed over https). Any other string is returned as it is.
 */
export function webcalUrl(url: string): string {
  return url.replace(/^https?:\/\//i, 'webcal://');
}

import { ApiError } from '../errors.js';

/**
 * Sync cursors (/changes, the event stream): opaque to clients; inside, the user's change
 * sequence number up to which the client has everything.
 */
export function encodeSyncCursor(seq: number): string {
  return Buffer.from(`s:${seq}`).toString('base64url');
}

/** The seq a cursor holds; `name` is the parameter it came in (since, Last-Event-ID), for the 400. */
export function decodeSyncCursor(cursor: string, name: string): number {
  const text = /^[A-Za-z0-9_-]{1,40}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const m = /^s:(0|[1-9][0-9]{0,15})$/.exec(text);
  if (m === null) throw new ApiError('VALIDATION_ERROR', `${name} is not a cursor of this API (take cursor from /changes or id from the event stream)`);
  return Number(m[1]);
}

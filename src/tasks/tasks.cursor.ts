import { createHash } from 'node:crypto';
import { ApiError } from '../errors.js';
import { ID_MAX } from '../http/params.js';
import { isPosition } from '../lib/instant.js';
import { POSITION_MAX, PRIORITIES, type SortField } from './tasks.schemas.js';

/**
 * Page cursors: opaque to clients, `base64url(JSON [query, value, id])`, where `query` is a hash of
 * the query the page belongs to (filters and sort, not the page size) and `value, id` the sort
 * position of the page's last task. A cursor sent with another query is refused; one that does
 * not decode into a position of its sort is refused too. Nothing in it is secret: it only moves
 * within the caller's own tasks.
 */

/** The parts of a page query a cursor is bound to, in a canonical form. */
export interface CursorQuery {
  status: string;
  q: string | undefined;
  priorities: readonly string[] | undefined;
  tags: readonly string[] | undefined;
  dueBefore: string | undefined;
  dueAfter: string | undefined;
  sort: string;
  /** Version 3's filters: present only when given, so that version 2's cursors keep their hash. */
  listId?: number | undefined;
  parentId?: number | null | undefined;
  uid?: string | undefined;
  assigneeId?: string | undefined;
}

export function queryHash(query: CursorQuery): string {
  return createHash('sha256').update(JSON.stringify(query)).digest('base64url').slice(0, 16);
}

export function encodeCursor(hash: string, value: unknown, id: number): string {
  const v = value instanceof Date ? value.toISOString() : value === null || value === undefined ? null : String(value);
  return Buffer.from(JSON.stringify([hash, v, id])).toString('base64url');
}

function invalid(): ApiError {
  return new ApiError('VALIDATION_ERROR', 'cursor is not a cursor of this API (take next_cursor of the previous page)');
}

/** The position a cursor holds, checked against the query it is sent with. */
export function decodeCursor(cursor: string, hash: string, sort: SortField): { value: string | null; id: number } {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parts) || parts.length !== 3) throw invalid();
  const [h, value, id] = parts as [unknown, unknown, unknown];
  if (typeof h !== 'string' || typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > ID_MAX) throw invalid();
  if (h !== hash) {
    throw new ApiError('VALIDATION_ERROR', 'cursor belongs to another query (other filters or another sort): start again without cursor');
  }
  const fits =
    sort === 'priority'
      ? typeof value === 'string' && (PRIORITIES as readonly string[]).includes(value)
      : sort === 'title'
        ? typeof value === 'string' && value.length <= 1000
        : sort === 'position'
          ? typeof value === 'string' && value.length <= POSITION_MAX && /^[0-9A-Za-z]+$/.test(value)
        : (typeof value === 'string' && isPosition(value)) || (sort === 'due_at' && value === null);
  if (!fits) throw invalid();
  return { value: value as string | null, id };
}

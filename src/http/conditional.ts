import { Type } from 'typebox';

/**
 * Conditional requests (RFC 9110, section 13): entity tags, If-Match (strong comparison) and
 * If-None-Match (weak comparison, lists allowed). A task's ETag is its version: `"3"`.
 */

export type EntityTags = '*' | readonly { weak: boolean; tag: string }[];

/** `*`, or the comma-separated entity-tags of the header (anything malformed is skipped). */
export function parseEntityTags(header: string): EntityTags {
  const value = header.trim();
  if (value === '*') return '*';
  const tags: { weak: boolean; tag: string }[] = [];
  for (const m of value.matchAll(/(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"/g)) tags.push({ weak: m[1] !== undefined, tag: m[2] as string });
  return tags;
}

/** If-None-Match: does the header match this (strong) ETag's opaque tag, weakly compared? */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const tags = parseEntityTags(header);
  if (tags === '*') return true;
  const opaque = etag.replace(/^W\//, '').slice(1, -1);
  return tags.some((t) => t.tag === opaque);
}

/** The largest version a task can have: its column is a PostgreSQL integer (int4). */
const VERSION_MAX = 2_147_483_647;

/** If-Match of a versioned resource: `*` (any existing version) or the versions strongly named. */
export function versionsMatched(header: string | undefined): { any: true } | { versions: number[] } | undefined {
  if (header === undefined) return undefined;
  const tags = parseEntityTags(header);
  if (tags === '*') return { any: true };
  // A version no task can have (above the column's int4) matches nothing, like any other wrong one.
  return { versions: tags.filter((t) => !t.weak && /^[1-9][0-9]{0,9}$/.test(t.tag) && Number(t.tag) <= VERSION_MAX).map((t) => Number(t.tag)) };
}

export const versionTag = (version: number) => `"${version}"`;

export const ETagHeader = Type.String({ description: 'The entity tag: a task\'s version (`"3"`), or a list\'s state', examples: ['"3"'] });

/** Request headers of conditional and retried writes, for the OpenAPI document. */
export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({ description: 'Only if the task is still at this version (its ETag), or `*`: otherwise 412 and nothing changes', examples: ['"3"'] }),
  ),
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x20-\\x7e]+$',
      'x-error-message': 'must be 1 to 255 printable ASCII characters',
      description: 'A retry with the same key, method, path and body replays the first answer (kept 24 hours)',
      examples: ['create-7f3a2c'],
    }),
  ),
});
export const IdempotencyHeaders = Type.Object({ 'idempotency-key': IfMatchHeaders.properties['idempotency-key'] });
/** The request header an EventSource sends when it reconnects: resume after that event. */
export const LastEventIdHeaders = Type.Object({
  'last-event-id': Type.Optional(
    Type.String({
      description: 'The id of the last event received (what EventSource sends on reconnecting): every change after it is replayed first. Wins over ?since=',
      examples: ['czo0Mg'],
    }),
  ),
});
export const IfNoneMatchHeaders = Type.Object({
  'if-none-match': Type.Optional(Type.String({ description: 'An ETag from an earlier answer: 304 with no body while it still matches', examples: ['"3"'] })),
});

import { Type, type TSchema } from 'typebox';
import { Envelope } from '../http/envelope.js';
import { ref } from '../http/refs.js';
import { STORABLE_TEXT, Timestamp } from '../http/text.js';
import type { FeedKind } from '../feed/feed.js';

const Cursor = (description: string) =>
  Type.String({ minLength: 1, maxLength: 40, description, examples: ['czo0Mg'] });

/** The entries of a kind of the feed (src/sync/feed.ts), for the document: its upsert and its removal. */
function entrySchemas(kind: FeedKind): [TSchema, TSchema] {
  const [upsert, remove] = kind.entryNames ?? ['ChangeUpsert', 'ChangeDelete'];
  const asked = kind.include === undefined ? '' : ` (sent with include=${kind.include})`;
  return [
    Type.Object(
      {
        type: Type.Unsafe<string>({ type: 'string', enum: [kind.upsert] }),
        [kind.name]: ref(kind.schema),
      },
      { $id: upsert, title: upsert, description: `A ${kind.name} created or changed: as it is now${asked}` },
    ),
    Type.Object(
      {
        type: Type.Unsafe<string>({ type: 'string', enum: [kind.remove] }),
        id: Type.Integer({ minimum: 1, description: `The deleted ${kind.name}'s id (nothing else of it is kept)`, examples: [41] }),
      },
      { $id: remove, title: remove, description: `A ${kind.name} deleted${asked}` },
    ),
  ];
}
/** One entry: any kind's upsert or removal. */
const changeSchema = (kinds: readonly FeedKind[]) =>
  Type.Unsafe<Record<string, unknown>>({
    $id: 'Change',
    title: 'Change',
    anyOf: kinds.flatMap(entrySchemas).map((s) => ({ $ref: `${String((s as { $id?: string }).$id)}#` })),
    description: 'One entry of /changes, and the data of one event of the stream. Clients ignore entry types they do not know',
  });

/** `include=`: comma-separated words asking for more kinds of entries; unknown words are ignored. */
const Include = Type.String({
  maxLength: 200,
  pattern: STORABLE_TEXT,
  'x-error-message': { pattern: 'must be text without NUL or unpaired surrogate characters' },
  description: 'Comma-separated: `lists` adds the list entries (`list_upsert`, `list_delete`) to the task entries; unknown words are ignored',
  examples: ['lists'],
});

/** The words of an `include=` value. */
export function includeWords(include: string | undefined): ReadonlySet<string> | undefined {
  return include === undefined ? undefined : new Set(include.split(',').map((w) => w.trim()));
}

export const ChangesQuerySchema = Type.Object({
  since: Type.Optional(Cursor('The cursor of the previous answer (or an event id); without it, a snapshot of every task')),
  include: Type.Optional(Include),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'At most this many changes (default 500)', examples: [500] })),
});

export const ChangesEnvelopeSchema = Envelope(
  Type.Object({
    changes: Type.Array(Type.Unsafe<Record<string, unknown>>({ $ref: 'Change#' })),
    cursor: Cursor('Where this answer ends: send it as `since` next time'),
    has_more: Type.Boolean({ description: 'true when `limit` cut the answer: ask again with `cursor` at once' }),
  }),
  'Changes retrieved successfully',
);

export const TicketEnvelopeSchema = Envelope(
  Type.Object({
    ticket: Type.String({ description: 'For GET .../tasks/events?ticket=: once, within 60 s, for this user only', examples: ['qv7Jz0P3mR2cY8bN1xW4dT6hL9sK5aE0'] }),
    expires_at: Timestamp('When the ticket expires (UTC)'),
  }),
  'Ticket created successfully',
);

export const EventsQuerySchema = Type.Object({
  since: Type.Optional(Cursor('Replay every change after this cursor first (Last-Event-ID wins when both are sent)')),
  include: Type.Optional(Include),
  ticket: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'A ticket from POST .../tasks/events/ticket, for clients that cannot send headers (EventSource)' })),
});

/** The named schemas of sync, for the feed's kinds (one kind for now: its entries keep their version-2 names). */
export const syncSchemas = (kinds: readonly FeedKind[]): TSchema[] => [...kinds.flatMap(entrySchemas), changeSchema(kinds)];

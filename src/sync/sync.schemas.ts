import { Type, type TSchema } from 'typebox';
import { Envelope } from '../http/envelope.js';
import { ref } from '../http/refs.js';
import { Timestamp } from '../http/text.js';
import type { FeedKind } from '../feed/feed.js';

const Cursor = (description: string) =>
  Type.String({ minLength: 1, maxLength: 40, description, examples: ['czo0Mg'] });

/** The entries of a kind of the feed (src/sync/feed.ts), for the document: its upsert and its removal. */
function entrySchemas(kind: FeedKind): [TSchema, TSchema] {
  return [
    Type.Object(
      {
        type: Type.Unsafe<string>({ type: 'string', enum: [kind.upsert] }),
        [kind.name]: ref(kind.schema),
      },
      { $id: 'ChangeUpsert', title: 'ChangeUpsert', description: `A ${kind.name} created or changed: as it is now` },
    ),
    Type.Object(
      {
        type: Type.Unsafe<string>({ type: 'string', enum: [kind.remove] }),
        id: Type.Integer({ minimum: 1, description: `The deleted ${kind.name}'s id (nothing else of it is kept)`, examples: [41] }),
      },
      { $id: 'ChangeDelete', title: 'ChangeDelete', description: `A ${kind.name} deleted` },
    ),
  ];
}
export const ChangeSchema = Type.Unsafe<Record<string, unknown>>({
  $id: 'Change',
  title: 'Change',
  anyOf: [{ $ref: 'ChangeUpsert#' }, { $ref: 'ChangeDelete#' }],
  description: 'One entry of /changes, and the data of one event of the stream',
});

export const ChangesQuerySchema = Type.Object({
  since: Type.Optional(Cursor('The cursor of the previous answer (or an event id); without it, a snapshot of every task')),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'At most this many changes (default 500)', examples: [500] })),
});

export const ChangesEnvelopeSchema = Envelope(
  Type.Object({
    changes: Type.Array(ref(ChangeSchema)),
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
  ticket: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'A ticket from POST .../tasks/events/ticket, for clients that cannot send headers (EventSource)' })),
});

/** The named schemas of sync, for the feed's kinds (one kind for now: its entries keep their version-2 names). */
export const syncSchemas = (kinds: readonly FeedKind[]): TSchema[] => [...kinds.flatMap(entrySchemas), ChangeSchema];

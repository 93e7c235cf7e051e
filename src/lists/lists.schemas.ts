import { Type, type Static, type TSchema } from 'typebox';
import { Envelope } from '../http/envelope.js';
import { ID_MAX, UserId } from '../http/params.js';
import { ref } from '../http/refs.js';
import { Timestamp } from '../http/text.js';
import { ROLES, type Role } from '../access/roles.js';

export const NAME_MAX = 100;
/** Longest order key taken or kept (fractional-indexing keys grow by about a character every 6 insertions at one place). */
export const POSITION_MAX = 255;

const NAME_WORDS = `1 to ${NAME_MAX} characters (Unicode code points) after trimming, no control characters`;
const POSITION_WORDS =
  "The caller's own place of the list in their sidebar: an order key of the npm package fractional-indexing (base 62), compared as bytes; " +
  'each member orders their lists for themselves';
const Name = Type.String({
  minLength: 1,
  maxLength: NAME_MAX,
  pattern: '^[^\\p{Cc}\\uD800-\\uDFFF]*$',
  'x-error-message': { pattern: 'must be text without control characters' },
  description: NAME_WORDS,
  examples: ['Groceries'],
});

/** An order key of fractional-indexing (base 62); lists.position.ts checks what a pattern cannot. */
export const Position = Type.String({
  minLength: 2,
  maxLength: POSITION_MAX,
  pattern: '^[A-Za-z][0-9A-Za-z]*$',
  'x-error-message': { pattern: 'must be an order key of fractional-indexing (base 62), such as a0 or a1V' },
  description: POSITION_WORDS,
  examples: ['a1'],
});

const ListId = (description: string) =>
  Type.Integer({ minimum: 1, maximum: ID_MAX, description, examples: [7], 'x-error-message': `must be a positive integer no larger than ${ID_MAX}` });

export const ListSchema = Type.Object(
  {
    id: Type.Integer({ minimum: 1, description: 'List id', examples: [7] }),
    name: Name,
    is_default: Type.Boolean({ description: "Whether this is the caller's own Inbox (a shared Inbox shows false to its other members)", examples: [false] }),
    owner_id: Type.String({ description: "The list's owner", examples: ['u_8f2k'] }),
    role: Type.Unsafe<Role>({ type: 'string', enum: [...ROLES], description: "The caller's role in the list", examples: ['owner'] }),
    position: Position,
    open_count: Type.Integer({ minimum: 0, description: 'Its pending tasks', examples: [3] }),
    member_count: Type.Integer({ minimum: 1, description: 'Its members, the owner included', examples: [2] }),
    version: Type.Integer({
      minimum: 1,
      description: "Read-only: 1 at creation, +1 with each change of its name, owner or members (not a member's position, not open_count)",
      examples: [4],
    }),
    created_at: Timestamp('When the list was created (UTC)', ['2026-12-06T10:00:00.000Z']),
    updated_at: Timestamp('When its name, owner or members last changed (UTC)', ['2026-12-06T10:05:00.000Z']),
  },
  { $id: 'List', title: 'List', description: 'A list, as the caller sees it (their role, their position)' },
);
export type List = Static<typeof ListSchema>;

export const ListCreateSchema = Type.Object(
  { name: Name, position: Type.Optional({ ...Position, description: `${POSITION_WORDS}. Default: after the caller's last list` }) },
  { $id: 'ListCreate', title: 'ListCreate', description: 'A new list, owned by the caller. Other fields are ignored.', examples: [{ name: 'Groceries' }, { name: 'Work', position: 'a0V' }] },
);
export type ListCreate = Static<typeof ListCreateSchema>;

export const ListUpdateSchema = Type.Object(
  {
    name: Type.Optional({ ...Name, description: `${NAME_WORDS}. The owner only` }),
    position: Type.Optional({ ...Position, description: `${POSITION_WORDS}. Any member, for themselves; the version does not change` }),
  },
  { $id: 'ListUpdate', title: 'ListUpdate', description: 'Any of the two; other fields are ignored.', examples: [{ name: 'Shopping' }, { position: 'a3' }] },
);
export type ListUpdate = Static<typeof ListUpdateSchema>;

/** No body, or `{after_id?, before_id?}`. */
export const ListMoveSchema = Type.Unsafe<{ after_id?: number; before_id?: number } | null>({
  $id: 'ListMove',
  title: 'ListMove',
  anyOf: [
    { type: 'null' },
    {
      type: 'object',
      properties: {
        after_id: ListId('Place the list right after this one of the caller\'s lists'),
        before_id: ListId('Place the list right before this one of the caller\'s lists (with after_id: between the two, which must be in that order)'),
      },
    },
  ],
  description: "Where to place the list in the caller's own order; neither (or no body): first. The server computes `position`.",
  examples: [{ after_id: 3 }, { before_id: 9 }, {}],
});

export const ListParamsSchema = Type.Object({ user_id: UserId, list_id: ListId('List id, in canonical decimal') });

export const ListEnvelopeSchema = Envelope(ref(ListSchema), 'List retrieved successfully');
export const ListsEnvelopeSchema = Envelope(Type.Array(ref(ListSchema)), 'Lists retrieved successfully');

/** The named schemas of this resource, for the document's components (plugins/validation.ts). */
export const listSchemas: TSchema[] = [ListSchema, ListCreateSchema, ListUpdateSchema, ListMoveSchema];

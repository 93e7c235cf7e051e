import { Type, type Static, type TSchema } from 'typebox';
import { Envelope } from '../http/envelope.js';
import { Id, UserId } from '../http/params.js';
import { ref } from '../http/refs.js';
import { TaskSchema } from '../tasks/tasks.schemas.js';

/** A task in the trash: the task as it was when deleted, and when (API.md, version 3, "Trash"). */
export const TrashedTaskSchema = Type.Object(
  {
    ...TaskSchema.properties,
    deleted_at: Type.Unsafe<string>({
      type: 'string',
      format: 'date-time',
      description: 'When the task (with its subtree) was deleted (UTC); it is purged TRASH_RETENTION_DAYS later',
      examples: ['2026-12-06T10:15:00.000Z'],
    }),
  },
  { $id: 'TrashedTask', title: 'TrashedTask', description: 'A task in the trash: an entry of its own, its subtree coming back with it' },
);
export type TrashedTask = Static<typeof TrashedTaskSchema>;

export const TRASH_PAGE_MAX = 200;
export const TRASH_PAGE_DEFAULT = 50;

export const TrashQuerySchema = Type.Object({
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: TRASH_PAGE_MAX, description: `Entries per page (default ${TRASH_PAGE_DEFAULT})`, examples: [50] }),
  ),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'next_cursor of the previous page' })),
});

export const TrashParamsSchema = Type.Object({ user_id: UserId, id: Id });

export const TrashPageEnvelopeSchema = Type.Object(
  {
    data: Type.Array(ref(TrashedTaskSchema)),
    message: Type.String({ description: 'What was done, for people', examples: ['Trash retrieved successfully'] }),
    next_cursor: Type.Unsafe<string | null>({ type: ['string', 'null'], description: 'The cursor of the next page, or null on the last one' }),
  },
  { description: "The caller's trash, newest first" },
);

export const TrashEntryEnvelopeSchema = Envelope(ref(TrashedTaskSchema), 'Trashed task retrieved successfully');
export const TrashEmptiedEnvelopeSchema = Envelope(
  Type.Object({ purged: Type.Integer({ minimum: 0, description: 'Entries purged (each with its subtree)', examples: [3] }) }),
  'Trash emptied successfully',
);

export const trashSchemas: TSchema[] = [TrashedTaskSchema];

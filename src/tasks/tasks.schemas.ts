import { Type, type Static, type TOptional, type TProperties, type TSchema } from 'typebox';
import { Envelope } from '../http/envelope.js';
import { ref } from '../http/refs.js';
import { Instant, NullableText, STORABLE_TEXT, Text, Timestamp } from '../http/text.js';

export const TITLE_MAX = 200;
export const DESCRIPTION_MAX = 1000;
export const TAG_MAX = 50;
export const TAGS_MAX = 20;
export const PRIORITIES = ['none', 'low', 'medium', 'high'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** What `due_before` and `due_after` take (http/text.ts, Instant). */
const DateTime = (description: string, example: string) => Instant({ description, examples: [example] });

const Title = Text({
  minLength: 1,
  maxLength: TITLE_MAX,
  description: `1 to ${TITLE_MAX} characters (Unicode code points) after trimming`,
  examples: ['Buy milk', 'Book the dentist'],
});
const Description = NullableText({
  maxLength: DESCRIPTION_MAX,
  description: `Up to ${DESCRIPTION_MAX} characters, or null`,
  examples: ['Oat milk, two litres', null],
});
const Completed = Type.Boolean({ description: 'Whether the task is done', examples: [true] });
const PriorityField = Type.Unsafe<Priority>({
  type: 'string',
  enum: [...PRIORITIES],
  description: 'none < low < medium < high',
  examples: ['high', 'low'],
  'x-error-message': { type: `must be one of ${PRIORITIES.join(', ')}` },
});
/** Trimmed (before validation), 1-50 code points, no control characters. */
export const Tag = Type.String({
  minLength: 1,
  maxLength: TAG_MAX,
  pattern: '^[^\\p{Cc}\\uD800-\\uDFFF]*$',
  'x-error-message': { pattern: 'must be text without control characters' },
  examples: ['errands'],
});
const Tags = Type.Array(Tag, {
  maxItems: TAGS_MAX,
  description: `At most ${TAGS_MAX} tags, each trimmed, 1 to ${TAG_MAX} characters; duplicates that differ only in case collapse to the first spelling; order as given`,
  examples: [['errands', 'home'], []],
});
const DueAt = Instant<string | Date | null>({
  nullable: true,
  description: 'When the task is due: an RFC 3339 date-time with an offset (returned in UTC with milliseconds), or null',
  examples: ['2026-12-24T17:00:00.000Z', null],
});

/**
 * THE FIELD LIST: every field a client writes, declared once.
 * - EDITABLE: POST and PUT take them; on POST `title` is required and the others get their
 *   CREATE_DEFAULTS when absent.
 * - SETTABLE: PUT (and PATCH .../complete) only.
 * Everything else derives from these: the request schemas, the response schema, the columns the
 * repository may write (it writes exactly the keys a validated body holds). A new field goes here,
 * into db/schema.ts and into a migration; no other list exists.
 */
const EDITABLE = { title: Title, description: Description, priority: PriorityField, tags: Tags, due_at: DueAt };
export const CREATE_DEFAULTS = { description: null, priority: 'none', tags: [], due_at: null } as const satisfies {
  [K in keyof typeof EDITABLE]?: unknown;
};
const SETTABLE = { completed: Completed };

/**
 * The create form of the editable fields: those with a default are optional, and say their
 * default in words. (Not as JSON Schema `default`: openapi-typescript would then make them
 * required in the generated request type; the repository fills them in.)
 */
type WithDefaults<P extends TProperties, D> = { [K in keyof P]: K extends keyof D ? TOptional<P[K]> : P[K] };
function withDefaults<P extends TProperties, D extends { [K in keyof P]?: unknown }>(props: P, defaults: D): WithDefaults<P, D> {
  const out: Record<string, TSchema> = {};
  for (const [key, schema] of Object.entries(props)) {
    const value = (defaults as Record<string, unknown>)[key];
    const described = { ...schema, description: `${String((schema as { description?: string }).description)}. Default: ${JSON.stringify(value)}` } as TSchema;
    out[key] = key in defaults ? Type.Optional(described) : schema;
  }
  return out as WithDefaults<P, D>;
}

export const TaskSchema = Type.Object(
  {
    id: Type.Integer({ minimum: 1, description: 'Task id', examples: [42] }),
    user_id: Type.String({ description: 'The owner (the token\'s `sub`)', examples: ['u_8f2k'] }),
    ...EDITABLE,
    ...SETTABLE,
    completed_at: Type.Unsafe<Date | string | null>({
      type: ['string', 'null'],
      format: 'date-time',
      description: 'Read-only: when the task last became completed (the same instant as that change\'s updated_at); null while pending',
      examples: ['2026-01-12T10:05:00.456Z', null],
    }),
    version: Type.Integer({ minimum: 1, description: 'Read-only: 1 at creation, +1 on every change; the task\'s ETag', examples: [3] }),
    created_at: Timestamp('When the task was created (UTC, ISO 8601 with a Z)'),
    updated_at: Timestamp('When the task last changed (UTC); never goes backwards', ['2026-01-12T10:05:00.456Z']),
  },
  { $id: 'Task', title: 'Task', description: 'A task, as the API sends it' },
);
export type Task = Static<typeof TaskSchema>;

export const TaskCreateSchema = Type.Object(withDefaults(EDITABLE, CREATE_DEFAULTS), {
  $id: 'TaskCreate',
  title: 'TaskCreate',
  description: 'A new task. Fields not listed here (id, user_id, completed, version, timestamps) are ignored.',
  examples: [{ title: 'Buy milk', description: 'Oat milk, two litres', priority: 'high', tags: ['errands'], due_at: '2026-12-24T17:00:00Z' }],
});
export type TaskCreate = Static<typeof TaskCreateSchema>;

export const TaskUpdateSchema = Type.Partial(Type.Object({ ...EDITABLE, ...SETTABLE }), {
  $id: 'TaskUpdate',
  title: 'TaskUpdate',
  description: 'Any subset of the writable fields; `description: null`, `tags: []` and `due_at: null` clear. Other fields are ignored.',
  examples: [{ title: 'Buy oat milk', completed: true }, { priority: 'low', tags: ['home'], due_at: null }],
});
export type TaskUpdate = Static<typeof TaskUpdateSchema>;

/** The columns POST writes (every one; CREATE_DEFAULTS for those left out) and PUT may write. */
export const CREATABLE = Object.keys(TaskCreateSchema.properties) as (keyof TaskCreate & string)[];
export const CHANGEABLE = Object.keys(TaskUpdateSchema.properties) as (keyof TaskUpdate & string)[];

/** No body (or an empty one, whatever its Content-Type) toggles; `{completed}` sets. */
export const TaskCompletionSchema = Type.Unsafe<{ completed?: boolean } | null>({
  $id: 'TaskCompletion',
  title: 'TaskCompletion',
  anyOf: [{ type: 'null' }, { type: 'object', properties: { completed: Completed } }],
  description: 'Optional. Without a body the task is toggled; with {"completed": bool} it is set (safe to retry).',
  examples: [{ completed: true }],
});

/** The words todo UIs send for the two states, and what each means. */
export const STATUS_WORDS = {
  all: 'all',
  pending: 'pending',
  completed: 'completed',
  active: 'pending',
  open: 'pending',
  incomplete: 'pending',
  todo: 'pending',
  done: 'completed',
  complete: 'completed',
} as const;
export type StatusWord = keyof typeof STATUS_WORDS;

const Status = Type.Unsafe<StatusWord>({ type: 'string', enum: Object.keys(STATUS_WORDS) });

export const SORTS = ['created_at', 'updated_at', 'due_at', 'priority', 'title'] as const;
export type SortField = (typeof SORTS)[number];
const SORT_VALUES = SORTS.flatMap((f) => [f, `-${f}`]);
export const PAGE_MAX = 200;

export const PageQuerySchema = Type.Object({
  status: Type.Optional({
    ...Status,
    description: 'all (default), pending or completed; active, open, incomplete and todo mean pending; done and complete mean completed',
    examples: ['pending'],
  }),
  filter: Type.Optional({ ...Status, description: 'Alias of status (status wins when both are given)' }),
  q: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: STORABLE_TEXT,
      'x-error-message': { pattern: 'must be text without NUL or unpaired surrogate characters' },
      description: 'Case-insensitive substring of the title or the description, taken literally (% _ \\ match themselves)',
      examples: ['milk'],
    }),
  ),
  priority: Type.Optional(
    Type.Array(
      Type.String({
        pattern: `^(${PRIORITIES.join('|')})(,(${PRIORITIES.join('|')}))*$`,
        'x-error-message': { pattern: `must be one or more of ${PRIORITIES.join(', ')}, separated by commas` },
      }),
      { maxItems: 4, description: 'Comma-separated levels, e.g. `high,medium`', examples: [['high,medium']] },
    ),
  ),
  tag: Type.Optional(Type.Array(Tag, { maxItems: TAGS_MAX, description: 'Repeatable: a task must carry every given tag (case-insensitive)', examples: [['errands']] })),
  // The examples make a range (the docs page fills them in): December 2026.
  due_before: Type.Optional(DateTime('due_at < this instant; a task without due_at never matches', '2027-01-01T00:00:00Z')),
  due_after: Type.Optional(DateTime('due_at >= this instant; a task without due_at never matches', '2026-12-01T00:00:00Z')),
  sort: Type.Optional(
    Type.Unsafe<string>({
      type: 'string',
      enum: SORT_VALUES,
      description: 'A field, `-` for descending; default -created_at. Ties break by id in the same direction; tasks without due_at come last both ways; title compares case-insensitively',
      examples: ['-priority'],
    }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_MAX, description: `Page size, 1 to ${PAGE_MAX}; with it the body has next_cursor`, examples: [50] })),
  cursor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 2000,
      pattern: '^[A-Za-z0-9_-]+$',
      'x-error-message': 'is not a cursor of this API (take next_cursor of the previous page)',
      description: 'Opaque: next_cursor of the previous page, with the same filters and sort',
    }),
  ),
});
export type PageQuery = Static<typeof PageQuerySchema>;

export const TaskEnvelopeSchema = Envelope(ref(TaskSchema), 'Task retrieved successfully');
export const TaskPageEnvelopeSchema = Type.Object(
  {
    data: Type.Array(ref(TaskSchema)),
    message: Type.String({ description: 'What was done, for people', examples: ['Tasks retrieved successfully'] }),
    next_cursor: Type.Optional(
      Type.Unsafe<string | null>({
        type: ['string', 'null'],
        description: 'Only with limit or cursor: the cursor of the next page, or null on the last one',
      }),
    ),
  },
  { description: "The user's tasks" },
);

/** The named schemas of this resource, for the document's components (plugins/validation.ts). */
export const taskSchemas: TSchema[] = [TaskSchema, TaskCreateSchema, TaskUpdateSchema, TaskCompletionSchema];


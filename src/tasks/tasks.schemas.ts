import { Type, type Static, type TOptional, type TProperties, type TSchema } from 'typebox';
import { Envelope } from '../http/envelope.js';
import { ref } from '../http/refs.js';
import { Instant, NullableText, STORABLE_TEXT, Text, Timestamp } from '../http/text.js';
import { ID_MAX } from '../http/params.js';
import { RECURRENCE_MAX, REPEAT_FROM, type RepeatFrom } from './recurrence.js';
import { Reminders } from './reminders.js';

export const TITLE_MAX = 200;
export const DESCRIPTION_MAX = 1000;
export const TAG_MAX = 50;
export const TAGS_MAX = 20;
export const PRIORITIES = ['none', 'low', 'medium', 'high'] as const;
export const UID_MAX = 64;
/** The longest position key taken (a key grows by about one character per 6 insertions at one spot). */
export const POSITION_MAX = 1024;
/** Levels of subtasks: a top-level task is level 1. */
export const LEVELS_MAX = 5;
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
/** Checked part by part by the routes (recurrence.ts): a 400 names the part. */
const Recurrence = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  minLength: 1,
  maxLength: RECURRENCE_MAX,
  description:
    'null, or an RFC 5545 RRULE value without the RRULE: prefix. Parts: FREQ (DAILY, WEEKLY, MONTHLY, YEARLY), INTERVAL, BYDAY (ordinals such as 1MO, -1FR for ' +
    'monthly and yearly rules), BYMONTHDAY, BYMONTH, BYSETPOS, COUNT, UNTIL, WKST; any other part is a 400. Needs a due_at (the first occurrence)',
  examples: ['FREQ=WEEKLY;BYDAY=MO,TH', 'FREQ=MONTHLY;BYDAY=-1FR;COUNT=12', null],
});
const RepeatFromField = Type.Unsafe<RepeatFrom>({
  type: 'string',
  enum: [...REPEAT_FROM],
  description: 'due: the next occurrence follows the schedule; completion: the rule starts again on the day of completion (in time_zone) at the time of day of due_at',
  examples: ['completion', 'due'],
  'x-error-message': `must be one of ${REPEAT_FROM.join(', ')}`,
});
const TimeZone = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z][A-Za-z0-9_+/-]*$',
  'x-error-message': { pattern: 'must be null or an IANA time zone name, e.g. Europe/Berlin' },
  description: 'null (UTC) or an IANA time zone name: occurrences are computed in it, so 09:00 stays 09:00 local across daylight-saving changes',
  examples: ['Europe/Berlin', null],
});

const IdOrNull = (description: string, examples: (number | null)[]) =>
  Type.Unsafe<number | null>({
    type: ['integer', 'null'],
    minimum: 1,
    maximum: ID_MAX,
    description,
    examples,
    'x-error-message': `must be null or a positive integer no larger than ${ID_MAX}`,
  });
const ListId = Type.Integer({
  minimum: 1,
  maximum: ID_MAX,
  description: "The task's list. A list the caller is not a member of is a 404; one they may only read, a 403",
  examples: [7],
  'x-error-message': `must be a positive integer no larger than ${ID_MAX}`,
});
export const Uid = Type.String({
  minLength: 1,
  maxLength: UID_MAX,
  pattern: '^[A-Za-z0-9_-]+$',
  'x-error-message': { pattern: 'must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -' },
  description: `The client's id of the task: 1 to ${UID_MAX} characters of [A-Za-z0-9_-] (a UUID fits), unique among all tasks, immutable. Generated (a UUID) when absent`,
  examples: ['0b5f7c1e-4a8d-4a43-9d7e-2f6b1c9e8a10'],
});
const ParentId = IdOrNull(`null, or the id of a task in the same list: a subtask. At most ${LEVELS_MAX} levels; no cycles`, [12, null]);
/** A fractional-indexing key; the package itself checks it too (tasks/positions.ts). */
export const Position = Type.String({
  minLength: 2,
  maxLength: POSITION_MAX,
  pattern: '^[A-Za-z][0-9A-Za-z]*$',
  'x-error-message': { pattern: 'must be a fractional-indexing key (base 62), as generateKeyBetween of the npm package fractional-indexing makes them' },
  description:
    "The task's place among its siblings (same list, same parent), compared as bytes; equal keys order by id. A key of the fractional-indexing algorithm (base 62): mint one with generateKeyBetween(before, after) of the npm package fractional-indexing",
  examples: ['a0', 'a0V'],
});
const AssigneeId = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  minLength: 1,
  maxLength: 255,
  description: "null, or a member of the task's list (their user id)",
  examples: ['u_8f2k', null],
});

/**
 * Where a task is (version 3): its list, its parent and its place. Written through their own
 * checks (access to the lists, the tree's rules, membership), never as plain columns.
 */
const PLACEMENT = { list_id: ListId, parent_id: ParentId, position: Position, assignee_id: AssigneeId };
/** Chosen on POST only; a PUT may repeat it (a different one is a 400). */
const CLIENT_ID = { uid: Uid };

/**
 * THE FIELD LIST: every field a client writes, declared once.
 * - EDITABLE: POST and PUT take them; on POST `title` is required and the others get their
 *   CREATE_DEFAULTS when absent.
 * - SETTABLE: PUT (and PATCH .../complete) only.
 * Everything else derives from these: the request schemas, the response schema, the columns the
 * repository may write (it writes exactly the keys a validated body holds). A new field goes here,
 * into db/schema.ts and into a migration; no other list exists.
 */
const EDITABLE = {
  title: Title,
  description: Description,
  priority: PriorityField,
  tags: Tags,
  due_at: DueAt,
  recurrence: Recurrence,
  repeat_from: RepeatFromField,
  time_zone: TimeZone,
  reminders: Reminders,
};
export const CREATE_DEFAULTS = { description: null, priority: 'none', tags: [], due_at: null, recurrence: null, repeat_from: 'due', time_zone: null, reminders: [] } as const satisfies {
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
    user_id: Type.String({ description: 'Who created the task (the token\'s `sub` of that request)', examples: ['u_8f2k'] }),
    ...PLACEMENT,
    ...CLIENT_ID,
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

export const TaskCreateSchema = Type.Object(
  { ...withDefaults(EDITABLE, CREATE_DEFAULTS), ...Type.Partial(Type.Object({ ...PLACEMENT, ...CLIENT_ID })).properties },
  {
    $id: 'TaskCreate',
    title: 'TaskCreate',
    description:
      'A new task. Fields not listed here (id, user_id, completed, version, timestamps) are ignored. Defaults: list_id the caller\'s Inbox, uid generated, parent_id null, position after the last sibling, assignee_id null.',
    examples: [
      { title: 'Buy milk', description: 'Oat milk, two litres', priority: 'high', tags: ['errands'], due_at: '2026-12-24T17:00:00Z' },
      { title: 'Water the plants', due_at: '2026-12-07T09:00:00+01:00', recurrence: 'FREQ=WEEKLY;BYDAY=MO,TH', repeat_from: 'due', time_zone: 'Europe/Berlin' },
      { title: 'Oat milk', list_id: 7, uid: '0b5f7c1e-4a8d-4a43-9d7e-2f6b1c9e8a10', parent_id: 12, position: 'a0V', assignee_id: 'u_8f2k' },
    ],
  },
);
export type TaskCreate = Static<typeof TaskCreateSchema>;

export const TaskUpdateSchema = Type.Partial(Type.Object({ ...EDITABLE, ...SETTABLE, ...PLACEMENT, ...CLIENT_ID }), {
  $id: 'TaskUpdate',
  title: 'TaskUpdate',
  description:
    'Any subset of the writable fields; `description: null`, `tags: []` and `due_at: null` clear. Other fields are ignored. ' +
    '`list_id` moves the task and its subtree (write access to both lists; a subtask moved must name `parent_id` too); `uid` is immutable: the same value is accepted, another is a 400.',
  examples: [{ title: 'Buy oat milk', completed: true }, { priority: 'low', tags: ['home'], due_at: null }, { list_id: 8, parent_id: null, assignee_id: null }, { recurrence: 'FREQ=DAILY;INTERVAL=3', repeat_from: 'completion' }],
});
export type TaskUpdate = Static<typeof TaskUpdateSchema>;

/** The plain columns POST writes (every one; CREATE_DEFAULTS for those left out) and PUT may write. */
export const CREATABLE = Object.keys(EDITABLE) as (keyof typeof EDITABLE & string)[];
export const CHANGEABLE = Object.keys({ ...EDITABLE, ...SETTABLE }) as (keyof typeof EDITABLE | keyof typeof SETTABLE)[];

export const TaskMoveSchema = Type.Object(
  {
    list_id: Type.Optional(ListId),
    parent_id: Type.Optional(ParentId),
    after_id: Type.Optional(IdOrNull('Place the task right after this sibling', [41])),
    before_id: Type.Optional(IdOrNull('Place the task right before this sibling', [43])),
  },
  {
    $id: 'TaskMove',
    title: 'TaskMove',
    description:
      'Where to put the task: in another list and/or under another parent when named (the subtree moves with it), right after `after_id` or right ' +
      'before `before_id` (both: between them), first among its siblings when neither. The server computes `position`.',
    examples: [{ after_id: 41 }, { list_id: 8, parent_id: null, before_id: 43 }],
  },
);
export type TaskMove = Static<typeof TaskMoveSchema>;

/** No body (or an empty one, whatever its Content-Type) toggles; `{completed}` sets. */
const Occurrence = Instant({
  description: "A recurring task's due_at being completed: the completion happens only while due_at is still this instant (a retried completion never skips one)",
  examples: ['2026-12-07T08:00:00.000Z'],
});
export const TaskCompletionSchema = Type.Unsafe<{ completed?: boolean; occurrence?: string } | null>({
  $id: 'TaskCompletion',
  title: 'TaskCompletion',
  anyOf: [{ type: 'null' }, { type: 'object', properties: { completed: Completed, occurrence: Occurrence } }],
  description:
    'Optional. Without a body the task is toggled; with {"completed": bool} it is set (safe to retry). With "occurrence" (a recurring task\'s due_at): ' +
    'completes only while due_at is still that instant, else answers the task unchanged.',
  examples: [{ completed: true }, { completed: true, occurrence: '2026-12-07T08:00:00.000Z' }],
});

/** One completion of a recurring task (GET .../completions). */
export const TaskCompletionRecordSchema = Type.Object(
  {
    occurrence_due_at: Timestamp('The due_at of the occurrence completed (UTC)', ['2026-12-07T08:00:00.000Z']),
    completed_at: Timestamp('When it was completed (UTC)', ['2026-12-07T08:30:00.000Z']),
    completed_by: Type.String({ description: 'Who completed it (their user id)', examples: ['u_8f2k'] }),
  },
  { $id: 'TaskCompletionRecord', title: 'TaskCompletionRecord', description: 'A completion of a recurring task' },
);

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

export const SORTS = ['created_at', 'updated_at', 'due_at', 'priority', 'title', 'position'] as const;
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
      description:
        'A field, `-` for descending; default -created_at. Ties break by id in the same direction; tasks without due_at come last both ways; title compares case-insensitively; ' +
        'position compares as bytes (meaningful among siblings: build the tree from parent_id)',
      examples: ['-priority'],
    }),
  ),
  list_id: Type.Optional({ ...ListId, description: 'One list only (404 if the caller is not a member); without it, every list the caller is a member of' }),
  parent_id: Type.Optional(
    Type.String({
      pattern: '^(none|[1-9][0-9]{0,9})$',
      'x-error-message': { pattern: 'must be a task id or none' },
      description: 'The subtasks of this task, or `none` for top-level tasks only',
      examples: ['none', '12'],
    }),
  ),
  uid: Type.Optional(Uid),
  assignee_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Tasks assigned to this user', examples: ['u_8f2k'] })),
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

/** Operations in one batch at most (API.md, "Batch"). */
export const BATCH_MAX = 100;
export const BATCH_OPS = ['create', 'update', 'complete', 'move', 'delete'] as const;
export type BatchOpName = (typeof BATCH_OPS)[number];

/** Which task an operation is on: its id, or its uid (a task created earlier in the same batch, or any the caller can see). */
const BatchTarget = {
  id: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: ID_MAX,
      description: 'The task (or give uid)',
      examples: [42],
      'x-error-message': `must be a positive integer no larger than ${ID_MAX}`,
    }),
  ),
  uid: Type.Optional({ ...Uid, description: "The task's uid, instead of id: also one created by an earlier create of the same batch" }),
};
const BatchIfMatch = Type.Optional(
  Type.String({ maxLength: 1000, description: "As the single route's If-Match header: only at this version (the task's ETag, e.g. \"3\"), or *; else this operation is a 412", examples: ['"3"'] }),
);
const batchOp = <P extends TProperties>(op: BatchOpName, name: string, route: string, properties: P, example: object) =>
  Type.Object(
    { op: Type.Literal(op), ...properties },
    { $id: name, title: name, description: `Runs as ${route} would, and answers as it would`, examples: [{ op, ...example }] },
  );
export const BatchCreateSchema = batchOp('create', 'BatchCreate', 'POST /tasks', { task: ref(TaskCreateSchema) }, { task: { title: 'Buy milk', uid: 'milk-1' } });
export const BatchUpdateSchema = batchOp(
  'update',
  'BatchUpdate',
  'PUT /tasks/{id}',
  { ...BatchTarget, if_match: BatchIfMatch, task: ref(TaskUpdateSchema) },
  { uid: 'milk-1', task: { priority: 'high' } },
);
export const BatchCompleteSchema = batchOp(
  'complete',
  'BatchComplete',
  'PATCH /tasks/{id}/complete',
  { ...BatchTarget, if_match: BatchIfMatch, completed: Type.Optional(Completed), occurrence: Type.Optional(Occurrence) },
  { id: 42, completed: true },
);
export const BatchMoveSchema = batchOp(
  'move',
  'BatchMove',
  'POST /tasks/{id}/move',
  { ...BatchTarget, if_match: BatchIfMatch, ...TaskMoveSchema.properties },
  { id: 42, list_id: 7, after_id: 41 },
);
export const BatchDeleteSchema = batchOp('delete', 'BatchDelete', 'DELETE /tasks/{id}', { ...BatchTarget, if_match: BatchIfMatch }, { id: 42, if_match: '"3"' });

export const BatchRequestSchema = Type.Object(
  {
    atomic: Type.Optional(
      Type.Boolean({ description: 'true: all or nothing, in one transaction; the first operation that fails is the answer (with its index). Default: false', examples: [true] }),
    ),
    operations: Type.Array(Type.Union([ref(BatchCreateSchema), ref(BatchUpdateSchema), ref(BatchCompleteSchema), ref(BatchMoveSchema), ref(BatchDeleteSchema)]), {
      minItems: 1,
      maxItems: BATCH_MAX,
      description: `1 to ${BATCH_MAX} operations, run in order`,
      'x-error-message': { minItems: `must hold 1 to ${BATCH_MAX} operations`, maxItems: `must hold 1 to ${BATCH_MAX} operations` },
    }),
  },
  {
    $id: 'BatchRequest',
    title: 'BatchRequest',
    description:
      'Operations on tasks, each one answered as its own route would answer it. An operation names its task by id or by uid (a task created by an earlier operation of the batch too).',
    examples: [
      {
        atomic: true,
        operations: [
          { op: 'create', task: { title: 'Pack', uid: 'trip-pack' } },
          { op: 'create', task: { title: 'Passport', uid: 'trip-passport' } },
          { op: 'move', uid: 'trip-passport', parent_id: null, after_id: 42 },
          { op: 'complete', id: 41, completed: true },
          { op: 'delete', id: 40 },
        ],
      },
    ],
  },
);
export type BatchRequest = Static<typeof BatchRequestSchema>;

/** One operation's answer: its route's status and body (a task and the route's message, or its error). */
export const BatchResultSchema = Type.Union(
  [
    Type.Object({
      status: Type.Integer({ description: "The route's status", examples: [201] }),
      data: ref(TaskSchema),
      message: Type.String({ description: "The route's message", examples: ['Task created successfully'] }),
    }),
    Type.Object({
      status: Type.Integer({ description: "The route's status", examples: [404] }),
      error: Type.String({ description: 'What went wrong, for people' }),
      code: Type.String({ description: 'What went wrong, for programs', examples: ['NOT_FOUND'] }),
      detail: Type.String({ description: 'The same text as `error`' }),
    }),
  ],
  { $id: 'BatchResult', title: 'BatchResult', description: 'One operation\'s answer, as its own route gives it: `{status, data, message}` or `{status, error, code, detail}`' },
);

/** The named schemas of this resource, for the document's components (plugins/validation.ts). */
export const taskSchemas: TSchema[] = [
  TaskSchema,
  TaskCreateSchema,
  TaskUpdateSchema,
  TaskCompletionSchema,
  TaskMoveSchema,
  TaskCompletionRecordSchema,
  BatchCreateSchema,
  BatchUpdateSchema,
  BatchCompleteSchema,
  BatchMoveSchema,
  BatchDeleteSchema,
  BatchRequestSchema,
  BatchResultSchema,
];


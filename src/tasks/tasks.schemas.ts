import { Type, type Static, type TOptional, type TProperties, type TSchema } from 'typebox';
import { Envelope } from '../http/envelope.js';
import { ref } from '../http/refs.js';
import { NullableText, Text, Timestamp } from '../http/text.js';

export const TITLE_MAX = 200;
export const DESCRIPTION_MAX = 1000;

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

/**
 * THE FIELD LIST: every field a client writes, declared once.
 * - EDITABLE: POST and PUT take them; on POST `title` is required and the others get their
 *   CREATE_DEFAULTS when absent.
 * - SETTABLE: PUT (and PATCH .../complete) only.
 * Everything else derives from these: the request schemas, the response schema, the columns the
 * repository may write (it writes exactly the keys a validated body holds). A new field goes here,
 * into db/schema.ts and into a migration; no other list exists.
 */
const EDITABLE = { title: Title, description: Description };
export const CREATE_DEFAULTS = { description: null } as const satisfies { [K in keyof typeof EDITABLE]?: unknown };
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
    created_at: Timestamp('When the task was created (UTC, ISO 8601 with a Z)'),
    updated_at: Timestamp('When the task last changed (UTC); never goes backwards', ['2026-01-12T10:05:00.456Z']),
  },
  { $id: 'Task', title: 'Task', description: 'A task, as the API sends it' },
);
export type Task = Static<typeof TaskSchema>;

export const TaskCreateSchema = Type.Object(withDefaults(EDITABLE, CREATE_DEFAULTS), {
  $id: 'TaskCreate',
  title: 'TaskCreate',
  description: 'A new task. Fields not listed here (id, user_id, completed, timestamps) are ignored.',
  examples: [{ title: 'Buy milk', description: 'Oat milk, two litres' }],
});
export type TaskCreate = Static<typeof TaskCreateSchema>;

export const TaskUpdateSchema = Type.Partial(Type.Object({ ...EDITABLE, ...SETTABLE }), {
  $id: 'TaskUpdate',
  title: 'TaskUpdate',
  description: 'Any subset of the writable fields; `description: null` clears it. Other fields are ignored.',
  examples: [{ title: 'Buy oat milk', completed: true }],
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

export const ListQuerySchema = Type.Object({
  status: Type.Optional({
    ...Status,
    description: 'all (default), pending or completed; active, open, incomplete and todo mean pending; done and complete mean completed',
    examples: ['pending'],
  }),
  filter: Type.Optional({ ...Status, description: 'Alias of status (status wins when both are given)' }),
});
export type ListQuery = Static<typeof ListQuerySchema>;

export const TaskEnvelopeSchema = Envelope(ref(TaskSchema), 'Task retrieved successfully');
export const TaskListEnvelopeSchema = Envelope(Type.Array(ref(TaskSchema)), 'Tasks retrieved successfully');

/** The named schemas of this resource, for the document's components (plugins/validation.ts). */
export const taskSchemas: TSchema[] = [TaskSchema, TaskCreateSchema, TaskUpdateSchema, TaskCompletionSchema];


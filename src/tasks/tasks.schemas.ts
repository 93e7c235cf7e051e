import { Type, type Static } from 'typebox';

/** Shared atoms. `Unsafe` keeps plain `type: [...]` forms, which serialize fastest. */
export const TITLE_MAX = 200;
export const DESCRIPTION_MAX = 1000;
export const ID_MAX = 2_147_483_647;
/**
 * Text PostgreSQL can store: no NUL, no unpaired UTF-16 surrogate (ajv matches with the `u` flag,
 * so a proper pair, an emoji, is one code point and passes).
 */
export const STORABLE_TEXT = '^[^\\u0000\\uD800-\\uDFFF]*$';

const Timestamp = Type.Unsafe<Date | string>({
  type: 'string',
  format: 'date-time',
  description: 'UTC, ISO 8601 with a Z',
  examples: ['2026-01-12T10:00:00.123Z'],
});

const Title = Type.String({
  minLength: 1,
  maxLength: TITLE_MAX,
  pattern: STORABLE_TEXT,
  description: `1 to ${TITLE_MAX} characters (Unicode code points) after trimming`,
  examples: ['Buy milk'],
});

const Description = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  maxLength: DESCRIPTION_MAX,
  pattern: STORABLE_TEXT,
  description: `Up to ${DESCRIPTION_MAX} characters, or null`,
});

export const TaskSchema = Type.Object(
  {
    id: Type.Integer({ minimum: 1, examples: [42] }),
    user_id: Type.String({ examples: ['u_8f2k'] }),
    title: Type.String(),
    description: Description,
    completed: Type.Boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Task', title: 'Task' },
);
export type Task = Static<typeof TaskSchema>;

export const ErrorSchema = Type.Object(
  {
    error: Type.String({ description: 'What went wrong, for people' }),
    code: Type.String({ description: 'What went wrong, for programs', examples: ['VALIDATION_ERROR'] }),
  },
  { $id: 'Error', title: 'Error' },
);

export const UserParamsSchema = Type.Object({
  user_id: Type.String({ minLength: 1, maxLength: 255, description: "Must equal the token's sub" }),
});

export const TaskParamsSchema = Type.Object({
  user_id: Type.String({ minLength: 1, maxLength: 255, description: "Must equal the token's sub" }),
  id: Type.Integer({ minimum: 1, maximum: ID_MAX, description: 'Task id' }),
});

const Status = Type.Unsafe<'all' | 'pending' | 'completed'>({
  type: 'string',
  enum: ['all', 'pending', 'completed'],
});

export const ListQuerySchema = Type.Object({
  status: Type.Optional({ ...Status, description: 'all (default), pending or completed' }),
  filter: Type.Optional({ ...Status, description: 'Alias of status' }),
});

export const CreateTaskSchema = Type.Object(
  {
    title: Title,
    description: Type.Optional(Description),
  },
  { additionalProperties: false, description: 'Unknown fields are ignored' },
);
export type CreateTask = Static<typeof CreateTaskSchema>;

export const UpdateTaskSchema = Type.Object(
  {
    title: Type.Optional(Title),
    description: Type.Optional(Description),
    completed: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, description: 'Any subset; null clears description; unknown fields are ignored' },
);
export type UpdateTask = Static<typeof UpdateTaskSchema>;

/** No body (or an empty one) toggles; `{completed}` sets. */
export const CompleteTaskSchema = Type.Unsafe<{ completed?: boolean } | null>({
  anyOf: [
    { type: 'null' },
    {
      type: 'object',
      properties: { completed: { type: 'boolean' } },
      additionalProperties: false,
    },
  ],
  description: 'Optional. Without a body the task is toggled; with {"completed": bool} it is set.',
});

export const TaskEnvelopeSchema = Type.Object({ data: TaskSchema, message: Type.String() });
export const TaskListEnvelopeSchema = Type.Object({ data: Type.Array(TaskSchema), message: Type.String() });

/** Error responses a route can give, for the OpenAPI document (serialization of errors is by hand). */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorSchema]));
}

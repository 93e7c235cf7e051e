import type { Database } from '../db/client.js';
import type { TaskRow } from '../db/schema.js';
import { createListQuery, type ListSpec } from './tasks.query.js';
import { CHANGEABLE, CREATABLE, CREATE_DEFAULTS, TaskSchema, type TaskCreate, type TaskUpdate } from './tasks.schemas.js';

/** A listed row: the task, and its value of the page's sort key (for the next cursor). */
export type ListedRow = TaskRow & { sort_key: unknown };

/** The columns every statement returns: the task's fields, whose names are the columns'. */
const COLUMNS = Object.keys(TaskSchema.properties);
const RETURNING = COLUMNS.join(', ');

/**
 * A change's time: the statement's, and strictly later than the task's last change (`updated_at`
 * has millisecond precision; two changes within one millisecond get consecutive milliseconds). The
 * row lock of the UPDATE orders concurrent changes, so `updated_at` never goes backwards; the
 * expression has one value per statement, so `completed_at` gets the same instant.
 */
const NOW = "greatest(statement_timestamp(), updated_at + interval '1 millisecond')";
/** What every change does besides its own columns. */
const CHANGED = `version = version + 1, updated_at = ${NOW}`;

/**
 * SQL only. Every statement takes the user id and filters by it, so no route can reach another
 * user's rows whatever its path says; every write is one statement with RETURNING. The columns
 * written are the keys of the validated body (tasks.schemas.ts declares them once).
 */
export function createTasksRepository(database: Pick<Database, 'rows'>) {
  const run = <T = TaskRow>(text: string, params: unknown[]) => database.rows<T>(text, params);
  const one = async (text: string, params: unknown[]) => (await run(text, params))[0] ?? null;

  const insert = `insert into tasks (user_id, ${CREATABLE.join(', ')}) values ($1, ${CREATABLE.map((_, i) => `$${i + 2}`).join(', ')}) returning ${RETURNING}`;
  const get = `select ${RETURNING} from tasks where user_id = $1 and id = $2`;
  const toggle =
    `update tasks set completed = not completed, completed_at = case when completed then null else ${NOW} end, ${CHANGED} ` +
    `where user_id = $1 and id = $2 returning ${RETURNING}`;
  const remove = `delete from tasks where user_id = $1 and id = $2 returning ${RETURNING}`;

  /** One UPDATE text per set of changed fields, made on first use. */
  const updates = new Map<string, string>();
  const updateText = (fields: readonly string[]) => {
    const key = fields.join(',');
    let text = updates.get(key);
    if (text === undefined) {
      const set = fields.map((f, i) => `${f} = $${i + 3}`);
      const completed = fields.indexOf('completed');
      // Becoming completed stamps completed_at; staying completed keeps it; pending clears it.
      if (completed >= 0) set.push(`completed_at = case when $${completed + 3}::boolean then (case when completed then completed_at else ${NOW} end) end`);
      text = `update tasks set ${[...set, CHANGED].join(', ')} where user_id = $1 and id = $2 returning ${RETURNING}`;
      updates.set(key, text);
    }
    return text;
  };
  const lists = createListQuery(COLUMNS);

  return {
    /** One page in the spec's order; `limit` rows at most. */
    list(spec: ListSpec): Promise<ListedRow[]> {
      const { text, params } = lists.build(spec);
      return run<ListedRow>(text, params);
    },

    get: (userId: string, id: number) => one(get, [userId, id]),

    /** Every creatable field is written: the body's value, or its default. */
    create: async (userId: string, input: TaskCreate) =>
      (await one(insert, [userId, ...CREATABLE.map((f) => input[f] ?? (CREATE_DEFAULTS as Record<string, unknown>)[f] ?? null)])) as TaskRow,

    /** Sets the fields the body holds (and version, updated_at); fields it does not hold are not touched. */
    update(userId: string, id: number, changes: TaskUpdate): Promise<TaskRow | null> {
      const fields = CHANGEABLE.filter((f) => changes[f] !== undefined);
      return one(updateText(fields), [userId, id, ...fields.map((f) => changes[f])]);
    },

    /** Atomic: one UPDATE ... SET completed = NOT completed ... RETURNING. */
    toggle: (userId: string, id: number) => one(toggle, [userId, id]),

    remove: (userId: string, id: number) => one(remove, [userId, id]),
  };
}

export type TasksRepository = ReturnType<typeof createTasksRepository>;

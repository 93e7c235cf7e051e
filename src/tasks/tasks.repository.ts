import type { Database } from '../db/client.js';
import type { TaskRow } from '../db/schema.js';
import { createListQuery, SORT_KEYS, type ListFilters } from './tasks.query.js';
import { CHANGEABLE, CREATABLE, CREATE_DEFAULTS, TaskSchema, type TaskCreate, type TaskUpdate } from './tasks.schemas.js';

export type TaskStatus = 'all' | 'pending' | 'completed';

/** The columns every statement returns: the task's fields, whose names are the columns'. */
const COLUMNS = Object.keys(TaskSchema.properties);
const RETURNING = COLUMNS.join(', ');

/**
 * A change's time: now, and strictly later than the task's last change (`updated_at` has
 * millisecond precision; two changes within one millisecond get consecutive milliseconds). The
 * row lock of the UPDATE orders concurrent changes, so `updated_at` never goes backwards.
 */
const NEXT_UPDATED_AT = "greatest(clock_timestamp(), updated_at + interval '1 millisecond')";

/**
 * SQL only. Every statement takes the user id and filters by it, so no route can reach another
 * user's rows whatever its path says; every write is one statement with RETURNING. The columns
 * written are the keys of the validated body (tasks.schemas.ts declares them once).
 */
export function createTasksRepository(database: Pick<Database, 'rows'>, maxPerList: number) {
  const run = (text: string, params: unknown[]) => database.rows<TaskRow>(text, params);
  const one = async (text: string, params: unknown[]) => (await run(text, params))[0] ?? null;

  const insert = `insert into tasks (user_id, ${CREATABLE.join(', ')}) values ($1, ${CREATABLE.map((_, i) => `$${i + 2}`).join(', ')}) returning ${RETURNING}`;
  const get = `select ${RETURNING} from tasks where user_id = $1 and id = $2`;
  const toggle = `update tasks set completed = not completed, updated_at = ${NEXT_UPDATED_AT} where user_id = $1 and id = $2 returning ${RETURNING}`;
  const remove = `delete from tasks where user_id = $1 and id = $2 returning ${RETURNING}`;
  /** One UPDATE text per set of changed fields (at most 2^fields), made on first use. */
  const updates = new Map<string, string>();
  const updateText = (fields: readonly string[]) => {
    const key = fields.join(',');
    let text = updates.get(key);
    if (text === undefined) {
      const set = [...fields.map((f, i) => `${f} = $${i + 3}`), `updated_at = ${NEXT_UPDATED_AT}`];
      text = `update tasks set ${set.join(', ')} where user_id = $1 and id = $2 returning ${RETURNING}`;
      updates.set(key, text);
    }
    return text;
  };
  const lists = createListQuery(COLUMNS);

  return {
    list(userId: string, status: TaskStatus): Promise<TaskRow[]> {
      const filters: ListFilters = { completed: status === 'all' ? undefined : status === 'completed' };
      const { text, params } = lists.build({ userId, filters, sort: { key: SORT_KEYS.created_at, direction: 'desc' }, limit: maxPerList });
      return run(text, params);
    },

    get: (userId: string, id: number) => one(get, [userId, id]),

    /** Every creatable field is written: the body's value, or its default. */
    create: async (userId: string, input: TaskCreate) =>
      (await one(insert, [userId, ...CREATABLE.map((f) => input[f] ?? (CREATE_DEFAULTS as Record<string, unknown>)[f] ?? null)])) as TaskRow,

    /** Sets the fields the body holds (and updated_at); fields it does not hold are not touched. */
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

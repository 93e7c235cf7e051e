import type { Database, Executor } from '../db/client.js';
import type { TaskRow } from '../db/schema.js';
import { storedPosition } from '../lib/instant.js';
import { createListQuery, type ListSpec } from './tasks.query.js';
import { CHANGEABLE, CREATABLE, CREATE_DEFAULTS, TaskSchema, type TaskCreate, type TaskUpdate } from './tasks.schemas.js';

/** A row a write returns: the task and the user's change sequence number of this change. */
export type WrittenRow = TaskRow & { change_seq: number };
/** A listed row: the task, its value of the page's sort key (for the next cursor), the user's change counter. */
export type ListedRow = TaskRow & { sort_key: unknown; list_seq: number };

/** The sorts whose key is a timestamp, selected as PostgreSQL's text (tasks.query.ts). */
const TIMESTAMP_SORTS = new Set(['created_at', 'updated_at', 'due_at']);

/** If-Match, parsed: any existing version (`*`), or one of these. */
export type VersionMatch = { any: true } | { versions: readonly number[] };

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

export interface TasksRepositoryOptions {
  /** Most tasks a user may keep. */
  maxTasksPerUser: number;
  /** Deletion records kept per user at most (SYNC_MAX_DELETIONS_PER_USER; default 100,000). */
  maxDeletionsPerUser?: number;
}

/**
 * SQL only. Every statement takes the user id and filters by it, so no route can reach another
 * user's rows whatever its path says. Every write is one statement that first takes the next
 * number of the user's change sequence (user_changes: the row lock orders the user's writes, so
 * they commit in sequence order), then writes the task (or its tombstone) stamped with it. The
 * columns written are the keys of the validated body (tasks.schemas.ts declares them once).
 */
export function createTasksRepository(database: Pick<Database, 'rows'>, options: TasksRepositoryOptions) {
  const run = <T>(exec: Executor, text: string, params: unknown[]) => exec.rows<T>(text, params);
  const one = async (exec: Executor, text: string, params: unknown[]) => (await run<WrittenRow>(exec, text, params))[0] ?? null;

  /** The user's next change number, taken only if the task exists (and matches If-Match): `s(seq)`. */
  const nextSeq = (match: string, extra = '') =>
    `with s as (update user_changes set seq = seq + 1${extra} where user_id = $1 and exists (select 1 from tasks where user_id = $1 and id = $2${match}) returning seq)`;
  /** The If-Match condition, its versions being the last parameter ($n). */
  const versionCondition = (m: VersionMatch | undefined, n: number) => (m === undefined || 'any' in m ? '' : ` and version = any($${n}::int[])`);
  const versionParams = (m: VersionMatch | undefined) => (m === undefined || 'any' in m ? [] : [m.versions]);

  const insert = (() => {
    const values = CREATABLE.map((_, i) => `$${i + 3}`).join(', ');
    return (
      'with s as (insert into user_changes as u (user_id, seq, task_count) values ($1, 1, 1) ' +
      'on conflict (user_id) do update set seq = u.seq + 1, task_count = u.task_count + 1 where u.task_count < $2 returning seq) ' +
      `insert into tasks (user_id, ${CREATABLE.join(', ')}, change_seq) select $1, ${values}, s.seq from s ` +
      `returning ${RETURNING}, change_seq`
    );
  })();
  const get = `select ${RETURNING} from tasks where user_id = $1 and id = $2`;
  const version = 'select version from tasks where user_id = $1 and id = $2';

  const cache = new Map<string, string>();
  const memo = (key: string, make: () => string) => {
    let text = cache.get(key);
    if (text === undefined) {
      text = make();
      cache.set(key, text);
    }
    return text;
  };

  /** UPDATE of the given fields ($3...), or the toggle; If-Match versions last. */
  const updateText = (fields: readonly string[] | 'toggle', match: VersionMatch | undefined) =>
    memo(`u:${fields === 'toggle' ? 'toggle' : fields.join(',')}:${match === undefined ? '' : 'any' in match ? '*' : 'v'}`, () => {
      const set: string[] = [];
      let n = 3;
      if (fields === 'toggle') {
        set.push('completed = not completed', `completed_at = case when completed then null else ${NOW} end`);
      } else {
        for (const f of fields) set.push(`${f} = $${n++}`);
        const completed = fields.indexOf('completed');
        // Becoming completed stamps completed_at; staying completed keeps it; pending clears it.
        if (completed >= 0) set.push(`completed_at = case when $${completed + 3}::boolean then (case when completed then completed_at else ${NOW} end) end`);
      }
      const cond = versionCondition(match, n);
      set.push('version = version + 1', `updated_at = ${NOW}`, 'change_seq = (select seq from s)');
      return (
        `${nextSeq(cond)} update tasks set ${set.join(', ')} where user_id = $1 and id = $2${cond} and exists (select 1 from s) ` +
        `returning ${RETURNING}, change_seq`
      );
    });

  /**
   * A user keeps the deletion records of their last `keep` changes at most: each delete drops the
   * older ones (an index range of the primary key, nearly always empty) and moves purged_through up
   * to match, so a cursor from before them is 410 CURSOR_EXPIRED, never a silent gap.
   */
  const keep = Math.trunc(options.maxDeletionsPerUser ?? 100_000);
  const removeText = (match: VersionMatch | undefined) =>
    memo(`d:${match === undefined ? '' : 'any' in match ? '*' : 'v'}`, () => {
      const cond = versionCondition(match, 3);
      return (
        `${nextSeq(cond, `, task_count = task_count - 1, purged_through = greatest(purged_through, seq + 1 - ${keep})`)}, ` +
        `d as (delete from tasks where user_id = $1 and id = $2${cond} and exists (select 1 from s) returning ${RETURNING}), ` +
        't as (insert into task_tombstones (user_id, seq, task_id) select $1, s.seq, d.id from s, d), ' +
        `old as (delete from task_tombstones where user_id = $1 and seq <= (select seq from s) - ${keep}) ` +
        // s without d: another delete of the same task won the race after s counted this one.
        'select d.*, s.seq as change_seq from s left join d on true'
      );
    });
  const lists = createListQuery(COLUMNS);
  /**
   * The page joined to the user's change counter, read in the same statement (one snapshot): the
   * list's ETag is exactly what the page holds, in one round trip, and an empty page still has a
   * row that carries the counter (all task columns null). The outer ORDER BY restates the page's.
   */
  const withSeq = (spec: ListSpec, text: string) =>
    memo(`l:${text}`, () => {
      const dir = spec.sort.direction;
      const field = spec.sort.field;
      // A timestamp's sort_key is text (tasks.query.ts): the column itself gives the order.
      const order =
        field === 'due_at'
          ? `(l.due_at is null), l.due_at ${dir}, l.id ${dir}`
          : field === 'created_at' || field === 'updated_at'
            ? `l.${field} ${dir}, l.id ${dir}`
            : `l.sort_key ${dir}, l.id ${dir}`;
      return (
        'select l.*, c.seq as list_seq from (select coalesce((select seq from user_changes where user_id = $1), 0) as seq) c ' +
        `left join lateral (${text}) l on true order by ${order}`
      );
    });

  return {
    /** One page in the spec's order (`limit` rows at most), and the user's change counter it is as of. */
    async list(spec: ListSpec): Promise<{ rows: ListedRow[]; seq: number }> {
      const { text, params } = lists.build(spec);
      // Planned for its values each time (RunOptions): the best plan depends on the user's tasks.
      const rows = await database.rows<ListedRow>(withSeq(spec, text), params, { planEachTime: true, budgeted: true });
      const seq = Number(rows[0]?.list_seq ?? 0);
      if (rows.length === 1 && rows[0]?.id === null) rows.length = 0;
      else if (TIMESTAMP_SORTS.has(spec.sort.field)) for (const row of rows) row.sort_key = typeof row.sort_key === 'string' ? storedPosition(row.sort_key) : null;
      return { rows, seq };
    },

    get: async (userId: string, id: number) => (await run<TaskRow>(database, get, [userId, id]))[0] ?? null,

    /** The task's current version, or null: tells a 412 from a 404 after a write matched nothing. */
    version: async (userId: string, id: number, exec: Executor = database) =>
      (await run<{ version: number }>(exec, version, [userId, id]))[0]?.version ?? null,

    /** Every creatable field is written: the body's value, or its default. Null: the user has the most tasks allowed. */
    create: (userId: string, input: TaskCreate, exec: Executor = database) =>
      one(exec, insert, [userId, options.maxTasksPerUser, ...CREATABLE.map((f) => input[f] ?? (CREATE_DEFAULTS as Record<string, unknown>)[f] ?? null)]),

    /** Sets the fields the body holds (and version, updated_at); fields it does not hold are not touched. */
    update(userId: string, id: number, changes: TaskUpdate, match?: VersionMatch, exec: Executor = database): Promise<WrittenRow | null> {
      const fields = CHANGEABLE.filter((f) => changes[f] !== undefined);
      return one(exec, updateText(fields, match), [userId, id, ...fields.map((f) => changes[f]), ...versionParams(match)]);
    },

    /** Atomic: one UPDATE ... SET completed = NOT completed ... RETURNING. */
    toggle: (userId: string, id: number, match?: VersionMatch, exec: Executor = database) =>
      one(exec, updateText('toggle', match), [userId, id, ...versionParams(match)]),

    /** Deletes the task and leaves its tombstone (id, seq, time: nothing of its content). */
    async remove(userId: string, id: number, match?: VersionMatch, exec: Executor = database): Promise<WrittenRow | null> {
      const row = await one(exec, removeText(match), [userId, id, ...versionParams(match)]);
      if (row === null || row.id !== null) return row;
      // Counted, but not deleted by this statement: give the count back (the change number stays a gap).
      await run(exec, 'update user_changes set task_count = task_count + 1 where user_id = $1', [userId]);
      return null;
    },
  };
}

export type TasksRepository = ReturnType<typeof createTasksRepository>;

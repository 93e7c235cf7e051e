import { memberMaySql } from '../access/roles.js';
import type { AccessScope } from '../access/scope.js';
import type { Database, Executor } from '../db/client.js';
import type { TaskRow } from '../db/schema.js';
import { storedPosition } from '../lib/instant.js';
import { feedSql, type Told } from '../feed/feed.js';
import { createPageQuery, type PageSpec } from './tasks.query.js';
import { TASK_FEED } from './tasks.feed.js';
import { CHANGEABLE, CREATABLE, CREATE_DEFAULTS, LEVELS_MAX, TaskSchema, type TaskCreate, type TaskUpdate } from './tasks.schemas.js';

/** A row a write returns: the task, and the members told of the change with its number in each one's feed. */
export type WrittenRow = TaskRow & Told;
/** A listed row: the task, its value of the page's sort key (for the next cursor), the user's change counter. */
export type PagedRow = TaskRow & { sort_key: unknown; page_seq: number; page_member?: boolean };

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

/**
 * SQL of the position of the last task of the list `list` under `parent` (SQL; null: the top
 * level), read by task_last_position (migration 0023) with a snapshot taken when it is called: in a
 * create, once the list's feed counters are held, so that creates that waited on each other each go
 * after the one before (the statement's own snapshot is from before the wait).
 */
const lastPosition = (list: string, parent: string) => `task_last_position(${list}, ${parent})`;

/** Which optional inputs a create sends: its statement has the checks and reads of those alone. */
const createShape = (input: TaskCreate) => ({
  parent: input.parent_id != null,
  uid: input.uid != null,
  assignee: input.assignee_id != null,
  position: input.position != null,
});

export interface TasksRepositoryOptions {
  /** Most tasks in the lists a user owns. */
  maxTasksPerUser: number;
  /** Deletion records kept per user at most (SYNC_MAX_DELETIONS_PER_USER; default 100,000). */
  maxDeletionsPerUser?: number;
}

/** A field's value as a statement parameter: jsonb (reminders) goes as its JSON text, which PostgreSQL reads as the column's type. */
export const columnValue = (field: string, value: unknown): unknown => (field === 'reminders' && value != null ? JSON.stringify(value) : value);

/** What the task's version and the caller's role tell after a write matched nothing (a 412, a 403 or a 404). */
export interface Unmatched {
  version: number;
  mayWrite: boolean;
}

/**
 * SQL only. Every statement takes the caller (`$1`, from the scope) and reaches a task only through a
 * list the caller is a member of, with the role the action needs (src/access/roles.ts), so no route
 * can reach another list's tasks whatever its path or ids say. Every write is one statement: it locks
 * the feed counters of the list's members in user_id order, takes each one's next number, writes
 * the task and records the change in each member's feed (src/sync/feed.ts), so every member's feed
 * commits in sequence order. The columns written are the keys of the validated body
 * (tasks.schemas.ts declares them once).
 */
export function createTasksRepository(database: Pick<Database, 'rows'>, options: TasksRepositoryOptions) {
  const run = <T>(exec: Executor, text: string, params: unknown[]) => exec.rows<T>(text, params);
  const one = async (exec: Executor, text: string, params: unknown[]) => (await run<WrittenRow>(exec, text, params))[0] ?? null;

  /** The If-Match condition, its versions being the last parameter ($n). */
  const versionCondition = (m: VersionMatch | undefined, n: number) => (m === undefined || 'any' in m ? '' : ` and version = any($${n}::int[])`);
  const versionParams = (m: VersionMatch | undefined) => (m === undefined || 'any' in m ? [] : [m.versions]);
  /**
   * CTE `target`: the task $2 if the caller may write its list (and it matches If-Match): the one
   * place a write decides access. The write itself re-checks the list and the version under its row
   * lock, so a task moved or changed meanwhile is not written.
   */
  const target = (cond: string) =>
    `target as (select id, list_id from tasks t where id = $2${cond} and ${memberMaySql('task.write', 't.list_id', '$1')})`;

  const cache = new Map<string, string>();
  const memo = (key: string, make: () => string) => {
    let text = cache.get(key);
    if (text === undefined) {
      text = make();
      cache.set(key, text);
    }
    return text;
  };

  /**
   * The create: in the list $L if the caller may write it, under the parent $P (a task of that list
   * of level 4 at most) when named, assigned to a member of the list or nobody, with a uid not in
   * use; placed after the last sibling unless a position is given (task_position_after: migration
   * 0007, the package's generateKeyBetween(last, null)). A check that fails writes nothing and the
   * statement answers no task; the route asks why (createRefusal). A uid taken by a create that
   * committed meanwhile (ON CONFLICT) was counted: `counted_owner` says whose count to give back.
   * One text per combination of the optional inputs sent (parent, uid, assignee, position), each
   * holding only the checks and reads its inputs need: PostgreSQL initialises every part of a
   * statement at each execution, and once more for the whole statement when the write waited for
   * a counter another write held (EvalPlanQual), so parts that cannot apply still cost. Every text
   * takes the same parameters.
   */
  const insertText = (has: { parent: boolean; uid: boolean; assignee: boolean; position: boolean }) =>
    memo(`c:${+has.parent}${+has.uid}${+has.assignee}${+has.position}`, () => {
      const values = CREATABLE.map((_, i) => `$${i + 3}`).join(', ');
      const n = CREATABLE.length + 3;
      const [list, uid, parent, position, assignee] = [`$${n}::int`, `$${n + 1}::text`, `$${n + 2}::int`, `$${n + 3}::text`, `$${n + 4}::text`];
      const checks = [memberMaySql('task.write', list, '$1')];
      if (has.parent) checks.push(`(select count(*) from anc) between 1 and ${LEVELS_MAX - 1}`);
      if (has.assignee) checks.push(`exists (select 1 from list_members a where a.list_id = ${list} and a.user_id = ${assignee})`);
      if (has.uid) checks.push(`not exists (select 1 from tasks u where u.uid = ${uid})`);
      const after = `task_position_after(${lastPosition(list, has.parent ? parent : 'null')})`;
      return (
        (has.parent
          ? `with recursive anc(id, parent_id, level) as (select id, parent_id, 1 from tasks where id = ${parent} and list_id = ${list} ` +
            `union all select p.id, p.parent_id, anc.level + 1 from tasks p join anc on p.id = anc.parent_id where anc.level < ${LEVELS_MAX + 1}), `
          : 'with ') +
        `w as (select ${list} as list_id where ${checks.join(' and ')}), ` +
        // The list's owner keeps at most $2 tasks in the lists they own, whoever creates them.
        `${feedSql.advance('select list_id from w', '1', '$2::int')}, ` +
        `t as (insert into tasks (user_id, list_id, uid, parent_id, position, assignee_id, ${CREATABLE.join(', ')}) ` +
        `select $1, ${list}, ${has.uid ? uid : `coalesce(${uid}, gen_random_uuid()::text)`}, ${parent}, ` +
        `${has.position ? position : `coalesce(${position}, ${after})`}, ` +
        `${assignee}, ${values} where exists (select 1 from fan_s) on conflict (uid) do nothing returning ${RETURNING}), ` +
        `${feedSql.record(TASK_FEED, 't', false)} ` +
        `select t.*, ${feedSql.told}, (select user_id from fan_s where owner) as counted_owner from (select 1) one left join t on true`
      );
    });
  /**
   * Several creates of a batch in one statement, as the same creates one after another would make
   * them, when nothing of the list's tree is involved: all in the list $4, at the top level, each
   * after the one before (the package's keys chained from the list's last top-level task), ids in
   * order. $3: the bodies (every creatable field, its uid, its assignee), in order; $5: how many.
   * All or nothing: the caller's role, every assignee, every uid and the list owner's limit for all
   * of them are checked first, and a check that fails writes nothing (the batch then runs them one
   * by one, which says which one and why). Each task is its own change in every member's feed,
   * numbered in order. A uid taken by a create that committed meanwhile is left out (ON CONFLICT);
   * `fanned` says the counters moved, and the caller gives back the count of what is missing.
   */
  const insertMany = (() => {
    const last = lastPosition('$4::int', 'null');
    return (
      'with recursive b as (select * from jsonb_populate_recordset(null::tasks, $3::jsonb) with ordinality), ' +
      `w as (select $4::int as list_id where ${memberMaySql('task.write', '$4::int', '$1')} ` +
      'and not exists (select 1 from b where b.assignee_id is not null and not exists (select 1 from list_members a where a.list_id = $4::int and a.user_id = b.assignee_id)) ' +
      'and not exists (select 1 from tasks u where u.uid in (select b.uid from b))), ' +
      `${feedSql.advance('select list_id from w', '$5::int', '$2::int', '$5::int')}, ` +
      `pos(i, k) as (select 1::bigint, task_position_after(${last}) union all select pos.i + 1, task_position_after(pos.k) from pos where pos.i < $5), ` +
      `t as (insert into tasks (user_id, list_id, uid, parent_id, position, assignee_id, ${CREATABLE.join(', ')}) ` +
      `select $1, $4::int, b.uid, null, pos.k, b.assignee_id, ${CREATABLE.map((c) => `b.${c}`).join(', ')} from b join pos on pos.i = b.ordinality ` +
      `where exists (select 1 from fan_s) order by b.ordinality on conflict (uid) do nothing returning ${RETURNING}), ` +
      'tn as (select t.*, b.ordinality as ord from t join b on b.uid = t.uid), ' +
      `${feedSql.record(TASK_FEED, 'tn', false, 'fan_s.seq - $5 + tn.ord')} ` +
      'select tn.*, array(select user_id from fan_s order by user_id) as told_users, array(select seq - $5 + tn.ord from fan_s order by user_id) as told_seqs, ' +
      '(select user_id from fan_s where owner) as counted_owner, exists (select 1 from fan_s) as fanned from (select 1) one left join tn on true order by tn.ord'
    );
  })();
  /** Why a create wrote nothing (the failure path only): each check of the create, fresh. */
  const createRefusalText =
    `with recursive anc(id, parent_id, level) as (select id, parent_id, 1 from tasks where id = $3::int and list_id = $2::int ` +
    `union all select p.id, p.parent_id, anc.level + 1 from tasks p join anc on p.id = anc.parent_id where anc.level < ${LEVELS_MAX + 1}) ` +
    `select (select role from list_members where list_id = $2::int and user_id = $1) as role, ` +
    `(select count(*)::int from anc) as parent_level, ` +
    `($4::text is null or exists (select 1 from list_members a where a.list_id = $2::int and a.user_id = $4::text)) as assignee_ok, ` +
    `($5::text is not null and exists (select 1 from tasks where uid = $5::text)) as uid_taken`;
  const readable = (t: string) => `exists (select 1 from list_members r where r.list_id = ${t}.list_id and r.user_id = $1)`;
  const get = `select ${RETURNING} from tasks t where id = $2 and ${readable('t')}`;
  const unmatchedText = `select version, ${memberMaySql('task.write', 't.list_id', '$1')} as "mayWrite" from tasks t where id = $2 and ${readable('t')}`;

  /** UPDATE of the given fields ($3...), or the toggle; If-Match versions last. */
  const updateText = (fields: readonly string[] | 'toggle', match: VersionMatch | undefined) =>
    memo(`u:${fields === 'toggle' ? 'toggle' : fields.join(',')}:${match === undefined ? '' : 'any' in match ? '*' : 'v'}`, () => {
      const set: string[] = [];
      let n = 3;
      if (fields === 'toggle') {
        set.push('completed = not completed', `completed_at = case when completed then null else ${NOW} end`);
      } else {
        // due_at, the zone or the rule changed (not only sent again): due_at's own local time is the
        // series' again (recurrence_wall_time, migration 0017). SET's right-hand sides read the old row.
        const series: string[] = [];
        for (const f of fields) {
          if (f === 'due_at' || f === 'time_zone' || f === 'recurrence') series.push(`${f} is not distinct from $${n}`);
          set.push(`${f} = $${n++}`);
        }
        if (series.length > 0) set.push(`recurrence_wall_time = case when ${series.join(' and ')} then recurrence_wall_time end`);
        const completed = fields.indexOf('completed');
        // Becoming completed stamps completed_at; staying completed keeps it; pending clears it.
        if (completed >= 0) set.push(`completed_at = case when $${completed + 3}::boolean then (case when completed then completed_at else ${NOW} end) end`);
      }
      const cond = versionCondition(match, n);
      set.push('version = version + 1', `updated_at = ${NOW}`);
      return (
        `with ${target(cond)}, ${feedSql.advance('select list_id from target')}, ` +
        `t as (update tasks set ${set.join(', ')} where id = $2 and list_id = (select list_id from target)${cond} and exists (select 1 from fan_s) returning ${RETURNING}), ` +
        `${feedSql.record(TASK_FEED, 't', false)} ` +
        `select t.*, ${feedSql.told} from t`
      );
    });

  /**
   * Each member keeps the deletion records of their last `keep` changes at most: each delete drops
   * the older ones (a range of a partial index of deletion records, nearly always empty) and moves
   * purged_through up to match, so a cursor from before them is 410 CURSOR_EXPIRED, never a silent gap.
   */
  const keep = Math.trunc(options.maxDeletionsPerUser ?? 100_000);
  const removeText = (match: VersionMatch | undefined) =>
    memo(`d:${match === undefined ? '' : 'any' in match ? '*' : 'v'}`, () => {
      const cond = versionCondition(match, 3);
      return (
        `with ${target(cond)}, ` +
        `${feedSql.fanOut('select list_id from target', 'true', `, task_count = u.task_count - fan_m.owner::int, purged_through = greatest(u.purged_through, u.seq + 1 - ${keep})`)}, ` +
        `d as (delete from tasks where id = $2 and list_id = (select list_id from target)${cond} and exists (select 1 from fan_s) returning *), ` +
        // Into the trash (migration 0014), whole. This delete takes no subtree: the routes use tasks.tree.ts's.
        'tr as (insert into trashed_tasks (id, root_id, list_id, deleted_by, data) select d.id, d.id, d.list_id, $1, to_jsonb(d) from d), ' +
        `${feedSql.record(TASK_FEED, 'd', true)}, ` +
        `old as (delete from feed_entries e using fan_s where e.user_id = fan_s.user_id and e.deleted and e.seq <= fan_s.seq - ${keep}) ` +
        // Counted without d: another delete of the same task won the race after fan_s counted this one.
        `select ${COLUMNS.map((c) => `d.${c}`).join(', ')}, ${feedSql.told}, (select user_id from fan_s where owner) as counted_owner from (select 1) one left join d on true`
      );
    });
  const pages = createPageQuery(COLUMNS);
  /**
   * The page joined to the user's change counter, read in the same statement (one snapshot): the
   * page's ETag is exactly what the page holds, in one round trip, and an empty page still has a
   * row that carries the counter (all task columns null). The outer ORDER BY restates the page's.
   */
  const withSeq = (spec: PageSpec, text: string, listParam: number | undefined) =>
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
        'select l.*, c.seq as page_seq, c.member as page_member from (select coalesce((select seq from user_changes where user_id = $1), 0) as seq, ' +
        `${listParam === undefined ? 'true' : `exists (select 1 from list_members where user_id = $1 and list_id = $${listParam}::int)`} as member) c ` +
        `left join lateral (${text}) l on true order by ${order}`
      );
    });

  return {
    /** One page in the spec's order (`limit` rows at most), and the user's change counter it is as of. */
    /** `member`: false when the page names a list the caller is not a member of (a 404). */
    async page(spec: PageSpec): Promise<{ rows: PagedRow[]; seq: number; member: boolean }> {
      const { text, params, listParam, planEachTime } = pages.build(spec);
      // Planned for its values each time when the shape's best plan depends on the user's tasks (tasks.query.ts, plannedEachTime).
      const rows = await database.rows<PagedRow>(withSeq(spec, text, listParam), params, { planEachTime: planEachTime === true, budgeted: true });
      const seq = Number(rows[0]?.page_seq ?? 0);
      const member = rows[0]?.page_member !== false;
      if (rows.length === 1 && rows[0]?.id === null) rows.length = 0;
      else if (TIMESTAMP_SORTS.has(spec.sort.field)) for (const row of rows) row.sort_key = typeof row.sort_key === 'string' ? storedPosition(row.sort_key) : null;
      return { rows, seq, member };
    },

    get: async (scope: AccessScope, id: number) => (await run<TaskRow>(database, get, [scope.userId, id]))[0] ?? null,

    /** The id of the task with this uid, if the caller can see it (a batch operation that names its task by uid). */
    idOfUid: async (scope: AccessScope, uid: string, exec: Executor = database): Promise<number | null> =>
      (await run<{ id: number }>(exec, `select id from tasks t where uid = $2 and ${readable('t')}`, [scope.userId, uid]))[0]?.id ?? null,

    /**
     * The completions of a task the caller can see, newest first, `limit` + 1 of them from before the
     * completion `before` (a cursor); null when the caller cannot see the task.
     */
    async completions(scope: AccessScope, id: number, limit: number, before: number | null) {
      const rows = await run<{ id: string | null; occurrence_due_at: string; completed_at: string; completed_by: string }>(
        database,
        `select c.id, c.occurrence_due_at, c.completed_at, c.completed_by from (select 1) one join tasks t on t.id = $2 and ${readable('t')} ` +
          'left join lateral (select id, occurrence_due_at, completed_at, completed_by from task_completions where task_id = t.id and ($3::bigint is null or id < $3::bigint) ' +
          'order by id desc limit $4) c on true',
        [scope.userId, id, before, limit + 1],
      );
      if (rows.length === 0) return null;
      return rows.filter((r) => r.id !== null).map((r) => ({ ...r, id: Number(r.id) }));
    },

    /**
     * After a write matched nothing: the task's version and whether the caller may write it, or null
     * when the caller cannot see it (a 404).
     */
    unmatched: async (scope: AccessScope, id: number, exec: Executor = database) =>
      (await run<Unmatched>(exec, unmatchedText, [scope.userId, id]))[0] ?? null,

    /**
     * Every creatable field is written: the body's value, or its default; in the list named, else the
     * caller's Inbox. Null: nothing was written (createRefusal says why).
     */
    async create(scope: AccessScope, input: TaskCreate, exec: Executor = database): Promise<WrittenRow | null> {
      const row = (
        await run<WrittenRow & { counted_owner: string | null }>(exec, insertText(createShape(input)), [
          scope.userId,
          options.maxTasksPerUser,
          ...CREATABLE.map((f) => columnValue(f, input[f] ?? (CREATE_DEFAULTS as Record<string, unknown>)[f] ?? null)),
          input.list_id ?? scope.inboxId,
          input.uid ?? null,
          input.parent_id ?? null,
          input.position ?? null,
          input.assignee_id ?? null,
        ])
      )[0];
      if (row === undefined || row.id !== null) return row ?? null;
      // Counted, but the uid was taken meanwhile: give the count back (the change numbers stay gaps).
      if (row.counted_owner !== null) await run(exec, 'update user_changes set task_count = task_count - 1 where user_id = $1', [row.counted_owner]);
      return null;
    },

    /**
     * Creates in one statement (insertMany): null when a check failed and nothing was written; else
     * the rows written, in order (one left out where its uid was taken meanwhile: its count given back).
     */
    async createMany(scope: AccessScope, inputs: (TaskCreate & { uid: string })[], exec: Executor = database): Promise<WrittenRow[] | null> {
      const list = inputs[0]?.list_id ?? scope.inboxId;
      const bodies = inputs.map((input) => ({
        ...Object.fromEntries(CREATABLE.map((f) => [f, input[f] ?? (CREATE_DEFAULTS as Record<string, unknown>)[f] ?? null])),
        uid: input.uid,
        assignee_id: input.assignee_id ?? null,
      }));
      type Row = WrittenRow & { ord: string | null; counted_owner: string | null; fanned: boolean };
      const rows = await run<Row>(exec, insertMany, [scope.userId, options.maxTasksPerUser, JSON.stringify(bodies), list, inputs.length]);
      const first = rows[0];
      if (first === undefined || !first.fanned) return null;
      const written = rows.filter((r) => r.id !== null).map(({ ord: _o, counted_owner: _c, fanned: _f, ...row }) => row as WrittenRow);
      const missing = inputs.length - written.length;
      // Counted, but a uid was taken meanwhile: give its count back (its change numbers stay gaps).
      if (missing > 0 && first.counted_owner !== null) {
        await run(exec, 'update user_changes set task_count = task_count - $2 where user_id = $1', [first.counted_owner, missing]);
      }
      return written;
    },

    /** What stopped a create: the caller's role in the list, the parent's level (0: not in the list), the assignee, the uid. */
    createRefusal: async (scope: AccessScope, input: TaskCreate, exec: Executor = database) =>
      (
        await run<{ role: string | null; parent_level: number; assignee_ok: boolean; uid_taken: boolean }>(exec, createRefusalText, [
          scope.userId,
          input.list_id ?? scope.inboxId,
          input.parent_id ?? null,
          input.assignee_id ?? null,
          input.uid ?? null,
        ])
      )[0] as { role: string | null; parent_level: number; assignee_ok: boolean; uid_taken: boolean },

    /** Sets the fields the body holds (and version, updated_at); fields it does not hold are not touched. */
    update(scope: AccessScope, id: number, changes: TaskUpdate, match?: VersionMatch, exec: Executor = database): Promise<WrittenRow | null> {
      const fields = CHANGEABLE.filter((f) => changes[f] !== undefined);
      return one(exec, updateText(fields, match), [scope.userId, id, ...fields.map((f) => columnValue(f, changes[f])), ...versionParams(match)]);
    },

    /** Atomic: one UPDATE ... SET completed = NOT completed ... RETURNING. */
    toggle: (scope: AccessScope, id: number, match?: VersionMatch, exec: Executor = database) =>
      one(exec, updateText('toggle', match), [scope.userId, id, ...versionParams(match)]),

    /** Deletes the task and leaves its tombstone (id, seq, time: nothing of its content). */
    async remove(scope: AccessScope, id: number, match?: VersionMatch, exec: Executor = database): Promise<WrittenRow | null> {
      const row = (await run<WrittenRow & { counted_owner: string | null }>(exec, removeText(match), [scope.userId, id, ...versionParams(match)]))[0];
      if (row === undefined || row.id !== null) return row ?? null;
      // Counted, but not deleted by this statement: give the count back (the change numbers stay gaps).
      if (row.counted_owner !== null) await run(exec, 'update user_changes set task_count = task_count + 1 where user_id = $1', [row.counted_owner]);
      return null;
    },
  };
}

export type TasksRepository = ReturnType<typeof createTasksRepository>;

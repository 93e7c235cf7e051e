import { memberMaySql } from '../access/roles.js';
import type { AccessScope } from '../access/scope.js';
import { inTransaction, type Database, type Executor } from '../db/client.js';
import { ApiError } from '../errors.js';
import { TASK_FEED } from '../tasks/tasks.feed.js';
import type { WrittenRow } from '../tasks/tasks.repository.js';
import { TaskSchema } from '../tasks/tasks.schemas.js';
import type { TrashedTask } from './trash.schemas.js';

export interface TrashRepositoryOptions {
  /** TRASH_RETENTION_DAYS: an entry older than this is gone (purged, and never shown meanwhile). */
  retentionDays: number;
  /** MAX_TASKS_PER_USER: a restore beyond it is 403 TASK_LIMIT_REACHED. */
  maxTasksPerUser: number;
}

export const TRASH_NOT_FOUND = 'Task not found in the trash';

/** The API's fields of a task. */
const COLUMNS = Object.keys(TaskSchema.properties);
/** A trashed row's task as the API shows it (`r`), from its stored row. */
const AS_TASK = `${COLUMNS.map((c) => `r.${c}`).join(', ')}, x.deleted_at`;
/** Rows purged per run of the retention purge, at most. */
const PURGE_BATCH = 1000;

/**
 * SQL of the trash (migration 0014's `trashed_tasks`). An entry (`id = root_id`) is the caller's when
 * it is younger than the retention and either its list was deleted by the caller, or its list stands
 * and the caller may write its tasks (owner, editor): the one place that decides (`mine`), so any other
 * trashed task is a 404 for them. `$1` is always the caller, `$2` the retention in days.
 */
export function createTrashRepository(database: Pick<Database, 'rows' | 'transaction'>, options: TrashRepositoryOptions) {
  const inTx = <T>(exec: Executor, fn: (tx: Executor) => Promise<T>) => inTransaction(database, exec, fn);
  const days = options.retentionDays;
  const fresh = (x: string) => `${x}.deleted_at > statement_timestamp() - $2::float8 * interval '1 day'`;
  const mine = (x: string) =>
    `${x}.id = ${x}.root_id and ${fresh(x)} and (case when ${x}.list_deleted_by is null then ${memberMaySql('task.write', `${x}.list_id`, '$1')} ` +
    `else ${x}.list_deleted_by = $1 end)`;
  const FROM = 'from trashed_tasks x cross join lateral jsonb_populate_record(null::tasks, x.data) r';

  const PAGE =
    `select ${AS_TASK} ${FROM} where ${mine('x')} and ($3::timestamptz is null or (x.deleted_at, x.id) < ($3::timestamptz, $4::int)) ` +
    'order by x.deleted_at desc, x.id desc limit $5';
  const ONE = `select ${AS_TASK} ${FROM} where x.id = $3 and ${mine('x')}`;
  const PURGE_ONE = `with e as (select x.id from trashed_tasks x where x.id = $3 and ${mine('x')}) delete from trashed_tasks t using e where t.root_id = e.id returning t.id`;
  const PURGE_ALL =
    `with e as (select x.id from trashed_tasks x where ${mine('x')}), d as (delete from trashed_tasks t using e where t.root_id = e.id returning t.id, t.root_id) ` +
    'select count(*)::int as purged from e';
  const EXPIRED = `delete from trashed_tasks where id in (select id from trashed_tasks where deleted_at <= statement_timestamp() - $1::float8 * interval '1 day' limit ${PURGE_BATCH})`;

  /** The columns of tasks a restore writes back (all but the generated ones), read once. */
  let columns: Promise<string[]> | undefined;
  const writable = () =>
    (columns ??= database
      .rows<{ name: string }>("select attname as name from pg_attribute where attrelid = 'tasks'::regclass and attnum > 0 and not attisdropped and attgenerated = '' order by attnum", [])
      .then((rows) => rows.map((r) => r.name)));

  /**
   * The restore of the entry $1 into the list $2: each row back with its id, version + 1, its own
   * change in each member's feed (an upsert), the list's owner counting them; the root under its old
   * parent if that parent is in the list, else at the top level; an assignee who is no longer a member
   * unassigned. `app.task_restore` makes the insert a `task.restored` to webhooks (migration 0014).
   */
  const restoreText = (cols: string[]) => {
    const value = (c: string) =>
      c === 'list_id'
        ? '$2::int'
        : c === 'parent_id'
          ? 'case when r.id <> $1 then r.parent_id when exists (select 1 from tasks p where p.id = r.parent_id and p.list_id = $2::int) then r.parent_id end'
          : c === 'assignee_id'
            ? 'case when exists (select 1 from list_members a where a.list_id = $2::int and a.user_id = r.assignee_id) then r.assignee_id end'
            : c === 'version'
              ? 'r.version + 1'
              : c === 'updated_at'
                ? "greatest(statement_timestamp(), r.updated_at + interval '1 millisecond')"
                : `r.${c}`;
    return (
      `with ins as (insert into tasks (${cols.join(', ')}) overriding system value select ${cols.map(value).join(', ')} ` +
      `from trashed_tasks x cross join lateral jsonb_populate_record(null::tasks, x.data) r where x.root_id = $1 returning *), ` +
      'chn as (select ins.id, row_number() over (order by ins.id) as n from ins), cnt as (select count(*)::int as n from ins), ' +
      'fan_s as (update user_changes u set seq = u.seq + cnt.n, ' +
      'task_count = u.task_count + case when u.user_id = (select owner_id from lists where id = $2::int) then cnt.n else 0 end ' +
      'from cnt where u.user_id in (select user_id from list_members where list_id = $2::int) returning u.user_id, u.seq), ' +
      `ft as (insert into feed_entries (user_id, kind, entity_id, seq, deleted) select fan_s.user_id, ${TASK_FEED.id}, chn.id, fan_s.seq - cnt.n + chn.n, false ` +
      'from fan_s, chn, cnt on conflict (user_id, kind, entity_id) do update set seq = excluded.seq, deleted = false, changed_at = now()), ' +
      'gone as (delete from trashed_tasks where root_id = $1) ' +
      `select ${COLUMNS.map((c) => `ins.${c}`).join(', ')}, array(select user_id from fan_s order by user_id) as told_users, ` +
      'array(select seq from fan_s order by user_id) as told_seqs from ins where ins.id = $1'
    );
  };

  return {
    /** One page of the caller's entries, newest first (`limit` + 1 rows: the extra one says there is more). */
    page: (scope: AccessScope, after: { deleted_at: string; id: number } | null, limit: number) =>
      database.rows<TrashedTask>(PAGE, [scope.userId, days, after?.deleted_at ?? null, after?.id ?? null, limit]),

    get: async (scope: AccessScope, id: number, exec: Executor = database) => (await exec.rows<TrashedTask>(ONE, [scope.userId, days, id]))[0] ?? null,

    /** Purges the entry (with its subtree); false when it is not the caller's. */
    purge: async (scope: AccessScope, id: number, exec: Executor = database) => (await exec.rows(PURGE_ONE, [scope.userId, days, id])).length > 0,

    /** Purges every entry of the caller's: how many. */
    purgeAll: async (scope: AccessScope, exec: Executor = database) => (await exec.rows<{ purged: number }>(PURGE_ALL, [scope.userId, days]))[0]?.purged ?? 0,

    /** Purges what is older than the retention, a bounded batch at a time: how many rows. */
    async purgeExpired(): Promise<number> {
      let total = 0;
      for (;;) {
        const n = (await database.rows<{ id: number }>(`${EXPIRED} returning id`, [days])).length;
        total += n;
        if (n < PURGE_BATCH) return total;
      }
    },

    /**
     * Restores the entry: into its list when it stands, else into the caller's Inbox. Throws the
     * contract's errors (404, 403 TASK_LIMIT_REACHED, 409 for a uid in use), having written nothing.
     */
    restore(scope: AccessScope, id: number, exec: Executor): Promise<WrittenRow> {
      return inTx(exec, async (tx) => {
        const [entry] = await tx.rows<{ list_id: number; list_deleted_by: string | null }>(
          `select x.list_id, x.list_deleted_by from trashed_tasks x where x.id = $3 and ${mine('x')}`,
          [scope.userId, days, id],
        );
        if (entry === undefined) throw new ApiError('NOT_FOUND', TRASH_NOT_FOUND);
        const list = entry.list_deleted_by === null ? entry.list_id : scope.inboxId;
        // As every write of a list's tasks: the members' counters first, in user_id order.
        await tx.rows('select u.user_id from user_changes u where u.user_id in (select user_id from list_members where list_id = $1::int) order by u.user_id for update', [
          list,
        ]);
        // Under the lock: still the caller's (a concurrent restore or purge took it: 404), and whether it fits.
        const [check] = await tx.rows<{ n: number; mine: boolean; room: number | null; uid_taken: boolean }>(
          `select (select count(*)::int from trashed_tasks t where t.root_id = $3) as n, ` +
            `exists (select 1 from trashed_tasks x where x.id = $3 and ${mine('x')} and x.list_deleted_by is not distinct from $5::text) as mine, ` +
            '(select $6::int - u.task_count from user_changes u join lists l on l.owner_id = u.user_id where l.id = $4::int) as room, ' +
            "exists (select 1 from trashed_tasks t join tasks k on k.uid = t.data->>'uid' where t.root_id = $3) as uid_taken",
          [scope.userId, days, id, list, entry.list_deleted_by, options.maxTasksPerUser],
        );
        if (check === undefined || !check.mine || check.n === 0) throw new ApiError('NOT_FOUND', TRASH_NOT_FOUND);
        if (check.uid_taken) throw new ApiError('CONFLICT', 'A task in use has the uid of this trashed task (or of one in its subtree): nothing was restored');
        if (check.room !== null && check.room < check.n) {
          throw new ApiError('TASK_LIMIT_REACHED', `The list's owner keeps ${options.maxTasksPerUser} tasks, the most allowed: the restore would exceed it`);
        }
        await tx.rows("select set_config('app.task_restore', 'on', true)", []);
        const [row] = await tx.rows<WrittenRow>(restoreText(await writable()), [id, list]);
        await tx.rows("select set_config('app.task_restore', '', true)", []);
        if (row === undefined) throw new Error('the trashed task was not restored');
        return row;
      });
    },
  };
}

export type TrashRepository = ReturnType<typeof createTrashRepository>;

import type { AccessScope } from '../access/scope.js';
import { inTransaction, type Database, type Executor } from '../db/client.js';
import { feedSql, type Told } from '../feed/feed.js';
import { LIST_FEED, listViewSql } from './lists.feed.js';
import { freshKeys, keyBetween } from './lists.position.js';
import type { List } from './lists.schemas.js';

/** A list as the caller sees it, as read from the database. */
export type ListRow = List;

export interface ListsRepositoryOptions {
  /** Most lists a user owns, the Inbox included (MAX_LISTS_PER_USER). */
  maxListsPerUser: number;
  /** The stored id of the task kind of the feed: a deleted list's tasks are a `delete` each. */
  taskFeedKind: number;
  /** Deletion records kept per user at most (SYNC_MAX_DELETIONS_PER_USER). */
  maxDeletionsPerUser: number;
}

/** Who was told of a write, at which number of their feed: [user, seq] pairs. */
export type TellList = ReadonlyArray<readonly [string, number]>;

const told = (row: Told | undefined): TellList => (row === undefined ? [] : row.told_users.map((u, i) => [u, Number(row.told_seqs[i])] as const));

/** A change's time, strictly later than the list's last one (as for tasks). */
const NOW = "greatest(statement_timestamp(), updated_at + interval '1 millisecond')";

/** Byte order, as fractional-indexing compares its keys (the database's collation would not). */
const BY_POSITION = 'position collate "C"';

/**
 * SQL of lists. Every write runs in a transaction whose first statement locks the feed counters of
 * the list's members (in user_id order, as every write does: src/feed/feed.ts), or the caller's own
 * when only they see the change; what it then reads (the list as the caller sees it, their order, the
 * lists they own) cannot change under it, and each member's feed commits in sequence order.
 */
export function createListsRepository(database: Database, options: ListsRepositoryOptions) {
  /** Runs `fn` in a transaction: `exec`'s own when it is one (Idempotency-Key), else a new one. */
  const inTx = <T>(exec: Executor, fn: (tx: Executor) => Promise<T>): Promise<T> => inTransaction(database, exec, fn);

  const VIEW_ONE = `${listViewSql('$1')} where l.id = $2`;
  const VIEW_ALL =
    'select c.seq as page_seq, v.* from (select coalesce((select seq from user_changes where user_id = $1), 0) as seq) c ' +
    `left join lateral (${listViewSql('$1')}) v on true order by v.${BY_POSITION}, v.id`;

  /** The counters of the list's members, when the caller is one (nothing is locked for a list they cannot see). */
  const LOCK_MEMBERS =
    'select u.user_id from user_changes u where u.user_id in (select user_id from list_members where list_id = $2) ' +
    'and exists (select 1 from list_members where list_id = $2 and user_id = $1) order by u.user_id for update';
  const LOCK_SELF = 'select user_id from user_changes where user_id = $1 for update';

  const view = async (exec: Executor, scope: AccessScope, id: number) => (await exec.rows<ListRow>(VIEW_ONE, [scope.userId, id]))[0] ?? null;

  const CREATE =
    `with l as (insert into lists (owner_id, name) values ($1, $2) returning id), ` +
    `m as (insert into list_members (list_id, user_id, role, position) select id, $1, 'owner', $3 from l), ` +
    `${feedSql.fanOutTo('$1')}, ${feedSql.record(LIST_FEED, 'l', false)} ` +
    `select l.id, ${feedSql.told} from l`;

  /** The name (and the caller's position, when given: $4): a change every member sees. */
  const RENAME =
    `with l as (update lists set name = $3, version = version + 1, updated_at = ${NOW} where id = $2 returning id), ` +
    `p as (update list_members set position = coalesce($4, position) where list_id = $2 and user_id = $1), ` +
    `${feedSql.fanOut('select $2::int')}, ${feedSql.record(LIST_FEED, 'l', false)} ` +
    `select ${feedSql.told}`;

  /** The caller's own position: a change only they see (the list's version stays). */
  const PLACE =
    'with l as (update list_members set position = $3 where list_id = $2 and user_id = $1 returning list_id as id), ' +
    `${feedSql.fanOutTo('$1')}, ${feedSql.record(LIST_FEED, 'l', false)} ` +
    `select ${feedSql.told}`;

  /** A renumbering of the caller's order: each list its own change (its own number) in their feed. */
  const RENUMBER =
    'with v as (select * from unnest($2::int[], $3::text[]) with ordinality as v(list_id, position, n)), ' +
    's as (update user_changes set seq = seq + (select count(*) from v) where user_id = $1 returning user_id, seq), ' +
    'p as (update list_members m set position = v.position from v where m.list_id = v.list_id and m.user_id = $1), ' +
    `f as (insert into feed_entries (user_id, kind, entity_id, seq, deleted) select s.user_id, ${LIST_FEED.id}, v.list_id, s.seq - (select count(*) from v) + v.n, false from s, v ` +
    'on conflict (user_id, kind, entity_id) do update set seq = excluded.seq, deleted = false, changed_at = now()) ' +
    'select array[s.user_id] as told_users, array[s.seq] as told_seqs from s';

  /**
   * Deletes the list $2 and its tasks: every member's counter moves by one per task and one for the
   * list, so each entry has a number of its own (a page of /changes ends between any two); each task
   * is a `delete` and the list a `list_delete` in every member's feed. The owner's task count goes
   * down by the tasks removed; the members' deletion records are bounded as a task's delete does.
   */
  const keep = Math.trunc(options.maxDeletionsPerUser);
  const DELETE =
    'with recursive doomed as (select id, row_number() over (order by id) as n from tasks where list_id = $2), ' +
    'cnt as (select count(*)::int as n from doomed), ' +
    'fan_m as (select u.user_id, (u.user_id = fl.owner_id) as owner from list_members fm join lists fl on fl.id = fm.list_id ' +
    'join user_changes u on u.user_id = fm.user_id where fm.list_id = $2 order by u.user_id for update of u), ' +
    'fan_s as (update user_changes u set seq = u.seq + cnt.n + 1, task_count = greatest(0, u.task_count - case when fan_m.owner then cnt.n else 0 end), ' +
    `purged_through = greatest(u.purged_through, u.seq + cnt.n + 1 - ${keep}) from fan_m, cnt where u.user_id = fan_m.user_id returning u.user_id, u.seq), ` +
    // Into the trash of the user who deleted the list (migration 0014), each under its top-level task;
    // what was already in the trash from this list becomes theirs too.
    'tree as (select id, id as root_id from tasks where list_id = $2 and parent_id is null ' +
    'union all select t.id, tree.root_id from tasks t join tree on t.parent_id = tree.id where t.list_id = $2), ' +
    'dt as (delete from tasks where id in (select id from doomed) returning *), ' +
    'tt as (insert into trashed_tasks (id, root_id, list_id, deleted_by, list_deleted_by, data) ' +
    'select dt.id, coalesce(tree.root_id, dt.id), $2, $1, $1, to_jsonb(dt) from dt left join tree on tree.id = dt.id), ' +
    'ot as (update trashed_tasks set list_deleted_by = $1 where list_id = $2), ' +
    `ft as (insert into feed_entries (user_id, kind, entity_id, seq, deleted) select fan_s.user_id, ${options.taskFeedKind}, doomed.id, fan_s.seq - cnt.n - 1 + doomed.n, true ` +
    'from fan_s, doomed, cnt on conflict (user_id, kind, entity_id) do update set seq = excluded.seq, deleted = true, changed_at = now()), ' +
    `fl as (insert into feed_entries (user_id, kind, entity_id, seq, deleted) select fan_s.user_id, ${LIST_FEED.id}, $2::int, fan_s.seq, true from fan_s ` +
    'on conflict (user_id, kind, entity_id) do update set seq = excluded.seq, deleted = true, changed_at = now()), ' +
    `old as (delete from feed_entries e using fan_s where e.user_id = fan_s.user_id and e.deleted and e.seq <= fan_s.seq - ${keep}), ` +
    'dl as (delete from lists where id = $2 and owner_id = $1 and not is_default) ' +
    `select ${feedSql.told}`;

  /** The caller's lists in their order (position as bytes, then id). */
  const ORDER = `select list_id as id, position from list_members where user_id = $1 order by ${BY_POSITION}, list_id`;
  /** What a create needs: the lists the caller owns and their last position. */
  const OWNED = `select (select count(*)::int from lists where owner_id = $1) as owned, (select max(${BY_POSITION}) from list_members where user_id = $1) as last`;

  return {
    /** Every list the caller is a member of, in their order, and their change counter (the ETag), in one snapshot. */
    async all(scope: AccessScope): Promise<{ rows: ListRow[]; seq: number }> {
      const rows = await database.rows<ListRow & { page_seq: number | string }>(VIEW_ALL, [scope.userId]);
      const seq = Number(rows[0]?.page_seq ?? 0);
      const lists = rows.filter((r) => r.id !== null).map(({ page_seq: _, ...list }) => list as ListRow);
      return { rows: lists, seq };
    },

    get: (scope: AccessScope, id: number, exec: Executor = database) => view(exec, scope, id),

    /**
     * Locks the counters of the list's members (the caller's first) and answers the list as the
     * caller sees it, or null (not a member): every write to a list starts with it, in `run`.
     */
    async lockAndView(tx: Executor, scope: AccessScope, id: number): Promise<ListRow | null> {
      await tx.rows(LOCK_MEMBERS, [scope.userId, id]);
      return view(tx, scope, id);
    },

    /** Runs `fn` in a transaction (see inTransaction). */
    run: inTx,

    /**
     * A new list owned by the caller, at `position` or after their last list; null when they own
     * the most lists allowed. Counted with the caller's counter locked: concurrent creates count in turn.
     */
    async create(tx: Executor, scope: AccessScope, name: string, position: string | undefined): Promise<{ list: ListRow; told: TellList } | null> {
      await tx.rows(LOCK_SELF, [scope.userId]);
      const [owned] = await tx.rows<{ owned: number; last: string | null }>(OWNED, [scope.userId]);
      if ((owned?.owned ?? 0) >= options.maxListsPerUser) return null;
      const place = position ?? keyBetween(owned?.last ?? null, null) ?? freshKeys(1)[0];
      const [row] = await tx.rows<{ id: number } & Told>(CREATE, [scope.userId, name, place]);
      const list = await view(tx, scope, (row as { id: number }).id);
      return { list: list as ListRow, told: told(row) };
    },

    /** Renames (and places, for the caller, when `position` is given). */
    async rename(tx: Executor, scope: AccessScope, id: number, name: string, position: string | undefined): Promise<TellList> {
      return told((await tx.rows<Told>(RENAME, [scope.userId, id, name, position ?? null]))[0]);
    },

    /** The caller's own position of the list. */
    async place(tx: Executor, scope: AccessScope, id: number, position: string): Promise<TellList> {
      return told((await tx.rows<Told>(PLACE, [scope.userId, id, position]))[0]);
    },

    /** The caller's lists in their order. */
    order: async (tx: Executor, scope: AccessScope) => tx.rows<{ id: number; position: string }>(ORDER, [scope.userId]),

    /** Gives the caller's lists, in this order, fresh keys. */
    async renumber(tx: Executor, scope: AccessScope, ids: readonly number[]): Promise<TellList> {
      return told((await tx.rows<Told>(RENUMBER, [scope.userId, ids, freshKeys(ids.length)]))[0]);
    },

    /** Deletes the list and its tasks (the caller's checks made: owner, not the Inbox). */
    async remove(tx: Executor, scope: AccessScope, id: number): Promise<TellList> {
      return told((await tx.rows<Told>(DELETE, [scope.userId, id]))[0]);
    },
  };
}

export type ListsRepository = ReturnType<typeof createListsRepository>;

/**
 * The writes that change more than one task, or a task's place in the tree (API.md, version 3,
 * "Tasks in lists"): completing (a task's pending descendants complete with it), reopening (its
 * completed ancestors reopen), deleting (its descendants go with it), moving (to another parent, to
 * another list with its subtree, between two siblings).
 *
 * Each runs in one transaction, in three steps:
 * 1. **Lock**: the feed counters of every member of the lists involved (the task's, and the target
 *    list of a move), in user_id order, then the task's row. Every write of a list's tasks locks
 *    those counters first (src/feed/feed.ts, fanOut), so while they are held nothing else writes
 *    the list's tasks, and the statements that follow (each with a fresh snapshot, READ COMMITTED)
 *    see the tree as it is: a subtask created, moved or completed meanwhile cannot be missed.
 *    Locking in one order (user_id) means two writes never wait on each other in a cycle.
 * 2. **Read and check** (nothing written yet, so a refusal leaves nothing behind, also inside an
 *    Idempotency-Key transaction, which keeps the refusal as the answer).
 * 3. **Write**: one statement updates (or deletes) every task that changes, each with version + 1,
 *    and records each as its own change in every member's feed (its own sequence number).
 */
import { allows, leastRoleFor, rolesAllowing, type Role } from '../access/roles.js';
import type { AccessScope } from '../access/scope.js';
import { inTransaction, type Database, type Executor } from '../db/client.js';
import { ApiError } from '../errors.js';
import { TASK_FEED } from './tasks.feed.js';
import { keyBetween } from './positions.js';
import { advance, checkRecurrenceNeedsDue, type RepeatFrom } from './recurrence.js';
import { checkRemindersNeedDue, type Reminder } from './reminders.js';
import type { VersionMatch, WrittenRow } from './tasks.repository.js';
import { CHANGEABLE, LEVELS_MAX, TaskSchema, type TaskMove, type TaskUpdate } from './tasks.schemas.js';

const COLUMNS = Object.keys(TaskSchema.properties);
const RETURNING = COLUMNS.join(', ');
/** As in tasks.repository.ts: strictly later than the row's last change. */
const NOW = "greatest(statement_timestamp(), updated_at + interval '1 millisecond')";

export const LIST_NOT_FOUND = 'List not found';
const TASK_NOT_FOUND = 'Task not found';

interface Head {
  id: number;
  list_id: number;
  parent_id: number | null;
  version: number;
  uid: string;
  completed: boolean;
  position: string;
  assignee_id: string | null;
  due_at: string | Date | null;
  recurrence: string | null;
  repeat_from: RepeatFrom;
  time_zone: string | null;
  recurrence_done: number;
  recurrence_wall_time: string | null;
  reminders: Reminder[];
  role: Role | null;
  locked_list: number | null;
}

interface Context {
  subtree: { id: number; completed: boolean; assignee_id: string | null; depth: number }[];
  ancestors: { id: number; completed: boolean; list_id: number; level: number }[] | null;
  dst_role: Role | null;
  dst_members: string[] | null;
  src_owner: string;
  dst_owner: string | null;
  dst_count: number | null;
}

/** A change of one task and what follows from it: the fields a PUT or a PATCH sets, or a move. */
export interface TreeChange {
  changes: TaskUpdate;
  /** PATCH .../complete without a body. */
  toggle?: boolean;
  /** POST .../move: the server places the task (after_id / before_id / first). */
  place?: Pick<TaskMove, 'after_id' | 'before_id'>;
  /** PATCH .../complete with `occurrence`: only while due_at is still this instant. */
  occurrence?: string;
}

/**
 * The rows of completions of a recurring task that moved it on to its next occurrence (it stays
 * pending): the routes answer them with their own completion message.
 */
export const recurred = new WeakSet<object>();

const iso = (v: string | Date) => (v instanceof Date ? v : new Date(v)).toISOString();

const field400 = (message: string) => new ApiError('VALIDATION_ERROR', message);

export function createTaskTree(database: Pick<Database, 'rows' | 'transaction'>, options: { maxTasksPerUser: number; maxDeletionsPerUser?: number }) {
  const keep = Math.trunc(options.maxDeletionsPerUser ?? 100_000);
  const inTx = <T>(exec: Executor, fn: (tx: Executor) => Promise<T>) => inTransaction(database, exec, fn);

  /**
   * Step 1: the counters of the members of the task's list (and of `also`) locked in user_id
   * order, then the task's row; with the caller's role in its list. Null: the caller cannot see it.
   */
  const LOCK = `with h as (select t.list_id from tasks t where t.id = $2),
      l as (select u.user_id from user_changes u where u.user_id in (select user_id from list_members where list_id in ((select list_id from h), $3::int)) order by u.user_id for update)
    select t.id, t.list_id, t.parent_id, t.version, t.uid, t.completed, t.position, t.assignee_id, t.due_at, t.recurrence, t.repeat_from, t.time_zone, t.recurrence_done, t.recurrence_wall_time, t.reminders, (select list_id from h) as locked_list,
      (select role from list_members m where m.list_id = t.list_id and m.user_id = $1) as role
    from tasks t where t.id = $2 and (select count(*) from l) >= 0 for update of t`;

  async function lock(tx: Executor, scope: AccessScope, id: number, also: number | undefined): Promise<Head> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const [head] = await tx.rows<Head>(LOCK, [scope.userId, id, also ?? null]);
      if (head === undefined || head.role === null) throw new ApiError('NOT_FOUND', TASK_NOT_FOUND);
      // Moved to another list between the look-up and the lock: lock that list's members too.
      if (head.locked_list === head.list_id) return head;
    }
    throw new ApiError('CONFLICT', 'The task keeps moving between lists; retry in a moment', { 'retry-after': '1' });
  }

  /** Step 2's reads: the subtree, the ancestors from `parent` up, the target list's role, members and owner. */
  const CONTEXT = `with recursive sub(id, completed, assignee_id, depth) as (
      select id, completed, assignee_id, 0 from tasks where id = $1::int
      union all select t.id, t.completed, t.assignee_id, sub.depth + 1 from tasks t join sub on t.parent_id = sub.id where t.list_id = $2::int and sub.depth < 10),
    anc(id, parent_id, completed, list_id, level) as (
      select id, parent_id, completed, list_id, 1 from tasks where id = $3::int
      union all select t.id, t.parent_id, t.completed, t.list_id, anc.level + 1 from tasks t join anc on t.id = anc.parent_id where anc.level < 10)
    select (select json_agg(json_build_object('id', id, 'completed', completed, 'assignee_id', assignee_id, 'depth', depth) order by depth, id) from sub) as subtree,
      (select json_agg(json_build_object('id', id, 'completed', completed, 'list_id', list_id, 'level', level) order by level) from anc) as ancestors,
      (select role from list_members where list_id = $4::int and user_id = $5) as dst_role,
      (select array_agg(user_id) from list_members where list_id = $4::int) as dst_members,
      (select owner_id from lists where id = $2::int) as src_owner,
      (select owner_id from lists where id = $4::int) as dst_owner,
      (select u.task_count from user_changes u join lists l on l.owner_id = u.user_id where l.id = $4::int) as dst_count`;

  async function context(tx: Executor, scope: AccessScope, head: Head, dst: number, parent: number | null): Promise<Context> {
    const [ctx] = await tx.rows<Context>(CONTEXT, [head.id, head.list_id, parent, dst, scope.userId]);
    return ctx as Context;
  }

  /** The siblings next to a place, in (position, id) order, the task itself left out. */
  const sibling = (dir: 'next' | 'prev' | 'first' | 'last', parent: number | null) => {
    const parentCond = parent === null ? 'parent_id is null' : 'parent_id = $3::int';
    const [op, order] = dir === 'next' || dir === 'first' ? ['>', 'asc'] : ['<', 'desc'];
    const n = parent === null ? 3 : 4;
    const from = dir === 'first' || dir === 'last' ? '' : ` and (position, id) ${op} ($${n}::text, $${n + 1}::int)`;
    // parent_id leads the order, as in tasks_list_parent_position_idx: with `parent_id is null`,
    // `order by position` alone made PostgreSQL sort every top-level task of the list (tasks.repository.ts, last).
    const nulls = order === 'asc' ? 'nulls last' : 'nulls first';
    return `select id, position from tasks where list_id = $1::int and ${parentCond} and id <> $2::int${from} order by parent_id ${order} ${nulls}, position ${order}, id ${order} limit 1`;
  };
  type Sib = { id: number; position: string } | undefined;
  const near = async (tx: Executor, dir: 'next' | 'prev' | 'first' | 'last', list: number, parent: number | null, self: number, from?: Sib) => {
    const params: unknown[] = [list, self, ...(parent === null ? [] : [parent]), ...(dir === 'first' || dir === 'last' ? [] : [from?.position, from?.id])];
    return (await tx.rows<{ id: number; position: string }>(sibling(dir, parent), params))[0];
  };
  /** The first sibling past `from` whose key differs from it (equal keys leave no room in between). */
  async function distinct(tx: Executor, dir: 'next' | 'prev', list: number, parent: number | null, self: number, from: Sib): Promise<Sib> {
    let n = await near(tx, dir, list, parent, self, from);
    while (n !== undefined && from !== undefined && n.position === from.position) n = await near(tx, dir, list, parent, self, n);
    return n;
  }

  /** The position of a placed task (POST .../move), or after the last sibling (a PUT that moves it). */
  async function placement(tx: Executor, scope: AccessScope, id: number, list: number, parent: number | null, place: TreeChange['place']): Promise<string> {
    const anchor = async (field: 'after_id' | 'before_id', anchorId: number) => {
      const [row] = await tx.rows<{ id: number; position: string; list_id: number; parent_id: number | null }>(
        'select t.id, t.position, t.list_id, t.parent_id from tasks t where t.id = $1 and exists (select 1 from list_members m where m.list_id = t.list_id and m.user_id = $2)',
        [anchorId, scope.userId],
      );
      if (row === undefined) throw field400(`${field} must be a task you can see`);
      if (row.id === id || row.list_id !== list || row.parent_id !== parent) throw field400(`${field} must be a sibling of the task where it goes (same list, same parent), not the task itself`);
      return row;
    };
    if (place === undefined) return keyBetween((await near(tx, 'last', list, parent, id))?.position ?? null, null) as string;
    const { after_id: afterId, before_id: beforeId } = place;
    if (afterId != null && beforeId != null) {
      const [a, b] = [await anchor('after_id', afterId), await anchor('before_id', beforeId)];
      const key = keyBetween(a.position, b.position);
      if (key === null) throw field400('before_id must come after after_id among the siblings, with room between them (their positions differ)');
      return key;
    }
    if (afterId != null) {
      const a = await anchor('after_id', afterId);
      const next = await near(tx, 'next', list, parent, id, a);
      if (next === undefined) return keyBetween(a.position, null) as string;
      return keyBetween(a.position, next.position) ?? (keyBetween(a.position, (await distinct(tx, 'next', list, parent, id, a))?.position ?? null) as string);
    }
    if (beforeId != null) {
      const b = await anchor('before_id', beforeId);
      const prev = await near(tx, 'prev', list, parent, id, b);
      if (prev === undefined) return keyBetween(null, b.position) as string;
      return keyBetween(prev.position, b.position) ?? (keyBetween((await distinct(tx, 'prev', list, parent, id, b))?.position ?? null, b.position) as string);
    }
    return keyBetween(null, (await near(tx, 'first', list, parent, id))?.position ?? null) as string;
  }

  /**
   * Step 3's fan-out for changed rows `ch` (a CTE): each member of the lists `$lists` gets one
   * sequence number per task, in id order; `deleted` for those who no longer see them.
   */
  const fanOut = (deleted: string, extraSet: string, listsParam: string, taskCount: string) =>
    `chn as (select ch.*, row_number() over (order by ch.id) as rn from ch), cnt as (select count(*)::int as n from ch), ` +
    `mem as (select user_id, bool_or(list_id = $2::int) as sees from list_members where list_id = any(${listsParam}::int[]) group by user_id), ` +
    `fan_s as (update user_changes u set seq = u.seq + cnt.n${extraSet}, task_count = u.task_count + ${taskCount} ` +
    `from mem, cnt where u.user_id = mem.user_id and cnt.n > 0 returning u.user_id, u.seq, cnt.n, mem.sees), ` +
    `fan_f as (insert into feed_entries (user_id, kind, entity_id, seq, deleted) select fan_s.user_id, ${TASK_FEED.id}, chn.id, fan_s.seq - fan_s.n + chn.rn, ${deleted} from fan_s, chn ` +
    'on conflict (user_id, kind, entity_id) do update set seq = excluded.seq, deleted = excluded.deleted, changed_at = now())';
  const told = 'array(select user_id from fan_s order by user_id) as told_users, array(select seq from fan_s order by user_id) as told_seqs';
  const result = `select ${COLUMNS.map((c) => `chn.${c}`).join(', ')}, ${told} from chn where chn.id = $1`;

  function checkWrite(head: Head, match: VersionMatch | undefined): void {
    if (!allows(head.role as Role, 'task.write')) throw new ApiError('FORBIDDEN', `Changing this list's tasks needs the ${leastRoleFor('task.write')} role`);
    if (match !== undefined && !('any' in match) && !match.versions.includes(head.version)) {
      throw new ApiError('PRECONDITION_FAILED', `The task has changed since the version in If-Match (it is now at version ${head.version})`, {
        etag: `"${head.version}"`,
      });
    }
  }

  /**
   * A completion in one round trip (PATCH .../complete of a task that does not recur): the three
   * steps above in the database function task_complete (migration 0018), whose statements each
   * read the tree as it is once the counters are held. No row: it wrote nothing (a task the caller
   * may not write, at another version, that recurs or moved meanwhile) and `update` says why.
   */
  const quickComplete = `select * from task_complete($1::int, $2::text, $3::boolean, $4::int[], '{${rolesAllowing('task.write').join(',')}}'::list_role[])`;

  return {
    /**
     * PATCH .../complete in one round trip when it can be (task_complete, above): the task as written,
     * or null when the caller must take `update`'s way (nothing was written).
     */
    async quickComplete(scope: AccessScope, id: number, completed: boolean | undefined, match: VersionMatch | undefined, exec: Executor): Promise<WrittenRow | null> {
      const versions = match === undefined || 'any' in match ? null : match.versions;
      const [row] = await exec.rows<WrittenRow>(quickComplete, [id, scope.userId, completed ?? null, versions]);
      return row ?? null;
    },

    /**
     * Runs `fn` in one transaction once the counters of the members of `listId` are locked (step 1
     * without a task): a create under a parent reads the parent's list as it is.
     */
    locked<T>(scope: AccessScope, listId: number, exec: Executor, fn: (tx: Executor) => Promise<T>): Promise<T> {
      return inTx(exec, async (tx) => {
        await tx.rows(
          'select u.user_id from user_changes u where u.user_id in (select user_id from list_members where list_id = $1::int) order by u.user_id for update',
          [listId],
        );
        return fn(tx);
      });
    },

    /**
     * A change of the task `id` with everything that follows from it (cascades, the subtree of a
     * move), in one transaction. Throws the contract's errors, having written nothing.
     */
    update(scope: AccessScope, id: number, change: TreeChange, match: VersionMatch | undefined, exec: Executor): Promise<WrittenRow> {
      const { changes } = change;
      return inTx(exec, async (tx) => {
        const head = await lock(tx, scope, id, changes.list_id);
        checkWrite(head, match);
        if (changes.uid !== undefined && changes.uid !== head.uid) throw field400('uid is immutable: it cannot be changed once the task exists');
        checkRecurrenceNeedsDue(changes.recurrence !== undefined ? changes.recurrence : head.recurrence, changes.due_at !== undefined ? changes.due_at : head.due_at);
        checkRemindersNeedDue(changes.reminders !== undefined ? changes.reminders : head.reminders, changes.due_at !== undefined ? changes.due_at : head.due_at);
        // An occurrence completed already (a retry, a duplicate): the task as it is, nothing written.
        if (change.occurrence !== undefined && (head.due_at === null || Date.parse(iso(head.due_at)) !== Date.parse(change.occurrence))) {
          const [row] = await tx.rows<WrittenRow>(`select ${RETURNING}, array[]::text[] as told_users, array[]::bigint[] as told_seqs from tasks where id = $1`, [id]);
          if (changes.completed === true) recurred.add(row as WrittenRow);
          return row as WrittenRow;
        }
        const dst = changes.list_id ?? head.list_id;
        const moving = dst !== head.list_id;
        if (moving && head.parent_id !== null && changes.parent_id === undefined) {
          throw field400('parent_id is required when a subtask moves to another list: null, or a task of that list');
        }
        const parent = changes.parent_id !== undefined ? changes.parent_id : moving ? null : head.parent_id;
        const asked = change.toggle ? !head.completed : changes.completed;
        // The caller changes the due, the zone or the rule (not only sends them again): due_at's own local
        // time is the series' from now on (recurrence_wall_time, migration 0017).
        const seriesChanged =
          (changes.due_at !== undefined && (changes.due_at === null || head.due_at === null || Date.parse(iso(changes.due_at)) !== Date.parse(iso(head.due_at)))) ||
          (changes.time_zone !== undefined && changes.time_zone !== head.time_zone) ||
          (changes.recurrence !== undefined && changes.recurrence !== head.recurrence);
        // Completing a recurring task while its series goes on: a completion recorded, the task moved
        // on to its next occurrence and kept pending, its subtasks reopened (recurrence.ts).
        const recurrence = changes.recurrence !== undefined ? changes.recurrence : head.recurrence;
        const dueAt = changes.due_at !== undefined ? changes.due_at : head.due_at;
        const next =
          asked === true && !head.completed && recurrence != null && dueAt != null
            ? advance(
                {
                  recurrence,
                  due_at: iso(dueAt),
                  time_zone: changes.time_zone !== undefined ? changes.time_zone : head.time_zone,
                  repeat_from: changes.repeat_from ?? head.repeat_from,
                  recurrence_done: recurrence === head.recurrence ? head.recurrence_done : 0,
                  // A change of the rule, the zone or the due starts the series' time again from due_at.
                  recurrence_wall_time: seriesChanged ? null : head.recurrence_wall_time,
                },
                new Date(),
                'complete',
              )
            : null;
        const completed = next === null ? asked : undefined;
        // A change of completion alone (PATCH .../complete, a PUT of plain fields and completed): its
        // cascade is read by the write itself (the lock is held, so the tree is as the write sees it).
        const inline = !moving && changes.parent_id === undefined && change.place === undefined && changes.assignee_id == null;
        // The ancestors that matter: the new parent's chain (its level, cycles), or today's (a reopen).
        const ctx: Context = inline
          ? { subtree: [], ancestors: [], dst_role: head.role, dst_members: [], src_owner: '', dst_owner: null, dst_count: null }
          : await context(tx, scope, head, dst, parent);
        if (moving) {
          if (ctx.dst_role === null) throw new ApiError('NOT_FOUND', LIST_NOT_FOUND);
          if (!allows(ctx.dst_role, 'task.write')) throw new ApiError('FORBIDDEN', `Adding tasks to that list needs the ${leastRoleFor('task.write')} role`);
        }
        const ancestors = ctx.ancestors ?? [];
        if (!inline && parent !== null) {
          if (ancestors[0]?.list_id !== dst) throw field400('parent_id must be a task of the same list');
          if (ancestors.some((a) => a.id === id)) throw field400('parent_id would make a cycle: a task cannot be under itself or its own subtask');
          const height = Math.max(...ctx.subtree.map((s) => s.depth)) + 1;
          if (ancestors.length + height > LEVELS_MAX) throw field400(`parent_id would make more than ${LEVELS_MAX} levels of subtasks`);
        }
        const members = new Set(ctx.dst_members ?? []);
        if (changes.assignee_id != null && !members.has(changes.assignee_id)) throw field400("assignee_id must be null or a member of the task's list");
        const descendants = ctx.subtree.filter((s) => s.id !== id);
        if (moving && ctx.dst_owner !== ctx.src_owner && (ctx.dst_count ?? 0) + ctx.subtree.length > options.maxTasksPerUser) {
          throw new ApiError('TASK_LIMIT_REACHED', `That list's owner keeps ${options.maxTasksPerUser} tasks, the most allowed: the move would exceed it`);
        }
        const position =
          change.place !== undefined
            ? await placement(tx, scope, id, dst, parent, change.place)
            : changes.position !== undefined
              ? changes.position
              : moving || parent !== head.parent_id
                ? await placement(tx, scope, id, dst, parent, undefined)
                : undefined;

        // What changes besides the task: completions down, reopenings up, the subtree's list.
        const toComplete = completed === true ? descendants.filter((s) => !s.completed).map((s) => s.id) : [];
        const toReopen = completed === false ? ancestors.filter((a) => a.completed && a.list_id === dst).map((a) => a.id) : [];
        const unassign = moving ? descendants.filter((s) => s.assignee_id !== null && !members.has(s.assignee_id)).map((s) => s.id) : [];
        const cascade = [...new Set([...toComplete, ...toReopen, ...(moving ? descendants.map((s) => s.id) : [])])];

        // The task's own SET: the body's plain fields, then its place.
        const params: unknown[] = [id, dst, toComplete, toReopen, unassign, cascade, [...new Set([head.list_id, dst])]];
        const deltaUsers: string[] = [];
        const deltas: number[] = [];
        if (moving && ctx.dst_owner !== ctx.src_owner && ctx.dst_owner !== null) {
          deltaUsers.push(ctx.src_owner, ctx.dst_owner);
          deltas.push(-ctx.subtree.length, ctx.subtree.length);
        }
        params.push(deltaUsers, deltas);
        const p = (v: unknown, cast: string) => {
          params.push(v);
          return `$${params.length}::${cast}`;
        };
        const set: string[] = [];
        for (const f of CHANGEABLE) {
          if (f === 'completed' || changes[f] === undefined || (f === 'due_at' && next !== null)) continue;
          set.push(`${f} = ${f === 'reminders' ? `${p(JSON.stringify(changes[f]), 'text')}::jsonb` : p(changes[f], f === 'tags' ? 'text[]' : f === 'priority' ? 'task_priority' : f === 'due_at' ? 'timestamptz' : 'text')}`);
        }
        if (completed !== undefined) {
          const c = p(completed, 'boolean');
          set.push(`completed = ${c}`, `completed_at = case when ${c} then (case when completed then completed_at else ${NOW} end) end`);
        }
        // COUNT counts the occurrences done since the task became recurring (a new rule starts again).
        const ruleChanged = changes.recurrence !== undefined ? `recurrence is distinct from ${p(changes.recurrence, 'text')}` : 'false';
        if (next !== null) {
          set.push(`due_at = ${p(next.due_at, 'timestamptz')}`, `recurrence_done = case when ${ruleChanged} then 1 else recurrence_done + 1 end`);
          set.push(`recurrence_wall_time = ${p(next.wall_time, 'text')}`);
        } else if (changes.recurrence !== undefined) set.push(`recurrence_done = case when ${ruleChanged} then 0 else recurrence_done end`);
        if (next === null && seriesChanged) set.push('recurrence_wall_time = null');
        if (moving) set.push('list_id = $2::int');
        if (parent !== head.parent_id) set.push(`parent_id = ${p(parent, 'int')}`);
        if (position !== undefined) set.push(`position = ${p(position, 'text')}`);
        if (changes.assignee_id !== undefined) set.push(`assignee_id = ${p(changes.assignee_id, 'text')}`);
        else if (moving && head.assignee_id !== null && !members.has(head.assignee_id)) set.push('assignee_id = null');
        set.push('version = version + 1', `updated_at = ${NOW}`);

        // Read by the write itself when inline: the pending descendants (a completion), the completed ancestors (a reopen).
        const down =
          inline && completed === true
            ? `sub(id, completed, depth) as (select id, completed, 0 from tasks where id = $1 union all select t.id, t.completed, sub.depth + 1 from tasks t ` +
              'join sub on t.parent_id = sub.id where t.list_id = $2::int and sub.depth < 10), down as (select id from sub where depth > 0 and not completed)'
            : 'down as (select null::int as id where false)';
        const up =
          inline && completed === false
            ? `anc(id, parent_id, completed, level) as (select id, parent_id, completed, 0 from tasks where id = $1 union all select t.id, t.parent_id, t.completed, anc.level + 1 ` +
              'from tasks t join anc on t.id = anc.parent_id where anc.level < 10), up as (select id from anc where level > 0 and completed)'
            : 'up as (select null::int as id where false)';
        // A recurring completion: the completed descendants reopen, and the completion is recorded.
        const again =
          next !== null
            ? `rsub(id, completed, depth) as (select id, completed, 0 from tasks where id = $1 union all select t.id, t.completed, rsub.depth + 1 from tasks t ` +
              `join rsub on t.parent_id = rsub.id where t.list_id = ${p(head.list_id, 'int')} and rsub.depth < 10), again as (select id from rsub where depth > 0 and completed)`
            : 'again as (select null::int as id where false)';
        const record =
          next !== null
            ? `, rec as (insert into task_completions (task_id, occurrence_due_at, completed_at, completed_by) ` +
              `select id, ${p(iso(dueAt as string | Date), 'timestamptz')}, updated_at, ${p(scope.userId, 'text')} from t0)`
            : '';
        const [completing, reopening] = ['($3::int[] || array(select id from down))', '($4::int[] || array(select id from up) || array(select id from again))'];
        const text =
          `with recursive ${down}, ${up}, ${again}, t0 as (update tasks set ${set.join(', ')} where id = $1 returning ${RETURNING})${record}, ` +
          `c0 as (update tasks set list_id = $2::int, ` +
          `completed = case when id = any(${completing}) then true when id = any(${reopening}) then false else completed end, ` +
          `completed_at = case when id = any(${completing}) then ${NOW} when id = any(${reopening}) then null else completed_at end, ` +
          `assignee_id = case when id = any($5::int[]) then null else assignee_id end, version = version + 1, updated_at = ${NOW} ` +
          `where id = any($6::int[] || ${completing} || ${reopening}) and id <> $1 returning ${RETURNING}), ` +
          `ch as (select * from t0 union all select * from c0), ` +
          `${fanOut('not fan_s.sees', '', '$7', 'coalesce((select sum(d.delta)::int from unnest($8::text[], $9::int[]) as d(user_id, delta) where d.user_id = u.user_id), 0)')} ${result}`;
        const [row] = await tx.rows<WrittenRow>(text, params);
        if (row === undefined) throw new Error('the locked task was not written');
        if (next !== null) recurred.add(row);
        return row;
      });
    },

    /**
     * POST .../skip: a recurring task moved to the first occurrence after both its due_at and now,
     * no completion recorded (it counts for COUNT). 400 if it does not recur; 409 if its series has ended.
     */
    skip(scope: AccessScope, id: number, match: VersionMatch | undefined, exec: Executor): Promise<WrittenRow> {
      return inTx(exec, async (tx) => {
        const head = await lock(tx, scope, id, undefined);
        checkWrite(head, match);
        if (head.recurrence === null || head.due_at === null) throw field400('The task does not recur: only a task with a recurrence can skip an occurrence');
        const next = advance({ ...head, recurrence: head.recurrence, due_at: iso(head.due_at) }, new Date(), 'skip');
        if (next === null) throw new ApiError('CONFLICT', 'The series has no next occurrence (COUNT or UNTIL): complete or delete the task instead');
        const text =
          `with ch as (update tasks set due_at = $3::timestamptz, recurrence_wall_time = $4::text, recurrence_done = recurrence_done + 1, version = version + 1, updated_at = ${NOW} ` +
          `where id = $1 returning ${RETURNING}), ${fanOut('not fan_s.sees', '', 'array[$2::int]', '0')} ${result}`;
        const [row] = await tx.rows<WrittenRow>(text, [id, head.list_id, next.due_at, next.wall_time]);
        if (row === undefined) throw new Error('the locked task was not written');
        return row;
      });
    },

    /** Deletes the task and its descendants: each one's own deletion record in every member's feed. */
    remove(scope: AccessScope, id: number, match: VersionMatch | undefined, exec: Executor): Promise<WrittenRow> {
      return inTx(exec, async (tx) => {
        const head = await lock(tx, scope, id, undefined);
        checkWrite(head, match);
        // The subtree, read by the delete itself (the lock is held); the list's owner counts them back.
        const text =
          `with recursive sub(id, depth) as (select id, 0 from tasks where id = $1 union all select t.id, sub.depth + 1 from tasks t ` +
          'join sub on t.parent_id = sub.id where t.list_id = $2::int and sub.depth < 10), ' +
          `ch as (delete from tasks where id in (select id from sub) and list_id = $2::int returning *), ` +
          // The trash keeps each row whole (migration 0014), under the task whose delete took it.
          'tr as (insert into trashed_tasks (id, root_id, list_id, deleted_by, data) select ch.id, $1, ch.list_id, $3, to_jsonb(ch) from ch), ' +
          `${fanOut('true', `, purged_through = greatest(u.purged_through, u.seq + cnt.n - ${keep})`, 'array[$2::int]', '(case when u.user_id = (select owner_id from lists where id = $2::int) then -cnt.n else 0 end)')}, ` +
          `old as (delete from feed_entries e using fan_s where e.user_id = fan_s.user_id and e.deleted and e.seq <= fan_s.seq - ${keep}) ${result}`;
        const [row] = await tx.rows<WrittenRow>(text, [id, head.list_id, scope.userId]);
        if (row === undefined) throw new Error('the locked task was not deleted');
        return row;
      });
    },
  };
}

export type TaskTree = ReturnType<typeof createTaskTree>;

/**
 * The page query, composed: filters, one sort order, a keyset position and a limit. The SQL text
 * depends only on the query's shape (which filters, which sort, where the position is), so each
 * shape is built once and cached; a request only binds values. Every query reads the lists the
 * caller (`$1`) is a member of, each by `list_id`, and every index the shapes need leads with
 * list_id (db/schema.ts).
 */
import { readableListsSql } from '../access/roles.js';
import type { AccessScope } from '../access/scope.js';
import type { Priority, SortField } from './tasks.schemas.js';

export type Direction = 'asc' | 'desc';

export interface PageFilters {
  /** completed = this; undefined: both. */
  completed?: boolean | undefined;
  /** The LIKE pattern of `q`: `%` + q with `\ % _` escaped + `%`. */
  like?: string | undefined;
  priorities?: readonly Priority[] | undefined;
  tags?: readonly string[] | undefined;
  dueBefore?: string | undefined;
  dueAfter?: string | undefined;
  /** One list of the caller's only (a list they are not a member of reads nothing: the route says 404). */
  listId?: number | undefined;
  /** The children of this task; null: top-level tasks only. */
  parentId?: number | null | undefined;
  uid?: string | undefined;
  assigneeId?: string | undefined;
}

export interface PageSpec {
  /** Who asks (src/access/): the page holds what they may read. */
  scope: AccessScope;
  filters: PageFilters;
  sort: { field: SortField; direction: Direction };
  /** Rows after this position in the sort order: the last row's sort value (null: no due_at) and id. */
  after?: { value: string | null; id: number } | undefined;
  limit: number;
}

export interface BuiltQuery {
  text: string;
  params: unknown[];
  /** The parameter ($n) holding `filters.listId`, when the query has one. */
  listParam?: number | undefined;
  /** Planned for its values every time (RunOptions.planEachTime): see plannedEachTime. */
  planEachTime?: boolean;
}

/**
 * Whether a page of these filters is planned for its values every time: one that narrows by what a
 * user's tasks hold in very different measure (a word, tags, priorities, a due window, a uid, an
 * assignee), whose best plan depends on the user's tasks. The other shapes (lists, parent, status,
 * a sort and a cursor) read an index in its order whoever asks, so they keep the plan of their
 * prepared statement: planning and parsing were 2/3 of PostgreSQL's time for a page of 50 from one
 * list (bench: list-50 without the list cache, 1,030 -> 1,567 req/s).
 */
const plannedEachTime = (f: PageFilters): boolean =>
  f.like !== undefined || f.tags !== undefined || f.priorities !== undefined || f.dueBefore !== undefined || f.dueAfter !== undefined || f.uid !== undefined || f.assigneeId !== undefined;

/** The SQL of each sort key; due_at is the one that can be null (such tasks come last, both ways). */
const SORT_SQL: Record<SortField, { expr: string; cast: string }> = {
  created_at: { expr: 'created_at', cast: 'timestamptz' },
  updated_at: { expr: 'updated_at', cast: 'timestamptz' },
  due_at: { expr: 'due_at', cast: 'timestamptz' },
  priority: { expr: 'priority', cast: 'task_priority' },
  title: { expr: 'lower(title)', cast: 'text' },
  // COLLATE "C" (the column's): keys compare as bytes.
  position: { expr: 'position', cast: 'text' },
};

/** The sort value of a row, as a cursor keeps it. */
export const SORT_KEY_COLUMN = 'sort_key';

type Binder = (s: PageSpec) => unknown;

/** The columns every list returns: the API's field names (plus the sort key, for the cursor). */
export function createPageQuery(columns: readonly string[]) {
  const shapes = new Map<string, { text: string; binders: Binder[]; listParam?: number | undefined; planEachTime?: boolean }>();

  function shape(spec: PageSpec): string {
    const f = spec.filters;
    const position = spec.after === undefined ? '' : spec.after.value === null ? 'n' : 'v';
    return [
      spec.sort.field,
      spec.sort.direction,
      f.completed === undefined ? '' : 'c',
      f.like === undefined ? '' : 'q',
      f.priorities === undefined ? '' : 'p',
      f.tags === undefined ? '' : 't',
      f.dueBefore === undefined ? '' : 'b',
      f.dueAfter === undefined ? '' : 'a',
      f.listId === undefined ? '' : 'L',
      f.parentId === undefined ? '' : f.parentId === null ? 'P0' : 'P',
      f.uid === undefined ? '' : 'u',
      f.assigneeId === undefined ? '' : 'A',
      position,
    ].join('|');
  }

  function build(spec: PageSpec): { text: string; binders: Binder[]; listParam?: number | undefined } {
    const binders: Binder[] = [(s) => s.scope.userId];
    const param = (get: Binder, cast?: string) => {
      binders.push(get);
      return `$${binders.length}${cast ? `::${cast}` : ''}`;
    };
    const f = spec.filters;
    // Each list of the caller's is read on its own, in index order (every index leads with list_id).
    const where: string[] = ['list_id = lm.list_id'];
    if (f.completed !== undefined) where.push(`completed = ${param((s) => s.filters.completed)}`);
    if (f.like !== undefined) {
      const like = param((s) => s.filters.like);
      // The index narrows on title and description together; the exact test follows.
      where.push(`(title || E'\\x1f' || coalesce(description, '')) ilike ${like}`, `(title ilike ${like} or description ilike ${like})`);
    }
    if (f.priorities !== undefined) where.push(`priority = any(${param((s) => s.filters.priorities, 'task_priority[]')})`);
    if (f.tags !== undefined) where.push(`tags_key @> task_tags_key(${param((s) => s.filters.tags, 'text[]')})`);
    if (f.dueBefore !== undefined) where.push(`due_at < ${param((s) => s.filters.dueBefore, 'timestamptz')}`);
    if (f.dueAfter !== undefined) where.push(`due_at >= ${param((s) => s.filters.dueAfter, 'timestamptz')}`);
    if (f.parentId === null) where.push('parent_id is null');
    else if (f.parentId !== undefined) where.push(`parent_id = ${param((s) => s.filters.parentId, 'int')}`);
    if (f.uid !== undefined) where.push(`uid = ${param((s) => s.filters.uid, 'text')}`);
    if (f.assigneeId !== undefined) where.push(`assignee_id = ${param((s) => s.filters.assigneeId, 'text')}`);
    // One list: the caller's membership of it narrows the lists read (none when not a member).
    const lists = f.listId === undefined ? readableListsSql('$1') : `${readableListsSql('$1')} and list_id = ${param((s) => s.filters.listId, 'int')}`;
    const listParam = f.listId === undefined ? undefined : binders.length;

    const { expr, cast } = SORT_SQL[spec.sort.field];
    const dir = spec.sort.direction;
    const op = dir === 'desc' ? '<' : '>';
    // A timestamp's position as text, exactly as stored (a BC date or infinity included): the
    // repository makes it a cursor's (lib/instant.ts, storedPosition), which reads it back exactly.
    const key = cast === 'timestamptz' ? `${expr}::text` : expr;
    // Across lists (no list_id), each list gives up to a page of narrow rows (the id and what the
    // order needs, from the sort's index), merged; then only the page's rows are read whole: a page
    // of 50 from 20 lists reads 50 tasks, not 1,000 (half the database's time for sort=due_at).
    const narrow = f.listId === undefined;
    const field = spec.sort.field;
    const orderColumn = field === 'due_at' || field === 'created_at' || field === 'updated_at' ? `${field}, ` : '';
    const select = narrow ? `select id, ${orderColumn}${key} as ${SORT_KEY_COLUMN} from tasks` : `select ${columns.join(', ')}, ${key} as ${SORT_KEY_COLUMN} from tasks`;
    const limit = param((s) => s.limit);
    const after = spec.after;
    const position = () => `(${expr}, id) ${op} (${param((s) => s.after?.value, cast)}, ${param((s) => s.after?.id)})`;

    // The caller's lists (src/access/: every member reads), each read by the shape below up to a page,
    // then merged in the page's order: a page costs about `limit` rows a list, however many tasks the
    // lists hold.
    const order =
      field === 'due_at' ? `(p.due_at is null), p.due_at ${dir}, p.id ${dir}` : orderColumn !== '' ? `p.${field} ${dir}, p.id ${dir}` : `p.${SORT_KEY_COLUMN} ${dir}, p.id ${dir}`;
    // The page's narrow rows (`ids`) read whole, each task by its primary key (a LATERAL kept apart
    // by its LIMIT: joined, a page of 1,000 was a hash join over the whole table).
    const whole = (ids: string) =>
      `select ${columns.map((c) => `t.${c}`).join(', ')}, p.${SORT_KEY_COLUMN} from (${ids}) p ` +
      `cross join lateral (select ${columns.join(', ')} from tasks where tasks.id = p.id limit 1) t order by ${order}`;
    /** `inner` read from each of the caller's lists, merged in `orderBy`. */
    const fromLists = (inner: string, orderBy: string) => `select p.* from (${lists}) lm cross join lateral (${inner}) p order by ${orderBy}`;
    const acrossLists = (inner: string) => (narrow ? whole(`${fromLists(inner, order)} limit ${limit}`) : `${fromLists(inner, order)} limit ${limit}`);

    if (spec.sort.field !== 'due_at') {
      const conditions = after ? [...where, position()] : where;
      return { text: acrossLists(`${select} where ${conditions.join(' and ')} order by ${expr} ${dir}, id ${dir} limit ${limit}`), binders, listParam };
    }
    // due_at: the tasks that have one, in order, then those without, by id; each part reads the
    // (list_id, due_at, id) index in order, from the cursor's position.
    const withDue =
      after?.value === null
        ? undefined
        : `(${select} where ${[...where, 'due_at is not null', ...(after ? [position()] : [])].join(' and ')} order by due_at ${dir}, id ${dir} limit ${limit})`;
    // A task without due_at never matches due_before or due_after: the second part would only
    // look for what cannot be there (PostgreSQL does not see that `due_at < $n and due_at is null`
    // is false, and reads every such task of the user, or worse).
    if (withDue !== undefined && (f.dueBefore !== undefined || f.dueAfter !== undefined)) return { text: acrossLists(withDue.slice(1, -1)), binders, listParam };
    const nullId = after?.value === null ? ` and id ${op} ${param((s) => s.after?.id)}` : '';
    // Ordered by due_at (null in every row here) and id, not by id alone: that is the order of the
    // (list_id, due_at, id) index, which PostgreSQL then reads from (list_id, null, cursor id) on;
    // `order by id` alone it cannot match to that index (an IS NULL is not an equality to it), and
    // it walked the primary key through every user's tasks instead.
    const withoutDue = (rows: string) =>
      `(${select} where ${where.join(' and ')} and due_at is null${nullId} order by due_at ${dir}, id ${dir} limit ${rows})`;
    if (withDue === undefined) return { text: acrossLists(withoutDue(limit).slice(1, -1)), binders, listParam };
    if (narrow) {
      // Across lists, the page's dated tasks are merged from every list first, and the undated ones
      // read only for what that leaves of the page: per list, a filtered page with fewer than
      // `limit` dated matches in each list read every list's undated tasks too, though the lists
      // together had dated tasks enough (a filtered page of 50 from 20 lists read all 10k tasks).
      const byDue = `due_at ${dir}, id ${dir}`;
      const rest = `greatest(${limit} - (select count(*) from d), 0)`;
      const ids = `with d as (${fromLists(withDue.slice(1, -1), byDue)} limit ${limit}) select * from d union all (${fromLists(withoutDue(rest).slice(1, -1), byDue)} limit ${rest})`;
      return { text: whole(ids), binders, listParam };
    }
    // The tasks without due_at come after all the others, so they are read only for what the first
    // part left of the page: a LIMIT of 0 reads nothing (a full first part no longer pays for a walk
    // through the user's undated tasks, 3 ms of a filtered page of 50 from 10k tasks).
    return {
      text: acrossLists(
        `with d as ${withDue} select * from (select * from d union all ${withoutDue(`greatest(${limit} - (select count(*) from d), 0)`)}) page ` +
          `order by (due_at is null), due_at ${dir}, id ${dir} limit ${limit}`,
      ),
      binders,
      listParam,
    };
  }

  return {
    build(spec: PageSpec): BuiltQuery {
      const key = shape(spec);
      let built = shapes.get(key);
      if (built === undefined) {
        built = { ...build(spec), planEachTime: plannedEachTime(spec.filters) };
        shapes.set(key, built);
      }
      return { text: built.text, params: built.binders.map((b) => b(spec)), listParam: built.listParam, planEachTime: built.planEachTime };
    },
  };
}

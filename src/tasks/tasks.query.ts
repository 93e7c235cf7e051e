/**
 * The list query, composed: filters, one sort order, a keyset position and a limit. The SQL text
 * depends only on the query's shape (which filters, which sort, whether a position is given), so
 * each shape is built once and cached; a request only binds values. Every query is anchored on
 * `user_id = $1`.
 */

export type Direction = 'asc' | 'desc';

/** A sort key: its SQL expression, which must be NOT NULL (ties break by id in the same direction). */
export interface SortKey {
  readonly expr: string;
}

export interface ListFilters {
  /** completed = this; undefined: both. */
  completed?: boolean | undefined;
}

export interface ListSpec {
  userId: string;
  filters: ListFilters;
  sort: { key: SortKey; direction: Direction };
  /** Rows after this position in the sort order (keyset paging): the last row's key value and id. */
  after?: { value: unknown; id: number } | undefined;
  limit: number;
}

export interface BuiltQuery {
  text: string;
  params: unknown[];
}

/** The columns every list returns: the API's field names. */
export function createListQuery(columns: readonly string[]) {
  const select = `select ${columns.join(', ')} from tasks`;
  const shapes = new Map<string, { text: string; bind: (spec: ListSpec) => unknown[] }>();

  function shape(spec: ListSpec): string {
    return [spec.sort.key.expr, spec.sort.direction, spec.filters.completed === undefined ? '' : 'c', spec.after ? 'a' : ''].join('|');
  }

  function build(spec: ListSpec): { text: string; bind: (s: ListSpec) => unknown[] } {
    const where: string[] = ['user_id = $1'];
    const binders: ((s: ListSpec) => unknown)[] = [(s) => s.userId];
    const param = (get: (s: ListSpec) => unknown) => {
      binders.push(get);
      return `$${binders.length}`;
    };
    if (spec.filters.completed !== undefined) where.push(`completed = ${param((s) => s.filters.completed)}`);
    const { expr } = spec.sort.key;
    const dir = spec.sort.direction;
    if (spec.after) {
      const op = dir === 'desc' ? '<' : '>';
      where.push(`(${expr}, id) ${op} (${param((s) => s.after?.value)}, ${param((s) => s.after?.id)})`);
    }
    const text = `${select} where ${where.join(' and ')} order by ${expr} ${dir}, id ${dir} limit ${param((s) => s.limit)}`;
    return { text, bind: (s) => binders.map((b) => b(s)) };
  }

  return {
    build(spec: ListSpec): BuiltQuery {
      const key = shape(spec);
      let built = shapes.get(key);
      if (built === undefined) {
        built = build(spec);
        shapes.set(key, built);
      }
      return { text: built.text, params: built.bind(spec) };
    },
  };
}

export const SORT_KEYS = {
  created_at: { expr: 'created_at' },
} as const satisfies Record<string, SortKey>;

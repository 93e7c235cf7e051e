'use client';

const EMPTY: Record<'list' | 'all' | 'today' | 'upcoming', string> = {
  list: 'Type a task in the box above and press Enter. Press n to get there from anywhere, ? for every shortcut.',
  all: 'No tasks in any list yet: pick a list on the left and add one.',
  today: 'Nothing due today or overdue. Give a task a due date to plan your day.',
  upcoming: 'Nothing due in the next 7 days. Tasks with a due date show here, by day.',
};

interface Props {
  /** The page's tasks (null while loading). */
  count: number | null;
  pageNo: number;
  hasNext: boolean;
  filtered: boolean;
  readOnly: boolean;
  scope: 'all' | 'today' | 'upcoming' | null;
  onClearFilters: () => void;
}

/** "3 tasks on page 2" (or Loading…), and on an empty first page what to do about it. */
export function TaskCount({ count, pageNo, hasNext, filtered, readOnly, scope, onClearFilters }: Props) {
  if (count === null) return <p className="muted">Loading…</p>;
  return (
    <>
      <p className="muted count" data-testid="count">
        {count === 0
          ? filtered
            ? 'No tasks match these filters'
            : pageNo > 1
              ? 'No more tasks'
              : 'No tasks yet'
          : `${count} ${count === 1 ? 'task' : 'tasks'}${pageNo > 1 || hasNext ? ` on page ${pageNo}` : ''}`}
      </p>
      {count === 0 && pageNo === 1 ? (
        <div className="empty" data-testid="empty">
          {filtered ? (
            <>
              <p>Nothing matches. Try fewer filters.</p>
              <button type="button" onClick={onClearFilters}>
                Clear filters
              </button>
            </>
          ) : (
            <p>{readOnly ? 'This list has no tasks yet.' : EMPTY[scope ?? 'list']}</p>
          )}
        </div>
      ) : null}
    </>
  );
}

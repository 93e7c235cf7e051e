import type { ListQuery } from '@task-api/client';

import { startOfDay } from './dates';

/**
 * What the page shows: one list (`/tasks?list=7`, the Inbox at `/tasks`), or a view across lists:
 * All tasks (`?view=all`), Today (due today or overdue, `?view=today`), Upcoming (the next 7 days,
 * by day, `?view=upcoming`).
 */
export type View = { kind: 'list'; id: number | null } | { kind: 'all' | 'today' | 'upcoming' };

export const VIEW_NAMES = { all: 'All tasks', today: 'Today', upcoming: 'Upcoming' } as const;

/** The first page's query (the toolbar's defaults): newest first, 10 a page. */
export const DEFAULT_QUERY = { sort: '-created_at', limit: 10 } as const satisfies ListQuery;

export function parseView(params: { list?: string | string[]; view?: string | string[] }): View {
  const { list, view } = params;
  if (view === 'all' || view === 'today' || view === 'upcoming') return { kind: view };
  return { kind: 'list', id: typeof list === 'string' && /^[1-9]\d{0,9}$/.test(list) ? Number(list) : null };
}

export function viewHref(view: View, inboxId: number | null): string {
  if (view.kind !== 'list') return `/tasks?view=${view.kind}`;
  return view.id === null || view.id === inboxId ? '/tasks' : `/tasks?list=${view.id}`;
}

/** The query of a view across lists (pending tasks by due date; Today and Upcoming by their days). */
export function viewQuery(kind: 'today' | 'upcoming', now = new Date()): ListQuery {
  if (kind === 'today') return { status: 'pending', sort: 'due_at', limit: 100, due_before: startOfDay(now, 1).toISOString() };
  return { status: 'pending', sort: 'due_at', limit: 100, due_after: startOfDay(now, 1).toISOString(), due_before: startOfDay(now, 8).toISOString() };
}

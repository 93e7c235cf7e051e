import type { List, ListChange, Task } from '@task-api/client';
import type { ReactNode } from 'react';

import type { TaskPageData } from './queries';

/**
 * What TaskApp needs to show one list or a view across lists (shared-lists.tsx gives it): the list's
 * id (the page's `list_id` filter and the new task's list; null across lists), the view (Today,
 * Upcoming, All tasks), whether the user may only read it (a viewer: no quick add, no edit, delete or
 * toggle controls), what to show above the tasks (sharing) and after each task's details (its
 * creator and assignee), and where the event stream's list entries go (TaskApp's one stream asks
 * for them with include=lists).
 */
export interface ListView {
  id: number | null;
  scope?: 'all' | 'today' | 'upcoming';
  title: string;
  readOnly: boolean;
  /** Every list of the user (Move to list, the list of each task in a view across lists). */
  lists: List[];
  bar?: ReactNode;
  /** The header's ☰ button (the sidebar as a drawer on a phone). */
  menu?: ReactNode;
  taskExtra?: (task: Task) => ReactNode;
  onListChange?: (change: ListChange) => void;
  /** The stream is open (again): what changed before it is fetched once. */
  onReady?: () => void;
  /** The first page as the server component fetched it (with the default filters). */
  initialPage?: TaskPageData;
}

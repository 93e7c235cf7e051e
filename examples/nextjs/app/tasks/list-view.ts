import type { ListChange, Task } from '@task-api/client';
import type { ReactNode } from 'react';

/**
 * What TaskApp needs to show one list (shared-lists.tsx gives it): the list's id (the page's
 * `list_id` filter and the new task's list), whether the user may only read it (a viewer: no create
 * form, no edit, delete or toggle controls), what to show above the tasks (the list switcher) and
 * after each task's details (its creator and assignee), and where the event stream's list entries go
 * (TaskApp's one stream asks for them with include=lists).
 */
export interface ListView {
  id: number;
  readOnly: boolean;
  bar?: ReactNode;
  taskExtra?: (task: Task) => ReactNode;
  onListChange?: (change: ListChange) => void;
  /** The stream is open (again): what changed before it is fetched once. */
  onReady?: () => void;
}

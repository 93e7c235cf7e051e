'use client';
import type { List, Task } from '@task-api/client';
import { useDndMonitor, type DragEndEvent } from '@dnd-kit/core';

import { parseDndId } from './dnd';
import type { TaskActions } from './use-task-actions';
import type { Row } from './use-task-tree';

/**
 * Where a dragged task goes (the page's one dnd-kit context, dnd.tsx): dropped on a list of the
 * sidebar, moved there with its subtasks; dropped on a task in My order (`tree`), next to it.
 */
export function useTaskDrop(tasks: Task[] | null, rows: Row[], tree: boolean, lists: List[] | undefined, actions: Pick<TaskActions, 'move' | 'dropOn'>) {
  function onDragEnd({ active, over }: DragEndEvent) {
    const a = parseDndId(active.id);
    const o = parseDndId(over?.id);
    if (a?.kind !== 'task' || !o || a.id === o.id) return;
    const task = (tasks ?? []).find((t) => t.id === a.id);
    if (!task) return;
    if (o.kind === 'list') {
      if (o.id !== task.list_id && lists?.some((l) => l.id === o.id && l.role !== 'viewer')) void actions.move(task, { list_id: o.id, parent_id: null });
      return;
    }
    if (!tree) return;
    const from = rows.findIndex((r) => r.task.id === a.id);
    const to = rows.findIndex((r) => r.task.id === o.id);
    const dragged = rows[from]?.task;
    const target = rows[to]?.task;
    if (!dragged || !target) return;
    actions.dropOn(dragged, target, to > from);
  }

  useDndMonitor({ onDragEnd });
}

'use client';
import type { List, Task, TaskClient } from '@task-api/client';
import { SortableContext, verticalListSortingStrategy } from '@dnd-kit/sortable';
import type { ReactNode } from 'react';

import type { OfflineMode } from '@/lib/offline';

import { dayHeading } from './dates';
import { taskDndId } from './dnd';
import { TaskDetails } from './task-details';
import { TaskRow } from './task-row';
import type { TaskActions } from './use-task-actions';
import type { Row, TaskTree } from './use-task-tree';

interface Props {
  rows: TaskTree;
  actions: TaskActions;
  client: TaskClient;
  offline: OfflineMode;
  /** Every list of the user (Move to list; each task's list in a view across lists). */
  lists: List[];
  /** Across lists: each row names its list. */
  listNames: Map<number, string> | null;
  upcoming: boolean;
  tree: boolean;
  draggable: boolean;
  readOnly: boolean;
  cursorId: number | null;
  onSelect: (id: number) => void;
  onTag: (tag: string) => void;
  taskExtra?: (task: Task) => ReactNode;
}

/**
 * The tasks shown: a row each (the open one as its details), in Upcoming by day, in My order with
 * the completed ones under "Completed (n)"; the rows are dnd-kit sortables.
 */
export function TaskList({ rows, actions, client, offline, lists, listNames, upcoming, tree, draggable, readOnly, cursorId, onSelect, onTag, taskExtra }: Props) {
  const { editing, conflict } = actions;
  const renderRow = ({ task, depth }: Row) => {
    if (editing?.id === task.id) {
      return (
        <TaskDetails
          key={task.id}
          task={editing}
          subtasks={rows.childrenOf.get(task.id) ?? []}
          lists={lists}
          actions={{
            onSave: (e) => void actions.save(e, editing),
            onCancel: actions.closeDetails,
            onMoveToList: (id) => void actions.move(task, { list_id: id, parent_id: null }),
            onIndent: actions.indentOf(task),
            onOutdent: actions.outdentOf(task),
            onAddSubtask: (subtitle) => actions.create({ title: subtitle, parent_id: task.id, ...(task.list_id ? { list_id: task.list_id } : {}) }),
          }}
        />
      );
    }
    const kids = rows.childrenOf.get(task.id);
    return (
      <TaskRow
        key={task.id}
        task={task}
        depth={depth}
        progress={kids?.length ? { done: kids.filter((k) => k.completed).length, total: kids.length } : null}
        collapsed={rows.collapsed.has(task.id)}
        onCollapse={() => rows.toggleCollapsed(task.id)}
        readOnly={readOnly}
        sortable={draggable}
        cursor={cursorId === task.id}
        mode={offline}
        client={client}
        onToggle={(completed) => actions.toggle(task, completed)}
        onEdit={() => {
          onSelect(task.id);
          actions.openDetails(task.id);
        }}
        onDelete={() => actions.remove(task)}
        onTag={onTag}
        onSelect={() => onSelect(task.id)}
        onChanged={actions.load}
        extra={taskExtra?.(task)}
        listName={listNames?.get(task.list_id)}
        conflict={conflict?.id === task.id ? conflict.text : undefined}
      />
    );
  };

  let body;
  if (upcoming) {
    const days = new Map<string, Row[]>();
    for (const r of rows.visible) {
      const day = r.task.due_at ? dayHeading(r.task.due_at) : '';
      days.set(day, [...(days.get(day) ?? []), r]);
    }
    body = [...days].map(([day, dayRows]) => (
      <section key={day} className="day" data-testid="day" aria-label={day}>
        <h3 data-testid="day-heading">{day}</h3>
        <ul className="tasks">{dayRows.map(renderRow)}</ul>
      </section>
    ));
  } else {
    const { done, hideCompleted } = rows;
    body = (
      <>
        <ul className="tasks" data-testid="tasks">
          {rows.pending.map(renderRow)}
        </ul>
        {done.length > 0 ? (
          <section className="done" aria-label="Completed">
            <button type="button" className="link done-toggle" aria-expanded={!hideCompleted} onClick={rows.toggleHideCompleted}>
              {hideCompleted ? '▸' : '▾'} Completed ({done.filter((r) => r.depth === 0).length})
            </button>
            {hideCompleted ? null : (
              <ul className="tasks" data-testid="done-tasks">
                {done.map(renderRow)}
              </ul>
            )}
          </section>
        ) : null}
      </>
    );
  }

  return (
    <SortableContext id="tasks" items={rows.visible.map((r) => taskDndId(r.task.id))} strategy={tree ? verticalListSortingStrategy : () => null} disabled={!draggable}>
      {body}
    </SortableContext>
  );
}

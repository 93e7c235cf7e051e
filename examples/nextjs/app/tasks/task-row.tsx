'use client';
/**
 * One task in the list: its checkbox, title, marks (overdue, today, priority, tags, due date,
 * subtasks done), and Edit / Delete. In "My order" its handle drags it (dnd-kit: mouse, touch, or
 * the keyboard: focus the handle, Space, arrows, Space).
 */
import type { Task, TaskClient } from '@task-api/client';
import { useSortable } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { useSyncExternalStore, type ReactNode } from 'react';

import type { OfflineMode } from '@/lib/offline';

import { dueState, formatDue } from './dates';
import { taskDndId } from './dnd';
import { SelectBox } from './offline-panel';
import { PRIORITIES } from './task-fields';
import { TaskRecurrence } from './task-recurrence';

const never = () => () => {};
/**
 * False on the server and while hydrating, true after: what depends on the browser's clock and
 * time zone (due dates, overdue, today) renders only then, so the server's HTML matches.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(never, () => true, () => false);
}
export interface RowProps {
  task: Task;
  depth: number;
  /** Its subtasks on this page: done of total (null without any). */
  progress: { done: number; total: number } | null;
  collapsed: boolean;
  onCollapse: () => void;
  readOnly: boolean;
  sortable: boolean;
  cursor: boolean;
  mode: OfflineMode;
  client: TaskClient;
  onToggle: (completed: boolean) => void;
  onEdit: () => void;
  onDelete: () => void;
  onTag: (tag: string) => void;
  onSelect: () => void;
  onChanged: () => unknown;
  extra?: ReactNode;
  listName?: string | undefined;
  conflict?: string | undefined;
}

export function TaskRow(p: RowProps) {
  const { task } = p;
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging } = useSortable({ id: taskDndId(task.id), disabled: !p.sortable });
  const hydrated = useHydrated();
  const due = hydrated ? dueState(task.due_at, task.completed) : null;
  const classes = [task.completed ? 'completed' : '', due ?? '', p.cursor ? 'cursor' : '', isDragging ? 'dragging' : ''].filter(Boolean).join(' ');
  return (
    <li
      ref={setNodeRef}
      style={{ transform: CSS.Translate.toString(transform), transition, ['--depth' as string]: p.depth }}
      data-testid="task"
      data-id={task.id}
      tabIndex={-1}
      data-completed={String(task.completed)}
      data-due={due ?? undefined}
      data-depth={p.depth}
      data-cursor={p.cursor ? 'true' : undefined}
      data-pending={p.mode.isPending(task) ? 'true' : undefined}
      className={classes || undefined}
      onClick={(e) => {
        if ((e.target as HTMLElement).closest('button, input, select, a, label')) return;
        p.onSelect();
      }}
    >
      <div className="task-head">
        {p.sortable ? (
          <button type="button" className="handle" ref={setActivatorNodeRef} {...attributes} {...listeners} aria-label="Drag" title="Drag to reorder (My order), or onto a list to move it there">
            ⠿
          </button>
        ) : null}
        {p.progress ? (
          <button type="button" className="twisty" aria-expanded={!p.collapsed} aria-label={`${p.collapsed ? 'Expand' : 'Collapse'} ${task.title}`} onClick={p.onCollapse}>
            {p.collapsed ? '▸' : '▾'}
          </button>
        ) : null}
        {p.readOnly ? null : <SelectBox mode={p.mode} task={task} />}
        <input
          type="checkbox"
          className="check"
          checked={task.completed}
          disabled={p.readOnly}
          aria-label={`Completed: ${task.title}`}
          onChange={(e) => p.onToggle(e.target.checked)}
        />
        <span className="title" data-testid="task-title" onDoubleClick={p.readOnly ? undefined : p.onEdit}>
          {task.title}
        </span>
        {p.progress ? (
          <span className="progress" data-testid="task-progress" title="Subtasks done">
            {p.progress.done}/{p.progress.total}
          </span>
        ) : null}
        <span className="actions" hidden={p.readOnly}>
          <button type="button" onClick={p.onEdit}>
            Edit
          </button>
          <button type="button" className="danger" onClick={p.onDelete}>
            Delete
          </button>
        </span>
      </div>
      <div className="task-meta">
        {due === 'overdue' ? (
          <span className="badge overdue" data-testid="task-mark">
            Overdue
          </span>
        ) : due === 'today' ? (
          <span className="badge today" data-testid="task-mark">
            Today
          </span>
        ) : null}
        {task.due_at && hydrated ? (
          <span className={`badge due${due ? ` ${due}` : ''}`} data-testid="task-due">
            Due {formatDue(task.due_at)}
          </span>
        ) : null}
        {task.priority !== 'none' ? (
          <span className={`badge priority-${task.priority}`} data-testid="task-priority">
            {PRIORITIES.find((x) => x.value === task.priority)?.label ?? task.priority}
          </span>
        ) : null}
        {task.tags.map((tag) => (
          <button key={tag} type="button" className="tag" data-testid="task-tag" onClick={() => p.onTag(tag)}>
            #{tag}
          </button>
        ))}
        {p.listName ? (
          <span className="badge list" data-testid="task-list">
            {p.listName}
          </span>
        ) : null}
        {task.description ? (
          <span className="muted desc" data-testid="task-description">
            {task.description}
          </span>
        ) : null}
        {p.extra}
      </div>
      <TaskRecurrence client={p.client} task={task} onChanged={p.onChanged} />
      {p.conflict ? (
        <p className="notice" role="alert" data-testid="conflict">
          {p.conflict}
        </p>
      ) : null}
    </li>
  );
}

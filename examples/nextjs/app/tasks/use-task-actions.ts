'use client';
import { ApiError, newIdempotencyKey, type ListQuery, type Task, type TaskClient, type TaskCreate } from '@task-api/client';
import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useRef, useState, type FormEvent } from 'react';

import { clearCompleted as clearCompletedAction } from './actions';
import { startOfDay } from './dates';
import type { ListView } from './list-view';
import { invalidateTasks, keys, type TaskPageData } from './queries';
import { readTaskForm } from './task-fields';
import { completeTask } from './task-recurrence';
import type { Notice } from './use-task-client';

export function describe(err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? `The API cannot be reached (${err.detail})` : `${err.detail} (${err.status} ${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

/** A position that sorts right after `after` (or first): shown until the server's answer. */
const optimisticPosition = (after: Task | undefined): string => (after ? `${after.position}V` : '');

export type MoveTo = Parameters<TaskClient['tasks']['move']>[1];

interface Options {
  client: TaskClient;
  userId: string;
  /** The shown page's query: its cache entry takes the optimistic updates. */
  query: ListQuery;
  list: ListView | undefined;
  tasks: Task[] | null;
  childrenOf: ReadonlyMap<number, Task[]>;
  siblingsOf: (task: Task) => Task[];
  setNotice: (notice: Notice | null) => void;
}

/**
 * The page's writes: create (one Idempotency-Key per logical create; in Today due today, in
 * Upcoming tomorrow), save from the details (If-Match: a 412 shows the newer task instead, nothing
 * overwritten), toggle and move with optimistic cache updates, indent/outdent, delete (the offline
 * mode's Undo), Clear completed (a server action). Each ends with a refetch. Owns what they show:
 * the last action's `error`, the `conflict` of a stale edit, and the task whose details are open.
 */
export function useTaskActions({ client, userId, query, list, tasks, childrenOf, siblingsOf, setNotice }: Options) {
  const listId = list?.id ?? null;
  const scope = list?.scope ?? null;
  const readOnly = list?.readOnly === true;
  const queryClient = useQueryClient();
  /** What failed of an action (gone with the next action). */
  const [error, setError] = useState<string | null>(null);
  const [conflict, setConflict] = useState<{ id: number; text: string } | null>(null);
  /** The task whose details are open, as it was when opened: Save sends If-Match with its version. */
  const [editing, setEditing] = useState<Task | null>(null);
  const setEditingId = (id: number | null) => setEditing(id === null ? null : ((tasks ?? []).find((t) => t.id === id) ?? null));

  const setPage = useCallback(
    (fn: (tasks: Task[]) => Task[]) => queryClient.setQueryData<TaskPageData>(keys.taskPage(userId, query), (p) => (p ? { ...p, tasks: fn(p.tasks) } : p)),
    [queryClient, userId, query],
  );
  const load = useCallback(() => invalidateTasks(queryClient, userId), [queryClient, userId]);
  const failed = (err: unknown) => {
    if (!(err instanceof ApiError && err.status === 401)) setError(describe(err));
  };

  // One Idempotency-Key per logical create: a resubmit of the same form after a failure reuses it.
  const pendingCreate = useRef<{ body: string; key: string } | null>(null);
  async function create(fields: TaskCreate): Promise<boolean> {
    const input = { ...fields, ...(listId !== null ? { list_id: listId } : {}) };
    // Added in Today: due today (by the end of the day); in Upcoming: tomorrow.
    if ((scope === 'today' || scope === 'upcoming') && !input.due_at) input.due_at = new Date(startOfDay(new Date(), scope === 'today' ? 1 : 2).getTime() - 60_000).toISOString();
    const body = JSON.stringify(input);
    if (pendingCreate.current?.body !== body) pendingCreate.current = { body, key: newIdempotencyKey() };
    try {
      await client.tasks.create(input, { idempotencyKey: pendingCreate.current.key });
      pendingCreate.current = null;
      setError(null);
      setNotice(null);
      void load();
      return true;
    } catch (err) {
      failed(err);
      return false;
    }
  }

  async function run(action: () => Promise<unknown>): Promise<boolean> {
    try {
      await action();
      setError(null);
      setNotice(null);
      await load();
      return true;
    } catch (err) {
      failed(err);
      await load();
      return false;
    }
  }

  async function save(event: FormEvent<HTMLFormElement>, base: Task) {
    event.preventDefault();
    const patch = readTaskForm(new FormData(event.currentTarget));
    try {
      const result = await client.tasks.updateIfUnchanged(base, patch);
      setEditingId(null);
      if (!result.ok) {
        setConflict({
          id: base.id,
          text: result.current
            ? 'This task was changed elsewhere. Showing the newer version; your edit was not saved.'
            : 'This task was deleted elsewhere; your edit was not saved.',
        });
        setPage((current) => (result.current ? current.map((t) => (t.id === base.id ? (result.current as Task) : t)) : current.filter((t) => t.id !== base.id)));
        return;
      }
      setConflict(null);
      setError(null);
      await load();
    } catch (err) {
      failed(err);
    }
  }

  function toggle(task: Task, completed: boolean) {
    // Optimistic: show it at once; the refetch after the call shows the truth.
    setPage((current) => current.map((t) => (t.id === task.id ? { ...t, completed } : t)));
    void run(() => completeTask(client, task, completed));
  }

  function move(task: Task, to: MoveTo, optimistic?: Partial<Task>) {
    if (optimistic) setPage((current) => current.map((t) => (t.id === task.id ? { ...t, ...optimistic } : t)));
    return run(() => client.tasks.move(task.id, to));
  }
  /** Indent: a subtask of the sibling above, after that sibling's own subtasks. */
  const indentOf = (task: Task): (() => void) | null => {
    const sibs = siblingsOf(task);
    const above = sibs[sibs.indexOf(task) - 1];
    if (!above || readOnly) return null;
    const last = (childrenOf.get(above.id) ?? []).at(-1);
    return () => void move(task, { parent_id: above.id, ...(last ? { after_id: last.id } : {}) }, { parent_id: above.id, position: optimisticPosition(last) });
  };
  /** Outdent: right after its parent, among the parent's siblings. */
  const outdentOf = (task: Task): (() => void) | null => {
    const parent = task.parent_id === null ? undefined : (tasks ?? []).find((t) => t.id === task.parent_id);
    if (!parent || readOnly) return null;
    return () => void move(task, { parent_id: parent.parent_id, after_id: parent.id }, { parent_id: parent.parent_id, position: optimisticPosition(parent) });
  };
  /** Dropped on `target`: right after it (moving down) or right before it (moving up), among its siblings. */
  function dropOn(dragged: Task, target: Task, down: boolean) {
    const sibs = siblingsOf(target).filter((t) => t.id !== dragged.id);
    const i = sibs.findIndex((t) => t.id === target.id);
    const after = down ? target : sibs[i - 1];
    void move(
      dragged,
      { ...(dragged.parent_id !== target.parent_id ? { parent_id: target.parent_id } : {}), ...(down ? { after_id: target.id } : { before_id: target.id }) },
      { parent_id: target.parent_id, position: after ? optimisticPosition(after) : '' },
    );
  }

  async function clearCompleted() {
    // A server action: the Next.js server calls the API with the user's JWT.
    const result = await clearCompletedAction(listId ?? undefined);
    await load();
    if ('error' in result) setError(result.error);
    else setNotice({ kind: 'info', text: `Cleared ${result.deleted} completed ${result.deleted === 1 ? 'task' : 'tasks'}.` });
  }

  /** Opens a task's details (a stale edit's note goes). */
  const openDetails = (id: number) => {
    setConflict(null);
    setEditingId(id);
  };

  return {
    error,
    conflict,
    editing,
    openDetails,
    closeDetails: () => setEditingId(null),
    load,
    create,
    save,
    toggle,
    remove: (task: Task) => void run(() => client.tasks.delete(task.id)),
    move,
    indentOf,
    outdentOf,
    dropOn,
    clearCompleted,
  };
}

export type TaskActions = ReturnType<typeof useTaskActions>;

'use client';
/**
 * A recurring task's line in the list: the rule in words, the next occurrence, where it moved from
 * when it advanced (completed here or elsewhere), Skip, and the completion history. Nothing for a
 * task that does not recur.
 */
import { ApiError, type Task, type TaskClient } from '@task-api/client';
import { useState } from 'react';

import { CompletionsPanel } from './completions-panel';
import { describeRecurrence, formatOccurrence } from './recurrence-text';
import './recurrence.css';

/** Completing a task from its checkbox: a recurring one completes its shown occurrence only (a repeat never skips one). */
export function completeTask(client: TaskClient, task: Task, completed: boolean): Promise<Task> {
  return completed && task.recurrence && task.due_at
    ? client.tasks.completeOccurrence(task.id, task.due_at)
    : client.tasks.setCompleted(task.id, completed);
}

export function TaskRecurrence({ client, task, onChanged }: { client: TaskClient; task: Task; onChanged: () => unknown }) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // The due date this row showed before (React's "state from the previous render"), to say where an
  // advanced task moved from.
  const [prev, setPrev] = useState({ due: task.due_at, recurrence: task.recurrence });
  const [moved, setMoved] = useState<{ from: string; to: string } | null>(null);
  if (prev.due !== task.due_at || prev.recurrence !== task.recurrence) {
    setMoved(prev.recurrence === task.recurrence && prev.due && task.due_at ? { from: prev.due, to: task.due_at } : null);
    setPrev({ due: task.due_at, recurrence: task.recurrence });
  }

  const words = describeRecurrence(task);
  if (!words) return null;
  const zone = task.time_zone;

  async function skip() {
    try {
      await client.tasks.skip(task.id);
      setError(null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      setError(err instanceof ApiError ? `${err.detail} (${err.status} ${err.code})` : String(err));
    }
    await onChanged();
  }

  return (
    <div className="recurrence" data-testid="task-recurrence">
      <span data-testid="recurrence-words">{`Repeats ${words}`}</span>
      {!task.completed && task.due_at ? (
        <span className="badge" data-testid="recurrence-next">{`Next: ${formatOccurrence(task.due_at, zone)}`}</span>
      ) : null}
      {moved && !task.completed ? (
        <span className="notice moved" data-testid="recurrence-moved">
          {`Moved from ${formatOccurrence(moved.from, zone)} to ${formatOccurrence(moved.to, zone)}`}
        </span>
      ) : null}
      <span className="actions">
        {!task.completed ? (
          <button type="button" onClick={() => void skip()}>
            Skip
          </button>
        ) : null}
        <button type="button" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
          {open ? 'Hide history' : 'History'}
        </button>
      </span>
      {error ? (
        <p className="error" role="alert" data-testid="recurrence-error">
          {error}
        </p>
      ) : null}
      {open ? <CompletionsPanel client={client} task={task} /> : null}
    </div>
  );
}

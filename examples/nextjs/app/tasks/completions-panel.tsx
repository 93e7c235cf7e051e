'use client';
/** A recurring task's completion history: GET .../completions, newest first, five at a time. */
import { ApiError, type Task, type TaskClient, type TaskCompletion } from '@task-api/client';
import { useCallback, useEffect, useState } from 'react';

import { formatOccurrence } from './recurrence-text';

const PAGE = 5;

export function CompletionsPanel({ client, task }: { client: TaskClient; task: Task }) {
  const [items, setItems] = useState<TaskCompletion[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (cursor?: string) => {
      try {
        const page = await client.tasks.completions(task.id, cursor === undefined ? { limit: PAGE } : { limit: PAGE, cursor });
        setItems((current) => (cursor === undefined ? page.completions : [...(current ?? []), ...page.completions]));
        setNext(page.nextCursor);
        setError(null);
      } catch (err) {
        setError(err instanceof ApiError ? `${err.detail} (${err.status} ${err.code})` : String(err));
      }
    },
    [client, task.id],
  );

  // Again whenever the task changes (a completion here, or elsewhere through the live stream).
  useEffect(() => {
    void load();
  }, [load, task.version]);

  const zone = task.time_zone;
  return (
    <section className="completions" data-testid="completions" aria-label={`Completion history of ${task.title}`}>
      <h3>Completion history</h3>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {items === null ? (
        <p className="muted">Loading…</p>
      ) : items.length === 0 ? (
        <p className="muted" data-testid="completions-empty">
          Not completed yet
        </p>
      ) : (
        <ol>
          {items.map((c) => (
            <li key={`${c.occurrence_due_at} ${c.completed_at}`} data-testid="completion" data-occurrence={c.occurrence_due_at}>
              {`${formatOccurrence(c.occurrence_due_at, zone)}: done ${formatOccurrence(c.completed_at, zone)}`}
            </li>
          ))}
        </ol>
      )}
      {next !== null ? (
        <button type="button" onClick={() => void load(next)}>
          Older
        </button>
      ) : null}
    </section>
  );
}

'use client';
/**
 * The trash: the deleted tasks the user may restore (GET /trash, newest first, in pages), each with
 * Restore (POST /trash/{id}/restore: back in its list, at its old position, with its subtasks) and
 * Delete forever (DELETE /trash/{id}); Empty trash (DELETE /trash). Through the client's `raw`
 * (the typed openapi-fetch client, with the token and retries).
 */
import { ApiError, createTaskClient, newIdempotencyKey, type components } from '@task-api/client';
import { useCallback, useEffect, useMemo, useState } from 'react';

import { apiToken } from '@/lib/api-token';

type Entry = components['schemas']['TrashedTask'];


function problem(error: unknown, status: number): string {
  const e = error as { detail?: string; code?: string } | undefined;
  return e?.detail ? `${e.detail} (${status} ${e.code ?? ''})`.trim() : `The API answered ${status}`;
}

export function TrashApp({ apiUrl, userId, email }: { apiUrl: string; userId: string; email: string }) {
  const client = useMemo(() => createTaskClient({ baseUrl: apiUrl, userId, token: apiToken, retry: { retries: 2 } }), [apiUrl, userId]);
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const user_id = userId;

  const load = useCallback(
    async (after: string | null = null) => {
      try {
        const { data, error: err, response } = await client.raw.GET('/api/{user_id}/trash', {
          params: { path: { user_id }, query: { limit: 50, ...(after ? { cursor: after } : {}) } },
        });
        if (!response.ok || !data) throw new Error(problem(err, response.status));
        setEntries((current) => (after ? [...(current ?? []), ...data.data] : data.data));
        setCursor(data.next_cursor ?? null);
        setError(null);
      } catch (err) {
        setError(err instanceof ApiError ? err.detail : err instanceof Error ? err.message : String(err));
        setEntries((current) => current ?? []);
      }
    },
    [client, user_id],
  );

  useEffect(() => {
    void load();
  }, [load]);

  async function act(what: () => Promise<{ response: Response; error?: unknown }>, done: string) {
    try {
      const { response, error: err } = await what();
      if (!response.ok) throw new Error(problem(err, response.status));
      setNotice(done);
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
    await load();
  }

  const headers = () => ({ 'idempotency-key': newIdempotencyKey() });
  return (
    <>
      <header className="top">
        <h1>Trash</h1>
        <div className="row">
          <span data-testid="user-email">{email}</span>
          <a href="/tasks" data-testid="tasks-link">
            Back to tasks
          </a>
        </div>
      </header>
      <main>
        <p className="muted">Deleted tasks stay here for 30 days (the API's TRASH_RETENTION_DAYS), then they are gone for good.</p>
        {notice ? (
          <p className="notice" role="status" data-testid="notice">
            {notice}
          </p>
        ) : null}
        {error ? (
          <p className="error" role="alert" data-testid="error">
            {error}
          </p>
        ) : null}
        {entries === null ? (
          <p className="muted">Loading…</p>
        ) : (
          <p className="muted" data-testid="count">
            {entries.length === 0 ? 'The trash is empty' : `${entries.length} deleted ${entries.length === 1 ? 'task' : 'tasks'}`}
          </p>
        )}
        <ul className="tasks" data-testid="trash">
          {(entries ?? []).map((entry) => (
            <li key={entry.id} data-testid="trash-entry" data-id={entry.id}>
              <div className="task-head">
                <span className="title" data-testid="task-title">
                  {entry.title}
                </span>
                <span className="muted">deleted {new Date(entry.deleted_at).toLocaleString('en-GB', { timeZone: 'UTC' })} UTC</span>
                <span className="actions">
                  <button
                    type="button"
                    onClick={() =>
                      void act(
                        () => client.raw.POST('/api/{user_id}/trash/{id}/restore', { params: { path: { user_id, id: entry.id } }, headers: headers() }),
                        `Restored “${entry.title}”.`,
                      )
                    }
                  >
                    Restore
                  </button>
                  <button
                    type="button"
                    className="danger"
                    onClick={() =>
                      void act(
                        () => client.raw.DELETE('/api/{user_id}/trash/{id}', { params: { path: { user_id, id: entry.id } }, headers: headers() }),
                        `Deleted “${entry.title}” for good.`,
                      )
                    }
                  >
                    Delete forever
                  </button>
                </span>
              </div>
            </li>
          ))}
        </ul>
        <div className="row">
          {cursor ? (
            <button type="button" onClick={() => void load(cursor)}>
              More
            </button>
          ) : null}
          <button
            type="button"
            className="danger"
            disabled={!entries || entries.length === 0}
            onClick={() => {
              if (!window.confirm('Delete every task in the trash for good?')) return;
              void act(() => client.raw.DELETE('/api/{user_id}/trash', { params: { path: { user_id } }, headers: headers() }), 'The trash is empty.');
            }}
          >
            Empty trash
          </button>
        </div>
      </main>
    </>
  );
}

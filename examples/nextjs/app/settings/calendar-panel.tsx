'use client';
/**
 * "Subscribe in your calendar": make a calendar feed (all lists or one, as events or to-dos), copy
 * its address, open its webcal:// link, revoke it. The address is a secret (read without a token):
 * it is shown here, never logged.
 */
import type { CalendarFeed, CalendarFormat, List, TaskClient } from '@task-api/client';
import { useCallback, useEffect, useState, type FormEvent } from 'react';

import { CopyField, describe, isUnauthorized } from './ui';

const FORMATS: { value: CalendarFormat; label: string }[] = [
  { value: 'events', label: 'Events (calendar apps: tasks with a due date)' },
  { value: 'todos', label: 'To-dos (task apps: every task)' },
];

export function CalendarPanel({ client }: { client: TaskClient }) {
  const [feeds, setFeeds] = useState<CalendarFeed[] | null>(null);
  const [lists, setLists] = useState<List[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [listId, setListId] = useState('');
  const [format, setFormat] = useState<CalendarFormat>('events');
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const [f, l] = await Promise.all([client.calendarFeeds.list(), client.lists.list()]);
      setFeeds(f);
      setLists(l);
    } catch (err) {
      if (!isUnauthorized(err)) setError(describe(err));
    }
  }, [client]);

  useEffect(() => {
    void load();
  }, [load]);

  async function run(action: () => Promise<unknown>) {
    try {
      await action();
      setError(null);
    } catch (err) {
      if (!isUnauthorized(err)) setError(describe(err));
    }
    await load();
  }

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    await run(() => client.calendarFeeds.create({ list_id: listId === '' ? null : Number(listId), format }));
    setBusy(false);
  }

  const listName = (id: number | null) => (id === null ? 'All lists' : (lists.find((l) => l.id === id)?.name ?? `List ${id}`));

  return (
    <section className="settings" aria-labelledby="calendar-heading" data-testid="calendar">
      <h2 id="calendar-heading">Subscribe in your calendar</h2>
      <p className="muted">
        A calendar feed is an address your calendar app checks for changes. Anyone who has it can read these tasks: revoke it if it leaks.
      </p>
      {error ? (
        <p className="error" role="alert" data-testid="calendar-error">
          {error}
        </p>
      ) : null}

      <form onSubmit={(e) => void create(e)} aria-label="New calendar feed" data-testid="feed-form">
        <fieldset>
          <legend>New calendar feed</legend>
          <div className="row">
            <label>
              Tasks of
              <select value={listId} onChange={(e) => setListId(e.target.value)}>
                <option value="">All lists</option>
                {lists.map((l) => (
                  <option key={l.id} value={l.id}>
                    {l.name}
                  </option>
                ))}
              </select>
            </label>
            <label className="wide">
              Format
              <select value={format} onChange={(e) => setFormat(e.target.value as CalendarFormat)}>
                {FORMATS.map((f) => (
                  <option key={f.value} value={f.value}>
                    {f.label}
                  </option>
                ))}
              </select>
            </label>
            <button className="primary" type="submit" disabled={busy}>
              Create feed
            </button>
          </div>
        </fieldset>
      </form>

      {feeds === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <p className="muted" data-testid="feeds-count">
          {feeds.length === 0 ? 'No calendar feeds yet' : `${feeds.length} ${feeds.length === 1 ? 'calendar feed' : 'calendar feeds'}`}
        </p>
      )}
      <ul className="settings-list">
        {(feeds ?? []).map((feed) => (
          <li key={feed.id} data-testid="feed" data-id={feed.id} data-format={feed.format}>
            <div className="item-head">
              <span className="what" data-testid="feed-title">
                {`${listName(feed.list_id)} · ${feed.format === 'events' ? 'Events' : 'To-dos'}`}
              </span>
              <span className="actions">
                <a href={client.calendarFeeds.webcalUrl(feed)} data-testid="feed-webcal">
                  Subscribe (webcal://)
                </a>
                <button type="button" className="danger" onClick={() => void run(() => client.calendarFeeds.revoke(feed.id))}>
                  Revoke
                </button>
              </span>
            </div>
            <CopyField value={client.calendarFeeds.url(feed)} label="Feed URL" button="Copy URL" testid="feed-url" />
          </li>
        ))}
      </ul>
    </section>
  );
}

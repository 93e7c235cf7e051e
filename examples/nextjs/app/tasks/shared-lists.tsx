'use client';
/**
 * Lists and sharing, the minimum a shared list needs (a fuller sidebar may replace the switcher):
 *   - the switcher: the user's lists (GET /lists), the selected one's tasks shown by TaskApp through
 *     the `list_id` filter, "New list"; kept current by the list entries of TaskApp's event stream
 *     (include=lists: list_upsert, list_delete), so a removed member's page empties at once
 *   - Share (the owner): an invitation link with a role (editor or viewer), copy, the open
 *     invitations with revoke (share-dialog.tsx)
 *   - Members: names, emails and roles; the owner changes a role or removes; a member leaves
 *   - each task of a shared list shows who created it (`user_id`) and who is assigned, by name;
 *     a viewer sees the list read-only
 */
import {
  ApiError,
  createTaskClient,
  type List,
  type ListChange,
  type Member,
  type Role,
  type Task,
  type TaskClient,
} from '@task-api/client';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';

import { AUTH_CHANNEL, apiToken } from '@/lib/api-token';
import { listsForOffline } from '@/lib/offline';

import type { ListView } from './list-view';
import { ShareDialog } from './share-dialog';
import { TaskApp } from './task-app';
import './sharing.css';


const ROLE_TEXT: Record<Role, string> = { owner: 'owner', editor: 'editor', viewer: 'viewer' };

function describe(err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? `The API cannot be reached (${err.detail})` : `${err.detail} (${err.status} ${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

/** The user's own order: by `position` (compared as bytes: base-62 ASCII), then `id`. */
function ordered(lists: List[]): List[] {
  return [...lists].sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : a.id - b.id));
}

/** A member's name as the list shows it: their name, else their email. */
function memberName(m: Member | undefined): string {
  return m?.name ?? m?.email ?? 'a former member';
}

export function SharedLists({ apiUrl, userId, email, initialListId }: { apiUrl: string; userId: string; email: string; initialListId: number | null }) {
  const router = useRouter();
  const routerRef = useRef(router);
  routerRef.current = router;
  /** Signed out (here or in another tab): TaskApp handles the redirect; this client stays quiet. */
  const leaving = useRef(false);

  const client: TaskClient = useMemo(
    () =>
      createTaskClient({
        baseUrl: apiUrl,
        userId,
        token: apiToken,
        onUnauthorized: () => {
          apiToken.clear();
          if (leaving.current) return;
          routerRef.current.replace('/sign-in?reason=session-expired');
        },
        retry: { retries: 8 },
      }),
    [apiUrl, userId],
  );

  const [lists, setLists] = useState<List[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [selectedId, setSelectedId] = useState<number | null>(initialListId);
  const [members, setMembers] = useState<Member[] | null>(null);
  const [panel, setPanel] = useState<'share' | 'members' | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [newName, setNewName] = useState('');
  /** The last list shown, to say which one went away. */
  const shown = useRef<List | null>(null);

  const loadLists = useCallback(async () => {
    try {
      // Offline (lib/offline.ts), the copy kept at the last load: the page renders from it.
      setLists(ordered(await listsForOffline(userId, () => client.lists.list())));
      setLoadError(null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      setLoadError(describe(err));
    }
  }, [client, userId]);

  useEffect(() => {
    void loadLists();
  }, [loadLists]);

  useEffect(() => {
    if (typeof BroadcastChannel === 'undefined') return;
    const channel = new BroadcastChannel(AUTH_CHANNEL);
    channel.onmessage = (event) => {
      if (event.data === 'signed-out') {
        leaving.current = true;
        apiToken.clear();
      }
    };
    return () => channel.close();
  }, []);

  const inbox = lists?.find((l) => l.is_default && l.owner_id === userId) ?? lists?.[0] ?? null;
  const selected = lists?.find((l) => l.id === selectedId) ?? null;

  // The selected list is gone (deleted, left, removed: a list_delete, or a reload without it): say
  // so and show the Inbox. An unknown `?list=` simply shows the Inbox.
  useEffect(() => {
    if (lists === null) return;
    if (selected) {
      shown.current = selected;
      return;
    }
    const gone = shown.current;
    if (gone && gone.id === selectedId) {
      setNotice(gone.owner_id === userId ? `“${gone.name}” was deleted.` : `You no longer have access to “${gone.name}”.`);
      setPanel(null);
    }
    shown.current = null;
    if (inbox) setSelectedId(inbox.id);
  }, [lists, selected, selectedId, inbox, userId]);

  // The address shows a list other than the Inbox (`/tasks?list=7`), so a reload stays there.
  useEffect(() => {
    if (!selected) return;
    const want = selected.id === inbox?.id ? '/tasks' : `/tasks?list=${selected.id}`;
    if (`${window.location.pathname}${window.location.search}` !== want) window.history.replaceState(null, '', want);
  }, [selected, inbox]);

  const shared = selected !== null && selected.member_count > 1;
  const membersVersion = selected ? `${selected.id}.${selected.version}` : null;
  const selectedRef = useRef(selectedId);
  selectedRef.current = selectedId;
  const loadMembers = useCallback(async () => {
    if (selectedId === null) return;
    try {
      const got = await client.lists.members(selectedId);
      setMembers((current) => (selectedId === selectedRef.current ? got : current));
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 404)) return; // gone: the feed says so
      setError(describe(err));
    }
  }, [client, selectedId]);
  // Members change the list's version (joins, role changes, removals): reload them with it.
  useEffect(() => {
    setMembers(null);
  }, [selectedId]);
  useEffect(() => {
    if (membersVersion === null || (!shared && panel !== 'members')) return;
    void loadMembers();
  }, [membersVersion, shared, panel, loadMembers]);

  const onListChange = useCallback((change: ListChange) => {
    setLists((current) => {
      if (current === null) return current;
      if (change.type === 'list_delete') return current.filter((l) => l.id !== change.id);
      // open_count is not kept by the feed: keep the count held.
      const held = current.find((l) => l.id === change.list.id);
      const next = held ? { ...change.list, open_count: held.open_count } : change.list;
      return ordered([...current.filter((l) => l.id !== change.list.id), next]);
    });
  }, []);

  async function run(action: () => Promise<unknown>, done?: string): Promise<boolean> {
    try {
      await action();
      setError(null);
      setNotice(done ?? null);
      return true;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(describe(err));
      return false;
    }
  }

  async function createList(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    try {
      const list = await client.lists.create({ name: newName });
      setNewName('');
      setError(null);
      setNotice(null);
      setLists((current) => ordered([...(current ?? []).filter((l) => l.id !== list.id), list]));
      setSelectedId(list.id);
      setPanel(null);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(describe(err));
    }
  }

  async function leave(list: List) {
    if (await run(() => client.lists.leave(list.id), `You left “${list.name}”.`)) {
      shown.current = null;
      setLists((current) => current && current.filter((l) => l.id !== list.id));
      setPanel(null);
    }
  }

  const byId = useMemo(() => new Map((members ?? []).map((m) => [m.user_id, m])), [members]);
  const readOnly = selected?.role === 'viewer';
  const nameOf = useCallback((id: string) => (id === userId ? 'you' : memberName(byId.get(id))), [byId, userId]);

  const taskExtra = (task: Task) =>
    shared && members ? (
      <>
        <span className="person" data-testid="task-creator">
          Created by {nameOf(task.user_id)}
        </span>
        {task.assignee_id ? (
          <span className="person" data-testid="task-assignee">
            Assigned to {nameOf(task.assignee_id)}
          </span>
        ) : null}
        {readOnly ? null : (
          <select
            aria-label={`Assignee of ${task.title}`}
            value={task.assignee_id ?? ''}
            onChange={(e) => void run(() => client.tasks.update(task.id, { assignee_id: e.target.value === '' ? null : e.target.value }))}
          >
            <option value="">Nobody assigned</option>
            {(members ?? []).map((m) => (
              <option key={m.user_id} value={m.user_id}>
                {m.user_id === userId ? 'Me' : memberName(m)}
              </option>
            ))}
          </select>
        )}
      </>
    ) : null;

  if (lists === null) {
    if (loadError !== null) {
      // Without lists the tasks of every list still show, as before lists existed.
      return (
        <>
          <p className="error" role="alert" data-testid="lists-error">
            The lists could not be loaded: {loadError}
          </p>
          <TaskApp apiUrl={apiUrl} userId={userId} email={email} />
        </>
      );
    }
    return <p className="muted">Loading lists…</p>;
  }
  if (selected === null) return <p className="muted">Loading lists…</p>;

  const isOwner = selected.role === 'owner';
  const bar = (
    <section className="lists-bar" aria-label="Lists" data-testid="lists">
      <div className="row">
        <label>
          List
          <select
            data-testid="list-select"
            value={selected.id}
            onChange={(e) => {
              setSelectedId(Number(e.target.value));
              setNotice(null);
              setError(null);
              setPanel(null);
            }}
          >
            {lists.map((l) => (
              <option key={l.id} value={l.id}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
        <span className="role muted" data-testid="list-role" data-role={selected.role}>
          {shared || !isOwner ? `Shared with ${selected.member_count - 1} · you are its ${ROLE_TEXT[selected.role]}` : 'Only you'}
        </span>
        {isOwner ? (
          <button type="button" onClick={() => setPanel(panel === 'share' ? null : 'share')} aria-expanded={panel === 'share'}>
            Share
          </button>
        ) : null}
        <button type="button" onClick={() => setPanel(panel === 'members' ? null : 'members')} aria-expanded={panel === 'members'}>
          Members
        </button>
        <form className="row" onSubmit={(e) => void createList(e)} aria-label="New list">
          <input aria-label="New list name" value={newName} onChange={(e) => setNewName(e.target.value)} maxLength={100} required placeholder="New list name" />
          <button type="submit">New list</button>
        </form>
      </div>
      {readOnly ? (
        <p className="muted" data-testid="read-only">
          You can view this list; only its owner and editors change its tasks.
        </p>
      ) : null}
      {notice ? (
        <p className="notice" role="status" data-testid="lists-notice">
          {notice}
        </p>
      ) : null}
      {error ? (
        <p className="error" role="alert" data-testid="lists-error">
          {error}
        </p>
      ) : null}
      {panel === 'share' && isOwner ? <ShareDialog key={selected.id} client={client} list={selected} onClose={() => setPanel(null)} /> : null}
      {panel === 'members' ? (
        <section className="panel" role="dialog" aria-label={`Members of ${selected.name}`} data-testid="members">
          <h3>Members of “{selected.name}”</h3>
          {members === null ? (
            <p className="muted">Loading…</p>
          ) : (
            <ul>
              {members.map((m) => (
                <li key={m.user_id} data-testid="member" data-user-id={m.user_id} data-role={m.role}>
                  <span className="who">
                    <strong data-testid="member-name">{memberName(m)}</strong>
                    {m.user_id === userId ? ' (you)' : ''} {m.email ? <span className="muted">{m.email}</span> : null}
                  </span>
                  {isOwner && m.role !== 'owner' ? (
                    <>
                      <select
                        aria-label={`Role of ${memberName(m)}`}
                        value={m.role}
                        onChange={(e) => void run(async () => {
                          await client.lists.setRole(selected.id, m.user_id, e.target.value as Role);
                          await loadMembers();
                        })}
                      >
                        <option value="editor">Editor</option>
                        <option value="viewer">Viewer</option>
                      </select>
                      <button
                        type="button"
                        className="danger"
                        onClick={() => void run(async () => {
                          await client.lists.removeMember(selected.id, m.user_id);
                          await loadMembers();
                        }, `${memberName(m)} was removed from “${selected.name}”.`)}
                      >
                        Remove {memberName(m)}
                      </button>
                    </>
                  ) : (
                    <span className="muted" data-testid="member-role">
                      {m.role === 'owner' ? 'Owner' : m.role === 'editor' ? 'Editor' : 'Viewer'}
                    </span>
                  )}
                  {m.user_id === userId && m.role !== 'owner' ? (
                    <button type="button" className="danger" onClick={() => void leave(selected)}>
                      Leave list
                    </button>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
        </section>
      ) : null}
    </section>
  );

  const view: ListView = {
    id: selected.id,
    readOnly,
    bar,
    taskExtra,
    onListChange,
    // The stream is open (again): the lists may have changed before it was.
    onReady: () => void loadLists(),
  };
  // One TaskApp per list (key): its filters, pages and stream start afresh with each list.
  return <TaskApp key={selected.id} apiUrl={apiUrl} userId={userId} email={email} list={view} />;
}

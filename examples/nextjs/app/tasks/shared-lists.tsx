'use client';
/**
 * The page around TaskApp: the sidebar (sidebar.tsx: views, lists, new, rename, delete, reorder) and
 * what a list shows above its tasks (sharing):
 *   - the lists (useLists: GET /lists, first from the server component), the selected one's tasks
 *     shown by TaskApp through the `list_id` filter; kept current by the list entries of TaskApp's
 *     event stream (include=lists: list_upsert, list_delete), so a removed member's page empties at once
 *   - a view across lists (Today, Upcoming, All tasks) instead of a list
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
import { useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';

import { AUTH_CHANNEL, apiToken } from '@/lib/api-token';

import { PageDnd } from './dnd';
import type { FirstPage } from './first-page';
import type { ListView } from './list-view';
import { applyListChange, forgetListsEtag, keys, ordered, useLists } from './queries';
import { ShareDialog } from './share-dialog';
import { Sidebar, type SidebarActions } from './sidebar';
import { TaskApp } from './task-app';
import { VIEW_NAMES, viewHref, type View } from './view';
import './sharing.css';
import './tasks.css';


const ROLE_TEXT: Record<Role, string> = { owner: 'owner', editor: 'editor', viewer: 'viewer' };

function describe(err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? `The API cannot be reached (${err.detail})` : `${err.detail} (${err.status} ${err.code})`;
  return err instanceof Error ? err.message : String(err);
}


/** A member's name as the list shows it: their name, else their email. */
function memberName(m: Member | undefined): string {
  return m?.name ?? m?.email ?? 'a former member';
}

export function SharedLists({
  apiUrl,
  userId,
  email,
  initialView,
  first,
}: {
  apiUrl: string;
  userId: string;
  email: string;
  initialView: View;
  first: FirstPage | null;
}) {
  const router = useRouter();
  const routerRef = useRef(router);
  routerRef.current = router;
  const queryClient = useQueryClient();
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

  const listsQuery = useLists(client, userId, first?.lists ?? null);
  const lists = listsQuery.data ?? null;
  const loadError = listsQuery.error && !(listsQuery.error instanceof ApiError && listsQuery.error.status === 401) ? describe(listsQuery.error) : null;
  const setLists = useCallback(
    (fn: (current: List[]) => List[]) => {
      forgetListsEtag(userId);
      queryClient.setQueryData<List[]>(keys.lists(userId), (current) => (current ? fn(current) : current));
    },
    [queryClient, userId],
  );
  const loadLists = useCallback(() => queryClient.invalidateQueries({ queryKey: keys.lists(userId) }), [queryClient, userId]);

  const [view, setView] = useState<View>(initialView);
  const selectedId = view.kind === 'list' ? view.id : null;
  const [members, setMembers] = useState<Member[] | null>(null);
  const [panel, setPanel] = useState<'share' | 'members' | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [drawer, setDrawer] = useState(false);
  /** The last list shown, to say which one went away. */
  const shown = useRef<List | null>(null);

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
  const selected = view.kind === 'list' ? (lists?.find((l) => l.id === (selectedId ?? inbox?.id)) ?? null) : null;

  // The selected list is gone (deleted, left, removed: a list_delete, or a reload without it): say
  // so and show the Inbox. An unknown `?list=` simply shows the Inbox.
  useEffect(() => {
    if (lists === null || view.kind !== 'list') return;
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
    if (inbox) setView({ kind: 'list', id: inbox.id });
  }, [lists, selected, selectedId, inbox, userId, view.kind]);

  // The address says what is shown (`/tasks?list=7`, `/tasks?view=today`), so a reload stays there.
  useEffect(() => {
    if (view.kind === 'list' && !selected) return;
    const want = viewHref(view.kind === 'list' ? { kind: 'list', id: selected?.id ?? null } : view, inbox?.id ?? null);
    if (`${window.location.pathname}${window.location.search}` !== want) window.history.replaceState(null, '', want);
  }, [view, selected, inbox]);

  const shared = selected !== null && selected.member_count > 1;
  const membersVersion = selected ? `${selected.id}.${selected.version}` : null;
  const selectedRef = useRef(selected?.id ?? null);
  selectedRef.current = selected?.id ?? null;
  const selectedListId = selected?.id ?? null;
  const loadMembers = useCallback(async () => {
    if (selectedListId === null) return;
    try {
      const got = await client.lists.members(selectedListId);
      setMembers((current) => (selectedListId === selectedRef.current ? got : current));
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 404)) return; // gone: the feed says so
      setError(describe(err));
    }
  }, [client, selectedListId]);
  // Members change the list's version (joins, role changes, removals): reload them with it.
  useEffect(() => {
    setMembers(null);
  }, [selectedListId]);
  useEffect(() => {
    if (membersVersion === null || (!shared && panel !== 'members')) return;
    void loadMembers();
  }, [membersVersion, shared, panel, loadMembers]);

  const onListChange = useCallback((change: ListChange) => applyListChange(queryClient, userId, change), [queryClient, userId]);

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

  const select = (next: View) => {
    setView(next);
    setNotice(null);
    setError(null);
    setPanel(null);
    setDrawer(false);
  };

  const actions: SidebarActions = {
    select,
    share: (list) => {
      select({ kind: 'list', id: list.id });
      setPanel('share');
    },
    create: async (name) => {
      try {
        const list = await client.lists.create({ name });
        setLists((current) => ordered([...current.filter((l) => l.id !== list.id), list]));
        select({ kind: 'list', id: list.id });
        return true;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) setError(describe(err));
        return false;
      }
    },
    rename: (list, name) =>
      run(async () => {
        const renamed = await client.lists.update(list.id, { name });
        onListChange({ type: 'list_upsert', list: renamed } as ListChange);
      }),
    remove: (list) =>
      run(async () => {
        await client.lists.delete(list.id);
        shown.current = null;
        setLists((current) => current.filter((l) => l.id !== list.id));
        if (selected?.id === list.id && inbox) setView({ kind: 'list', id: inbox.id });
      }, `“${list.name}” was deleted.`),
    reorder: (order, index) => {
      const moved = order[index];
      if (!moved) return;
      const after = order[index - 1];
      const before = order[index + 1];
      // Optimistic: the new order at once; the answer's position (and the feed) confirm it.
      forgetListsEtag(userId);
      queryClient.setQueryData<List[]>(keys.lists(userId), order);
      void run(async () => {
        const answer = await client.lists.move(moved.id, after ? { after_id: after.id } : before ? { before_id: before.id } : {});
        onListChange({ type: 'list_upsert', list: answer } as ListChange);
      }).then((ok) => ok || void loadLists());
    },
  };

  async function leave(list: List) {
    if (await run(() => client.lists.leave(list.id), `You left “${list.name}”.`)) {
      shown.current = null;
      setLists((current) => current.filter((l) => l.id !== list.id));
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
          <PageDnd>
            <TaskApp apiUrl={apiUrl} userId={userId} email={email} />
          </PageDnd>
        </>
      );
    }
    return <p className="muted">Loading lists…</p>;
  }
  if (view.kind === 'list' && selected === null) return <p className="muted">Loading lists…</p>;

  const menu = (
    <button type="button" className="menu" aria-label="Lists" aria-expanded={drawer} onClick={() => setDrawer((d) => !d)}>
      ☰
    </button>
  );
  const messages = (
    <>
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
    </>
  );

  let content;
  if (selected === null) {
    const kind = view.kind as 'all' | 'today' | 'upcoming';
    const scoped: ListView = { id: null, scope: kind, title: VIEW_NAMES[kind], readOnly: false, bar: messages, lists, onListChange, menu, onReady: () => void loadLists() };
    content = <TaskApp key={`view-${kind}`} apiUrl={apiUrl} userId={userId} email={email} list={scoped} />;
  } else {
    const isOwner = selected.role === 'owner';
    const bar = (
      <section className="lists-bar" aria-label="List" data-testid="lists">
        <div className="row">
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
        </div>
        {readOnly ? (
          <p className="muted" data-testid="read-only">
            You can view this list; only its owner and editors change its tasks.
          </p>
        ) : null}
        {messages}
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
    const listView: ListView = {
      id: selected.id,
      title: selected.name,
      readOnly,
      bar,
      taskExtra,
      onListChange,
      lists,
      menu,
      // The stream is open (again): the lists may have changed before it was.
      onReady: () => void loadLists(),
      ...(first?.page && first.listId === selected.id ? { initialPage: first.page } : {}),
    };
    // One TaskApp per list (key): its filters, pages and stream start afresh with each list.
    content = <TaskApp key={selected.id} apiUrl={apiUrl} userId={userId} email={email} list={listView} />;
  }

  return (
    <PageDnd>
      <div className={`app${drawer ? ' drawer-open' : ''}`}>
        <Sidebar lists={lists} view={view} inboxId={inbox?.id ?? null} open={drawer} actions={actions} />
        {drawer ? <div className="scrim" onClick={() => setDrawer(false)} aria-hidden="true" /> : null}
        <div className="main-col">{content}</div>
      </div>
    </PageDnd>
  );
}

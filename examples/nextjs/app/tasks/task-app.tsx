'use client';
/**
 * The tasks of one list (or of a view across lists): every call goes from the browser to the Task API
 * through @task-api/client, with a Better Auth JWT (`authClient.token()`, cached until shortly
 * before it expires); the data through TanStack Query (queries.ts).
 *   - 401 (after one fresh token): back to /sign-in
 *   - 503/429 with Retry-After: the client waits and retries; a notice says so meanwhile
 *   - a stale edit (412 PRECONDITION_FAILED with If-Match): the newer task is shown, nothing overwritten
 *   - the event stream (ticket + EventSource) refetches the shown page whenever a task changes elsewhere
 */
import {
  ApiError,
  buildTree,
  createTaskClient,
  newIdempotencyKey,
  type ConnectionState,
  type ListQuery,
  type Task,
  type TaskClient,
  type TaskCreate,
  type TaskNode,
} from '@task-api/client';
import { useDndMonitor, type DragEndEvent } from '@dnd-kit/core';
import { SortableContext, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';

import { AUTH_CHANNEL, apiToken } from '@/lib/api-token';
import { authClient } from '@/lib/auth-client';
import { useOffline } from '@/lib/offline';
import { forgetPushSubscription } from '@/lib/push';

import { clearCompleted } from './actions';
import { dayHeading, startOfDay } from './dates';
import { parseDndId, taskDndId } from './dnd';
import type { ListView } from './list-view';
import { OfflinePanel } from './offline-panel';
import { invalidateTasks, keys, updateCachedTasks, useTags, useTaskPage, type TaskPageData } from './queries';
import { QuickAdd } from './quick-add';
import { announceReminder, ReminderCenter } from './reminder-toast';
import { ShortcutHelp, useShortcuts, type ShortcutAction } from './shortcuts';
import { TaskDetails } from './task-details';
import { readTaskForm } from './task-fields';
import { completeTask } from './task-recurrence';
import { TaskRow } from './task-row';
import { DEFAULT_FILTERS, Toolbar, isFiltered, type Filters } from './toolbar';
import { viewQuery } from './view';

interface Message {
  kind: 'retry' | 'info' | 'action';
  text: string;
}

const LIVE_TEXT: Record<ConnectionState, string> = {
  connecting: 'Live updates: connecting…',
  open: 'Live updates: on',
  reconnecting: 'Live updates: reconnecting…',
  unavailable: 'Live updates: unavailable',
  closed: 'Live updates: off',
};

const EMPTY: Record<'list' | 'all' | 'today' | 'upcoming', string> = {
  list: 'Type a task in the box above and press Enter. Press n to get there from anywhere, ? for every shortcut.',
  all: 'No tasks in any list yet: pick a list on the left and add one.',
  today: 'Nothing due today or overdue. Give a task a due date to plan your day.',
  upcoming: 'Nothing due in the next 7 days. Tasks with a due date show here, by day.',
};

function toQuery(f: Filters, cursor: string | undefined): ListQuery {
  const q: ListQuery = { sort: f.sort, limit: f.limit };
  if (f.status !== 'all') q.status = f.status;
  if (f.q.trim() !== '') q.q = f.q.trim();
  if (f.priority !== '') q.priority = f.priority;
  if (f.tag.trim() !== '') q.tag = f.tag.trim();
  if (f.due !== '') {
    const now = new Date();
    if (f.due === 'overdue') q.due_before = now.toISOString();
    else {
      q.due_after = now.toISOString();
      q.due_before = new Date(now.getTime() + 7 * 86_400_000).toISOString();
    }
  }
  if (cursor !== undefined) q.cursor = cursor;
  return q;
}

function describe(err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? `The API cannot be reached (${err.detail})` : `${err.detail} (${err.status} ${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

interface Row {
  task: Task;
  depth: number;
}

/** The rows in tree order (subtasks under their parent), without the subtasks of collapsed tasks. */
function flatten(nodes: TaskNode[], collapsed: ReadonlySet<number>, depth = 0, out: Row[] = []): Row[] {
  for (const n of nodes) {
    out.push({ task: n.task, depth });
    if (!collapsed.has(n.task.id)) flatten(n.children, collapsed, depth + 1, out);
  }
  return out;
}

/** A position that sorts right after `after` (or first): shown until the server's answer. */
const optimisticPosition = (after: Task | undefined): string => (after ? `${after.position}V` : '');

export function TaskApp({ apiUrl, userId, email, list }: { apiUrl: string; userId: string; email: string; list?: ListView }) {
  const listId = list?.id ?? null;
  const scope = list?.scope ?? null;
  const readOnly = list?.readOnly === true;
  const listRef = useRef(list);
  listRef.current = list;
  const router = useRouter();
  const routerRef = useRef(router);
  routerRef.current = router;
  const queryClient = useQueryClient();
  /** "Retrying in 1 s" (until the next answer) or an outcome to show ("Cleared 2 completed tasks."). */
  const [notice, setNotice] = useState<Message | null>(null);
  /** Set while signing out: a 401 of a request still in flight must not redirect elsewhere. */
  const leaving = useRef(false);

  const onlineClient: TaskClient = useMemo(
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
        // 503 (the database restarting, say) and 429 are retried after Retry-After, up to 8 times,
        // with a notice meanwhile; then the error shows.
        retry: { retries: 8 },
        onRetry: ({ status, delayMs }) =>
          setNotice({
            kind: 'retry',
            text:
              status === 0
                ? `The API cannot be reached; retrying in ${Math.ceil(delayMs / 1000)} s…`
                : `The API answered ${status}; retrying in ${Math.ceil(delayMs / 1000)} s…`,
          }),
      }),
    [apiUrl, userId],
  );
  // Offline mode (lib/offline.ts): the same client, writes queued in an outbox while offline.
  const offline = useOffline(onlineClient, apiUrl, userId, apiToken);
  const client = offline.client;

  const [filters, setFilters] = useState<Filters>(DEFAULT_FILTERS);
  const [search, setSearch] = useState('');
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const query = useMemo<ListQuery>(
    () => (scope === 'today' || scope === 'upcoming' ? viewQuery(scope) : { ...toQuery(filters, cursor), ...(listId !== null ? { list_id: listId } : {}) }),
    [filters, cursor, listId, scope],
  );
  const initial = list?.initialPage && filters === DEFAULT_FILTERS && cursor === undefined ? list.initialPage : undefined;
  const pageQuery = useTaskPage(client, userId, query, {
    initial,
    // An answer (or a failure) ends the "retrying" notice.
    onSettled: () => setNotice((n) => (n?.kind === 'retry' ? null : n)),
  });
  const tags = useTags(client, userId).data ?? [];
  const tasks = pageQuery.data?.tasks ?? null;
  const nextCursor = pageQuery.data?.nextCursor ?? null;
  const loadError = pageQuery.error && !(pageQuery.error instanceof ApiError && pageQuery.error.status === 401) ? describe(pageQuery.error) : null;
  /** What failed of an action (gone with the next action). */
  const [error, setError] = useState<string | null>(null);
  const [conflict, setConflict] = useState<{ id: number; text: string } | null>(null);
  /** The task whose details are open, as it was when opened: Save sends If-Match with its version. */
  const [editing, setEditing] = useState<Task | null>(null);
  const editingId = editing?.id ?? null;
  const setEditingId = (id: number | null) => setEditing(id === null ? null : ((tasks ?? []).find((t) => t.id === id) ?? null));
  const [cursorId, setCursorId] = useState<number | null>(null);
  const [collapsed, setCollapsed] = useState<ReadonlySet<number>>(() => new Set());
  /** My order's completed tasks: collapsed under "Completed (n)" until opened. */
  const [hideCompleted, setHideCompleted] = useState(true);
  const [help, setHelp] = useState(false);
  const [live, setLive] = useState<ConnectionState>('connecting');
  const quickAdd = useRef<HTMLFormElement>(null);

  const setPage = useCallback(
    (fn: (tasks: Task[]) => Task[]) => queryClient.setQueryData<TaskPageData>(keys.taskPage(userId, query), (p) => (p ? { ...p, tasks: fn(p.tasks) } : p)),
    [queryClient, userId, query],
  );
  const load = useCallback(() => invalidateTasks(queryClient, userId), [queryClient, userId]);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => offline.onSynced(() => void loadRef.current()), [offline]);

  // The search box applies itself 250 ms after the last keystroke.
  useEffect(() => {
    if (search === filters.q) return;
    const t = setTimeout(() => {
      setFilters((f) => ({ ...f, q: search }));
      setCursors([undefined]);
    }, 250);
    return () => clearTimeout(t);
  }, [search, filters.q]);

  // Live updates: every change anywhere (another tab, device, user, or a script) refetches the page.
  const stopLive = useRef<() => void>(() => {});
  useEffect(() => {
    const unsubscribe = client.events.subscribe(
      {
        onChange: (change) => {
          updateCachedTasks(queryClient, userId, (current) =>
            change.type === 'delete' ? current.filter((t) => t.id !== change.id) : current.map((t) => (t.id === change.task.id ? change.task : t)),
          );
          void loadRef.current();
        },
        // Ready (also after a reconnect): refetch once, for what changed before the stream was open.
        onReady: () => {
          void loadRef.current();
          listRef.current?.onReady?.();
        },
        onStateChange: setLive,
        onReminder: announceReminder,
        onListChange: (change) => listRef.current?.onListChange?.(change),
      },
      listRef.current ? { include: ['lists'] } : {},
    );
    stopLive.current = unsubscribe;
    return unsubscribe;
  }, [client, queryClient, userId]);

  // Signed out in another tab: forget the token and stop the stream; the refetch then gets a real
  // 401 from the API, which sends this tab to the sign-in page.
  useEffect(() => {
    if (typeof BroadcastChannel === 'undefined') return;
    const channel = new BroadcastChannel(AUTH_CHANNEL);
    channel.onmessage = (event) => {
      if (event.data === 'signed-out') {
        apiToken.clear();
        stopLive.current();
        void loadRef.current();
      }
    };
    return () => channel.close();
  }, []);

  const change = (patch: Partial<Filters>) => {
    setFilters((f) => ({ ...f, ...patch }));
    setCursors([undefined]);
  };

  // A reminder's toast or notification opens its task: its details, when the list shows it.
  const openTask = (id: number): boolean => {
    if (!tasks?.some((t) => t.id === id)) return false;
    setConflict(null);
    setEditingId(id);
    return true;
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
      if (!(err instanceof ApiError && err.status === 401)) setError(describe(err));
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
      if (!(err instanceof ApiError && err.status === 401)) setError(describe(err));
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
      if (!(err instanceof ApiError && err.status === 401)) setError(describe(err));
    }
  }

  async function signOut() {
    leaving.current = true;
    stopLive.current();
    await forgetPushSubscription(client);
    await authClient.signOut();
    apiToken.clear();
    if (typeof BroadcastChannel !== 'undefined') {
      const channel = new BroadcastChannel(AUTH_CHANNEL);
      channel.postMessage('signed-out');
      channel.close();
    }
    router.replace('/sign-in?reason=signed-out');
    router.refresh();
  }

  // ------------------------------------------------------------ order, subtasks

  /** "My order" of one list, unfiltered: the tree, dragged to reorder; indent and outdent. */
  const tree = scope === null && listId !== null && filters.sort === 'position' && !isFiltered(filters) && cursors.length === 1;
  /** A task of a list can be dragged onto another list of the sidebar; in My order, also among its siblings. */
  const draggable = !readOnly && scope === null && listId !== null;
  const rows: Row[] = useMemo(() => {
    const all = tasks ?? [];
    // My order: the tree, the completed top-level tasks (with their subtasks) in "Completed" below.
    if (tree) {
      const roots = buildTree(all);
      return [...flatten(roots.filter((n) => !n.task.completed), collapsed), ...flatten(roots.filter((n) => n.task.completed), collapsed)];
    }
    return all.map((task) => ({ task, depth: 0 }));
  }, [tasks, tree, collapsed]);
  const childrenOf = useMemo(() => {
    const m = new Map<number, Task[]>();
    for (const t of tasks ?? []) {
      if (t.parent_id === null) continue;
      m.set(t.parent_id, [...(m.get(t.parent_id) ?? []), t]);
    }
    for (const [k, v] of m) m.set(k, v.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : a.id - b.id)));
    return m;
  }, [tasks]);
  /** The siblings of a task on this page, in order. */
  const siblingsOf = (task: Task): Task[] =>
    (task.parent_id === null ? (tasks ?? []).filter((t) => t.parent_id === null) : (childrenOf.get(task.parent_id) ?? [])).sort((a, b) =>
      a.position < b.position ? -1 : a.position > b.position ? 1 : a.id - b.id,
    );

  function move(task: Task, to: Parameters<TaskClient['tasks']['move']>[1], optimistic?: Partial<Task>) {
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

  function onDragEnd({ active, over }: DragEndEvent) {
    const a = parseDndId(active.id);
    const o = parseDndId(over?.id);
    if (a?.kind !== 'task' || !o || a.id === o.id) return;
    const task = (tasks ?? []).find((t) => t.id === a.id);
    if (!task) return;
    // Dropped on a list of the sidebar: moved there, with its subtasks.
    if (o.kind === 'list') {
      if (o.id !== task.list_id && list?.lists.some((l) => l.id === o.id && l.role !== 'viewer')) void move(task, { list_id: o.id, parent_id: null });
      return;
    }
    if (!tree) return;
    const from = rows.findIndex((r) => r.task.id === a.id);
    const to = rows.findIndex((r) => r.task.id === o.id);
    const dragged = rows[from]?.task;
    const target = rows[to]?.task;
    if (!dragged || !target) return;
    // Dropped on a task: it goes right after it (moving down) or right before it (moving up), among its siblings.
    const down = to > from;
    const sibs = siblingsOf(target).filter((t) => t.id !== dragged.id);
    const i = sibs.findIndex((t) => t.id === target.id);
    const after = down ? target : sibs[i - 1];
    void move(
      dragged,
      { ...(dragged.parent_id !== target.parent_id ? { parent_id: target.parent_id } : {}), ...(down ? { after_id: target.id } : { before_id: target.id }) },
      { parent_id: target.parent_id, position: after ? optimisticPosition(after) : '' },
    );
  }

  useDndMonitor({ onDragEnd });

  // ------------------------------------------------------------ keyboard

  /** Where "Completed" starts: the first completed top-level task of My order. */
  const split = tree ? rows.findIndex((r) => r.depth === 0 && r.task.completed) : -1;
  const pending = split < 0 ? rows : rows.slice(0, split);
  const done = split < 0 ? [] : rows.slice(split);
  const visible = hideCompleted ? pending : rows;
  const current = visible.find((r) => r.task.id === cursorId)?.task ?? null;
  useShortcuts((action: ShortcutAction) => {
    if (action === 'help') {
      setHelp((h) => !h);
      return true;
    }
    if (action === 'escape') {
      setHelp(false);
      setEditingId(null);
      return true;
    }
    if (action === 'new') {
      const input = quickAdd.current?.querySelector<HTMLInputElement>('input[name=title]');
      if (!input || readOnly) return false;
      input.focus();
      return true;
    }
    if (action === 'next' || action === 'previous') {
      const i = visible.findIndex((r) => r.task.id === cursorId);
      const next = visible[action === 'next' ? Math.min(visible.length - 1, i + 1) : Math.max(0, i - 1)];
      if (!next) return false;
      setCursorId(next.task.id);
      return true;
    }
    if (!current || readOnly) return false;
    if (action === 'toggle') {
      toggle(current, !current.completed);
      return true;
    }
    if (action === 'open') {
      setConflict(null);
      setEditingId(current.id);
      return true;
    }
    if (action === 'delete') {
      const i = visible.findIndex((r) => r.task.id === current.id);
      setCursorId(visible[i + 1]?.task.id ?? visible[i - 1]?.task.id ?? null);
      void run(() => client.tasks.delete(current.id));
      return true;
    }
    if (!tree) return false;
    const fn = action === 'indent' ? indentOf(current) : outdentOf(current);
    fn?.();
    return true;
  });
  // The selected row takes the focus (a screen reader follows), and Tab on it indents.
  useEffect(() => {
    if (cursorId === null) return;
    const li = document.querySelector<HTMLElement>(`li[data-testid=task][data-id="${cursorId}"]`);
    if (li && !li.contains(document.activeElement)) li.focus({ preventScroll: false });
  }, [cursorId]);

  function toggle(task: Task, completed: boolean) {
    // Optimistic: show it at once; the refetch after the call shows the truth.
    setPage((current) => current.map((t) => (t.id === task.id ? { ...t, completed } : t)));
    void run(() => completeTask(client, task, completed));
  }

  // ------------------------------------------------------------ the page

  const filtered = isFiltered(filters);
  const pageNo = cursors.length;
  const listNames = useMemo(() => new Map((list?.lists ?? []).map((l) => [l.id, l.name])), [list?.lists]);
  const title = list?.title ?? 'Tasks';

  const renderRow = ({ task, depth }: Row) => {
    if (editingId === task.id) {
      return (
        <TaskDetails
          key={task.id}
          task={editing ?? task}
          subtasks={childrenOf.get(task.id) ?? []}
          lists={list?.lists ?? []}
          actions={{
            onSave: (e) => void save(e, editing ?? task),
            onCancel: () => setEditingId(null),
            onMoveToList: (id) => void move(task, { list_id: id, parent_id: null }),
            onIndent: indentOf(task),
            onOutdent: outdentOf(task),
            onAddSubtask: (subtitle) => create({ title: subtitle, parent_id: task.id, ...(task.list_id ? { list_id: task.list_id } : {}) }),
          }}
        />
      );
    }
    const kids = childrenOf.get(task.id);
    return (
      <TaskRow
        key={task.id}
        task={task}
        depth={depth}
        progress={kids?.length ? { done: kids.filter((k) => k.completed).length, total: kids.length } : null}
        collapsed={collapsed.has(task.id)}
        onCollapse={() =>
          setCollapsed((c) => {
            const n = new Set(c);
            if (!n.delete(task.id)) n.add(task.id);
            return n;
          })
        }
        readOnly={readOnly}
        sortable={draggable}
        cursor={cursorId === task.id}
        mode={offline}
        client={client}
        onToggle={(completed) => toggle(task, completed)}
        onEdit={() => {
          setConflict(null);
          setCursorId(task.id);
          setEditingId(task.id);
        }}
        onDelete={() => void run(() => client.tasks.delete(task.id))}
        onTag={(tag) => change({ tag })}
        onSelect={() => setCursorId(task.id)}
        onChanged={load}
        extra={list?.taskExtra?.(task)}
        listName={listId === null ? listNames.get(task.list_id) : undefined}
        conflict={conflict?.id === task.id ? conflict.text : undefined}
      />
    );
  };

  let body;
  if (scope === 'upcoming') {
    const days = new Map<string, Row[]>();
    for (const r of visible) {
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
    body = (
      <>
        <ul className="tasks" data-testid="tasks">
          {pending.map(renderRow)}
        </ul>
        {done.length > 0 ? (
          <section className="done" aria-label="Completed">
            <button type="button" className="link done-toggle" aria-expanded={!hideCompleted} onClick={() => setHideCompleted((h) => !h)}>
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
    <>
      <header className="top">
        <div className="row">
          {list?.menu}
          <h1 data-testid="page-title">{title}</h1>
        </div>
        <div className="row account">
          <button type="button" className="link" onClick={() => setHelp(true)} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">
            ?
          </button>
          <a href="/settings">Settings</a>
          <span data-testid="user-email" className="email">
            {email}
          </span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main>
        {list?.bar}
        {notice ? (
          <p className="notice" role="status" data-testid="notice">
            {notice.text}
          </p>
        ) : null}
        {error || loadError ? (
          <p className="error" role="alert" data-testid="error">
            {error ?? loadError}
          </p>
        ) : null}
        <ReminderCenter client={client} onOpenTask={openTask} />
        <OfflinePanel mode={offline} />

        <QuickAdd ref={quickAdd} hidden={readOnly} onCreate={create} />

        {scope === 'today' || scope === 'upcoming' ? null : <Toolbar filters={filters} search={search} onSearch={setSearch} onChange={change} tags={tags} />}

        {tasks === null ? (
          <p className="muted">Loading…</p>
        ) : (
          <p className="muted count" data-testid="count">
            {tasks.length === 0
              ? filtered
                ? 'No tasks match these filters'
                : pageNo > 1
                  ? 'No more tasks'
                  : 'No tasks yet'
              : `${tasks.length} ${tasks.length === 1 ? 'task' : 'tasks'}${pageNo > 1 || nextCursor ? ` on page ${pageNo}` : ''}`}
          </p>
        )}
        {tasks !== null && tasks.length === 0 && pageNo === 1 ? (
          <div className="empty" data-testid="empty">
            {filtered ? (
              <>
                <p>Nothing matches. Try fewer filters.</p>
                <button type="button" onClick={() => { setSearch(''); change({ ...DEFAULT_FILTERS, sort: filters.sort, limit: filters.limit }); }}>
                  Clear filters
                </button>
              </>
            ) : (
              <p>{readOnly ? 'This list has no tasks yet.' : EMPTY[scope ?? 'list']}</p>
            )}
          </div>
        ) : null}

        <SortableContext id="tasks" items={visible.map((r) => taskDndId(r.task.id))} strategy={tree ? verticalListSortingStrategy : () => null} disabled={!draggable}>
          {body}
        </SortableContext>

        <div className="footer-row" hidden={scope === 'today' || scope === 'upcoming'}>
          <div className="pager">
            <button type="button" disabled={pageNo === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
              Previous page
            </button>
            <span data-testid="page">Page {pageNo}</span>
            <button type="button" disabled={nextCursor === null} onClick={() => setCursors((c) => [...c, nextCursor ?? undefined])}>
              Next page
            </button>
          </div>
          <button
            type="button"
            hidden={readOnly}
            onClick={() =>
              void (async () => {
                // A server action: the Next.js server calls the API with the user's JWT.
                const result = await clearCompleted(listId ?? undefined);
                await load();
                if ('error' in result) setError(result.error);
                else setNotice({ kind: 'info', text: `Cleared ${result.deleted} completed ${result.deleted === 1 ? 'task' : 'tasks'}.` });
              })()
            }
          >
            Clear completed
          </button>
        </div>
        <p className={`live ${live}`} data-testid="live" data-state={live}>
          {LIVE_TEXT[live]}
        </p>
      </main>
      {help ? <ShortcutHelp onClose={() => setHelp(false)} /> : null}
    </>
  );
}

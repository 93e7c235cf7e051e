'use client';
/**
 * The task list: every call goes from the browser to the Task API through @task-api/client, with a
 * Better Auth JWT (`authClient.token()`, cached until shortly before it expires).
 *   - 401 (after one fresh token): back to /sign-in
 *   - 503/429 with Retry-After: the client waits and retries; a notice says so meanwhile
 *   - a stale edit (412 PRECONDITION_FAILED with If-Match): the newer task is shown, nothing overwritten
 *   - the event stream (ticket + EventSource) reloads the page whenever a task changes elsewhere
 */
import {
  ApiError,
  createTaskClient,
  newIdempotencyKey,
  type Change,
  type ConnectionState,
  type ListQuery,
  type Priority,
  type Sort,
  type TagCount,
  type Task,
  type TaskClient,
  type TaskCreate,
} from '@task-api/client';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';

import { AUTH_CHANNEL, apiToken } from '@/lib/api-token';
import { authClient } from '@/lib/auth-client';
import { useOffline } from '@/lib/offline';
import { forgetPushSubscription } from '@/lib/push';

import { clearCompleted } from './actions';
import type { ListView } from './list-view';
import { OfflinePanel, SelectBox } from './offline-panel';
import { RecurrencePicker, readRecurrenceForm } from './recurrence-picker';
import { announceReminder, ReminderCenter } from './reminder-toast';
import { readReminders, RemindersField } from './reminders-field';
import { TaskRecurrence, completeTask } from './task-recurrence';


type StatusFilter = 'all' | 'pending' | 'completed';
interface Message {
  kind: 'retry' | 'info' | 'load' | 'action';
  text: string;
}
type DueFilter = '' | 'overdue' | 'week';
interface Filters {
  q: string;
  status: StatusFilter;
  priority: '' | Priority;
  tag: string;
  due: DueFilter;
  sort: Sort;
  limit: number;
}
const DEFAULT_FILTERS: Filters = { q: '', status: 'all', priority: '', tag: '', due: '', sort: '-created_at', limit: 10 };

const PRIORITIES: { value: Priority; label: string }[] = [
  { value: 'none', label: 'None' },
  { value: 'low', label: 'Low' },
  { value: 'medium', label: 'Medium' },
  { value: 'high', label: 'High' },
];
const SORTS: { value: Sort; label: string }[] = [
  { value: '-created_at', label: 'Newest first' },
  { value: 'created_at', label: 'Oldest first' },
  { value: '-updated_at', label: 'Recently changed' },
  { value: 'due_at', label: 'Due date' },
  { value: '-priority', label: 'Priority' },
  { value: 'title', label: 'Title' },
];
const PAGE_SIZES = [2, 5, 10, 20, 50].map((n) => ({ value: n, label: String(n) }));

/** The <option>s of a list of choices. */
function Options({ of }: { of: readonly { value: string | number; label: string }[] }) {
  return (
    <>
      {of.map((o) => (
        <option key={o.value} value={o.value}>
          {o.label}
        </option>
      ))}
    </>
  );
}

const LIVE_TEXT: Record<ConnectionState, string> = {
  connecting: 'Live updates: connecting…',
  open: 'Live updates: on',
  reconnecting: 'Live updates: reconnecting…',
  unavailable: 'Live updates: unavailable',
  closed: 'Live updates: off',
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

const pad = (n: number): string => String(n).padStart(2, '0');
/** A due date in the browser's time zone, e.g. 2026-12-24 17:00. */
function formatDue(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
/** The value of an <input type="datetime-local"> for an instant. */
function toLocalInput(iso: string | null | undefined): string {
  return iso ? formatDue(iso).replace(' ', 'T') : '';
}
function parseTags(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}
function readTaskForm(form: FormData): TaskCreate {
  const due = String(form.get('due') ?? '');
  const description = String(form.get('description') ?? '').trim();
  return {
    title: String(form.get('title') ?? ''),
    description: description === '' ? null : description,
    priority: String(form.get('priority') ?? 'none') as Priority,
    tags: parseTags(String(form.get('tags') ?? '')),
    due_at: due === '' ? null : new Date(due).toISOString(),
    reminders: readReminders(form),
    ...readRecurrenceForm(form),
  };
}

function applyChange(tasks: Task[], change: Change): Task[] {
  if (change.type === 'delete') return tasks.filter((t) => t.id !== change.id);
  return tasks.map((t) => (t.id === change.task.id ? change.task : t));
}

/** The fields of the new-task and the edit forms (named as readTaskForm reads them); `children` end the second row. */
function TaskFields({ task, children }: { task?: Task; children: ReactNode }) {
  return (
    <>
      <div className="row">
        <label className="wide">
          Title
          <input name="title" required maxLength={200} defaultValue={task?.title} placeholder={task ? undefined : 'What needs doing?'} />
        </label>
        <label className="wide">
          Description
          <input name="description" maxLength={1000} defaultValue={task ? (task.description ?? '') : undefined} />
        </label>
      </div>
      <div className="row">
        <label>
          Priority
          <select name="priority" defaultValue={task?.priority ?? 'none'}>
            <Options of={PRIORITIES} />
          </select>
        </label>
        <label>
          Tags
          <input name="tags" defaultValue={task?.tags.join(', ')} placeholder={task ? undefined : 'comma, separated'} />
        </label>
        <label>
          Due
          <input name="due" type="datetime-local" defaultValue={task ? toLocalInput(task.due_at) : undefined} />
        </label>
        {children}
      </div>
      <RecurrencePicker task={task} />
      <RemindersField task={task} />
    </>
  );
}

export function TaskApp({ apiUrl, userId, email, list }: { apiUrl: string; userId: string; email: string; list?: ListView }) {
  // One list (shared-lists.tsx): its tasks only, new tasks go there, a viewer only reads.
  const listId = list?.id;
  const readOnly = list?.readOnly === true;
  const listRef = useRef(list);
  listRef.current = list;
  const router = useRouter();
  const routerRef = useRef(router);
  routerRef.current = router;
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
  const [tasks, setTasks] = useState<Task[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [tags, setTags] = useState<TagCount[] | null>(null);
  /** What failed: loading the list (gone with the next good load), or an action (gone with the next action). */
  const [error, setError] = useState<Message | null>(null);
  const [conflict, setConflict] = useState<{ id: number; text: string } | null>(null);
  const [editing, setEditing] = useState<Task | null>(null);
  const [live, setLive] = useState<ConnectionState>('connecting');
  const [busy, setBusy] = useState(false);
  const seq = useRef(0);

  const load = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const page = await client.tasks.list({ ...toQuery(filters, cursor), ...(listId !== undefined ? { list_id: listId } : {}) });
      if (mine !== seq.current) return;
      setTasks(page.tasks);
      setNextCursor(page.nextCursor);
      // A reload (a live event, say) clears what was about loading, not an action's outcome.
      setError((e) => (e?.kind === 'load' ? null : e));
      setNotice((n) => (n?.kind === 'retry' ? null : n));
    } catch (err) {
      if (mine !== seq.current) return;
      if (err instanceof ApiError && err.status === 401) return; // onUnauthorized navigates
      setError({ kind: 'load', text: describe(err) });
      setNotice((n) => (n?.kind === 'retry' ? null : n));
    }
    try {
      setTags(await client.tags.list());
    } catch {
      // the tag suggestions are a nicety: the list above says what went wrong
    }
  }, [client, filters, cursor, listId]);

  const loadRef = useRef(load);
  loadRef.current = load;
  // Reloads for live events, coalesced: one at a time, plus one more if events came meanwhile. No
  // timers: a background tab's timers are throttled to about once a second, its events are not.
  const reloading = useRef<Promise<void> | null>(null);
  const dirty = useRef(false);
  const scheduleReload = useCallback(function reload() {
    if (reloading.current) {
      dirty.current = true;
      return;
    }
    reloading.current = loadRef.current().finally(() => {
      reloading.current = null;
      if (dirty.current) {
        dirty.current = false;
        reload();
      }
    });
  }, []);

  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => offline.onSynced(scheduleReload), [offline, scheduleReload]);

  // The search box applies itself 250 ms after the last keystroke.
  useEffect(() => {
    if (search === filters.q) return;
    const t = setTimeout(() => {
      setFilters((f) => ({ ...f, q: search }));
      setCursors([undefined]);
    }, 250);
    return () => clearTimeout(t);
  }, [search, filters.q]);

  // Live updates: every change anywhere (another tab, device, or a script) reloads this page.
  const stopLive = useRef<() => void>(() => {});
  useEffect(() => {
    const unsubscribe = client.events.subscribe({
      onChange: (change) => {
        setTasks((current) => (current ? applyChange(current, change) : current));
        scheduleReload();
      },
      // Ready (also after a reconnect): reload once, for what changed before the stream was open.
      onReady: () => {
        scheduleReload();
        listRef.current?.onReady?.();
      },
      onStateChange: setLive,
      onReminder: announceReminder,
      onListChange: (change) => listRef.current?.onListChange?.(change),
    }, listRef.current ? { include: ['lists'] } : {});
    stopLive.current = unsubscribe;
    return unsubscribe;
  }, [client, scheduleReload]);

  // Signed out in another tab: forget the token and stop the stream; the reload then gets a real
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

  // A reminder's toast or notification opens its task: its edit form, when the list shows it.
  const openTask = (id: number): boolean => {
    const task = tasks?.find((t) => t.id === id);
    if (!task) return false;
    setConflict(null);
    setEditing(task);
    return true;
  };

  // One Idempotency-Key per logical create: a resubmit of the same form after a failure reuses it.
  const pendingCreate = useRef<{ body: string; key: string } | null>(null);
  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const input = { ...readTaskForm(new FormData(formEl)), ...(listId !== undefined ? { list_id: listId } : {}) };
    const body = JSON.stringify(input);
    if (pendingCreate.current?.body !== body) pendingCreate.current = { body, key: newIdempotencyKey() };
    setBusy(true);
    try {
      await client.tasks.create(input, { idempotencyKey: pendingCreate.current.key });
      pendingCreate.current = null;
      formEl.reset();
      setError(null);
      setNotice(null);
      await load();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError({ kind: 'action', text: describe(err) });
    } finally {
      setBusy(false);
    }
  }

  async function run(action: () => Promise<unknown>) {
    try {
      await action();
      setError(null);
      setNotice(null);
      await load();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError({ kind: 'action', text: describe(err) });
      await load();
    }
  }

  async function save(event: FormEvent<HTMLFormElement>, base: Task) {
    event.preventDefault();
    const patch = readTaskForm(new FormData(event.currentTarget));
    try {
      const result = await client.tasks.updateIfUnchanged(base, patch);
      setEditing(null);
      if (!result.ok) {
        setConflict({
          id: base.id,
          text: result.current
            ? 'This task was changed elsewhere. Showing the newer version; your edit was not saved.'
            : 'This task was deleted elsewhere; your edit was not saved.',
        });
        setTasks((current) =>
          current && (result.current ? current.map((t) => (t.id === base.id ? (result.current as Task) : t)) : current.filter((t) => t.id !== base.id)),
        );
        return;
      }
      setConflict(null);
      setError(null);
      await load();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError({ kind: 'action', text: describe(err) });
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

  const filtered =
    filters.q !== '' || filters.status !== 'all' || filters.priority !== '' || filters.tag !== '' || filters.due !== '';
  const pageNo = cursors.length;

  return (
    <>
      <header className="top">
        <h1>Tasks</h1>
        <div className="row">
          <a href="/settings">Settings</a>
          <span data-testid="user-email">{email}</span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main>
        {list?.bar}
        <p className={`live ${live}`} data-testid="live" data-state={live}>
          {LIVE_TEXT[live]}
        </p>
        {notice ? (
          <p className="notice" role="status" data-testid="notice">
            {notice.text}
          </p>
        ) : null}
        {error ? (
          <p className="error" role="alert" data-testid="error">
            {error.text}
          </p>
        ) : null}
        <ReminderCenter client={client} onOpenTask={openTask} />
        <OfflinePanel mode={offline} />

        <form onSubmit={(e) => void create(e)} aria-label="New task" data-testid="create-form" hidden={readOnly}>
          <fieldset>
            <legend>New task</legend>
            <TaskFields>
              <button className="primary" type="submit" disabled={busy}>
                Add task
              </button>
            </TaskFields>
          </fieldset>
        </form>

        <fieldset data-testid="filters">
          <legend>Find</legend>
          <div className="row">
            <label className="wide">
              Search
              <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="title or description" />
            </label>
            <label>
              Status
              <select value={filters.status} onChange={(e) => change({ status: e.target.value as StatusFilter })}>
                <option value="all">All</option>
                <option value="pending">Pending</option>
                <option value="completed">Completed</option>
              </select>
            </label>
            <label>
              Priority filter
              <select value={filters.priority} onChange={(e) => change({ priority: e.target.value as '' | Priority })}>
                <option value="">Any priority</option>
                <Options of={[...PRIORITIES].reverse()} />
              </select>
            </label>
            <label>
              Tag filter
              <input list="tag-options" value={filters.tag} onChange={(e) => change({ tag: e.target.value })} placeholder="any tag" />
              <datalist id="tag-options">
                {(tags ?? []).map((t) => (
                  <option key={t.name} value={t.name}>{`${t.name} (${t.count})`}</option>
                ))}
              </datalist>
            </label>
            <label>
              Due filter
              <select value={filters.due} onChange={(e) => change({ due: e.target.value as DueFilter })}>
                <option value="">Any due date</option>
                <option value="overdue">Overdue</option>
                <option value="week">Due in 7 days</option>
              </select>
            </label>
            <label>
              Sort
              <select value={filters.sort} onChange={(e) => change({ sort: e.target.value as Sort })}>
                <Options of={SORTS} />
              </select>
            </label>
            <label>
              Per page
              <select value={filters.limit} onChange={(e) => change({ limit: Number(e.target.value) })}>
                <Options of={PAGE_SIZES} />
              </select>
            </label>
          </div>
        </fieldset>

        {tasks === null ? (
          <p className="muted">Loading…</p>
        ) : (
          <p className="muted" data-testid="count">
            {tasks.length === 0
              ? filtered
                ? 'No tasks match these filters'
                : pageNo > 1
                  ? 'No more tasks'
                  : 'No tasks yet'
              : `${tasks.length} ${tasks.length === 1 ? 'task' : 'tasks'}${pageNo > 1 || nextCursor ? ` on page ${pageNo}` : ''}`}
          </p>
        )}

        <ul className="tasks" data-testid="tasks">
          {(tasks ?? []).map((task) =>
            editing?.id === task.id ? (
              <li key={task.id} data-testid="task" data-id={task.id} data-editing="true">
                <form onSubmit={(e) => void save(e, editing)} aria-label={`Edit ${editing.title}`}>
                  <TaskFields task={editing}>
                    <button className="primary" type="submit">
                      Save
                    </button>
                    <button type="button" onClick={() => setEditing(null)}>
                      Cancel
                    </button>
                  </TaskFields>
                </form>
              </li>
            ) : (
              <li
                key={task.id}
                data-testid="task"
                data-id={task.id}
                data-completed={String(task.completed)}
                data-pending={offline.isPending(task) ? 'true' : undefined}
                className={task.completed ? 'completed' : undefined}
              >
                <div className="task-head">
                  {readOnly ? null : <SelectBox mode={offline} task={task} />}
                  <input
                    type="checkbox"
                    checked={task.completed}
                    disabled={readOnly}
                    aria-label={`Completed: ${task.title}`}
                    onChange={(e) => {
                      const completed = e.target.checked;
                      // Optimistic: show it at once; the reload after the call shows the truth.
                      setTasks((current) => current && current.map((t) => (t.id === task.id ? { ...t, completed } : t)));
                      void run(() => completeTask(client, task, completed));
                    }}
                  />
                  <span className="title" data-testid="task-title">
                    {task.title}
                  </span>
                  <span className="actions" hidden={readOnly}>
                    <button
                      type="button"
                      onClick={() => {
                        setConflict(null);
                        setEditing(task);
                      }}
                    >
                      Edit
                    </button>
                    <button type="button" className="danger" onClick={() => void run(() => client.tasks.delete(task.id))}>
                      Delete
                    </button>
                  </span>
                </div>
                <div className="task-meta">
                  {task.description ? (
                    <span className="muted" data-testid="task-description">
                      {task.description}
                    </span>
                  ) : null}
                  {task.priority !== 'none' ? (
                    <span className={`badge priority-${task.priority}`} data-testid="task-priority">
                      {PRIORITIES.find((p) => p.value === task.priority)?.label ?? task.priority}
                    </span>
                  ) : null}
                  {task.tags.map((tag) => (
                    <button key={tag} type="button" className="tag" data-testid="task-tag" onClick={() => change({ tag })}>
                      #{tag}
                    </button>
                  ))}
                  {task.due_at ? (
                    <span className="badge" data-testid="task-due">
                      Due {formatDue(task.due_at)}
                    </span>
                  ) : null}
                  {list?.taskExtra?.(task)}
                </div>
                <TaskRecurrence client={client} task={task} onChanged={load} />
                {conflict?.id === task.id ? (
                  <p className="notice" role="alert" data-testid="conflict">
                    {conflict.text}
                  </p>
                ) : null}
              </li>
            ),
          )}
        </ul>

        <div className="row" hidden={readOnly}>
          <button
            type="button"
            onClick={() =>
              void (async () => {
                // A server action: the Next.js server calls the API with the user's JWT.
                const result = await clearCompleted(listId);
                await load();
                if ('error' in result) setError({ kind: 'action', text: result.error });
                else setNotice({ kind: 'info', text: `Cleared ${result.deleted} completed ${result.deleted === 1 ? 'task' : 'tasks'}.` });
              })()
            }
          >
            Clear completed
          </button>
        </div>

        <div className="pager">
          <button type="button" disabled={pageNo === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Previous page
          </button>
          <span data-testid="page">Page {pageNo}</span>
          <button type="button" disabled={nextCursor === null} onClick={() => setCursors((c) => [...c, nextCursor ?? undefined])}>
            Next page
          </button>
        </div>
      </main>
    </>
  );
}

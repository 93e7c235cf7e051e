'use client';
/**
 * Offline mode for the task page: a wrapper around the page's TaskClient, so the page's data flow is
 * unchanged (it still calls `client.tasks.list/create/updateIfUnchanged/setCompleted/delete`):
 *
 *   - online with nothing queued: every call goes straight to the API, as before;
 *   - offline (`navigator.onLine` false), or while changes are still queued (so they keep their order):
 *     writes go to an `Outbox` kept in IndexedDB (`indexedDbStorage('task-outbox-<user id>')`), sent
 *     as one `POST /tasks/batch` with one stored Idempotency-Key when the browser is back online, with
 *     a fresh token (the token endpoint is unreachable offline: the queue just waits);
 *   - reads: each page the API answers is kept (Cache Storage, per user); offline, the page asked for
 *     is that copy. Every list has the queued changes applied on top (`optimistic`): a queued task has
 *     `pending: true`, a task created offline has a temporary negative id until the server has it;
 *   - conflicts (412 on a queued edit or delete) wait for "keep mine" / "take theirs";
 *   - deletes are announced (`onDeleted`) for the undo toast: undo restores from the trash, or drops
 *     the delete still queued.
 *
 * The app shell (HTML of /tasks and /trash, /_next/static) is cached by public/sw-offline.js; this
 * module warms that cache from the page once the service worker is registered.
 */
import {
  ApiError,
  Outbox,
  createTaskClient,
  indexedDbStorage,
  memoryStorage,
  newIdempotencyKey,
  optimistic,
  type BatchOperation,
  type BatchResult,
  type Conflict,
  type ConditionalUpdate,
  type List,
  type ListQuery,
  type QueuedOp,
  type Task,
  type TaskClient,
  type TaskCreate,
  type TaskPage,
  type TaskUpdate,
  type TokenProvider,
} from '@task-api/client';
import { useEffect, useMemo, useSyncExternalStore } from 'react';

import { AUTH_CHANNEL } from './api-token';
import { registerServiceWorker } from './service-worker';

/** The Cache Storage name shared with public/sw-offline.js. */
export const SHELL_CACHE = 'task-example-shell-v1';
/** The pages and lists kept for offline (Cache Storage, keys under /offline-data/<user id>/): sw-offline.js deletes it on sign-out. */
export const DATA_CACHE = 'task-example-data-v1';
type Pages = Record<string, { tasks: Task[]; nextCursor: string | null; at: number }>;
const MAX_PAGES = 20;

export interface OfflineSnapshot {
  online: boolean;
  /** Operations not yet answered by the API. */
  queued: number;
  conflicts: Conflict[];
  /** The app shell is cached (a reload offline works). */
  shellReady: boolean;
  /** Ids (negative: created offline) of the selected tasks. */
  selected: number[];
  /** What the last bulk action or flush had to say (rejections, failures). */
  message: string | null;
  /** This tab holds the outbox (false while another tab of the same browser and user does). */
  owner: boolean;
}

/** A task the page shows: the server's, possibly with queued changes on top (`pending`). */
export type ShownTask = Task & { pending?: boolean };

export interface Deletion {
  tasks: Task[];
  /** Undo: drops the deletes still queued, restores from the trash those the API has done. */
  undo: () => Promise<void>;
}

type Listener = () => void;

function isOnline(): boolean {
  // On the server (Node has a `navigator` without `onLine`) the page renders as online.
  return typeof navigator === 'undefined' || navigator.onLine !== false;
}

function queryKey(query: ListQuery | undefined): string {
  const { due_after: _a, due_before: _b, ...rest } = (query ?? {}) as ListQuery & { due_after?: string; due_before?: string };
  const q = query as { due_after?: string; due_before?: string } | undefined;
  // Due filters hold "now": key them by their kind, not their instant.
  return JSON.stringify({ ...rest, due: q?.due_after ? 'week' : q?.due_before ? 'overdue' : '' });
}

/**
 * The user's lists for a page that must also render offline (app/tasks/shared-lists.tsx): online,
 * `fetch()` (the API's answer), kept in the same place OfflineMode keeps them; offline, or when the
 * API cannot be reached, the kept copy (an empty array if there is none).
 */
export async function listsForOffline(userId: string, fetch: () => Promise<List[]>): Promise<List[]> {
  const key = `/offline-data/${encodeURIComponent(userId)}/lists.json`;
  const kept = async (): Promise<List[] | null> => {
    try {
      const res = await (await caches.open(DATA_CACHE)).match(key);
      return res ? ((await res.json()) as List[]) : null;
    } catch {
      return null;
    }
  };
  if (isOnline()) {
    try {
      const lists = await fetch();
      if (typeof caches !== 'undefined') {
        void caches
          .open(DATA_CACHE)
          .then((c) => c.put(key, new Response(JSON.stringify(lists), { headers: { 'content-type': 'application/json' } })))
          .catch(() => {});
      }
      return lists;
    } catch (err) {
      const copy = await kept();
      if (copy === null) throw err;
      return copy;
    }
  }
  const copy = await kept();
  if (copy === null) throw new Error('You are offline, and this device has no copy of your lists yet.');
  return copy;
}

/** Thrown by a write this tab cannot queue: another tab of the same browser holds the outbox. */
export const OTHER_TAB = 'You are offline, and another open tab of this app keeps the offline changes: make them there (or close it, and this tab takes over).';

export class OfflineMode {
  /** The outbox, once this tab holds it (one tab per browser and user: see `start`). */
  private outbox: Outbox | null = null;
  /** The page's client, wrapped: see the module's comment. */
  readonly client: TaskClient;
  private readonly listeners = new Set<Listener>();
  private readonly synced = new Set<Listener>();
  private readonly deletedListeners = new Set<(d: Deletion) => void>();
  private snapshot: OfflineSnapshot;
  private ops: QueuedOp[] = [];
  /** Every task shown lately, by id (for versions, titles and refs). */
  private readonly known = new Map<number, Task>();
  /** uid → temporary (negative) id of the tasks created offline. */
  private readonly tempIds = new Map<string, number>();
  private nextTemp = -1;
  /** opId → task id of the queued deletes the API has applied (for undo). */
  private readonly deletedIds = new Map<string, number>();
  private readonly pagesKey: string;
  private readonly listsKey: string;

  constructor(
    private readonly online: TaskClient,
    private readonly userId: string,
    private readonly outboxClient: TaskClient,
  ) {
    this.pagesKey = `/offline-data/${encodeURIComponent(userId)}/pages.json`;
    this.listsKey = `/offline-data/${encodeURIComponent(userId)}/lists.json`;
    this.snapshot = { online: isOnline(), queued: 0, conflicts: [], shellReady: false, selected: [], message: null, owner: false };
    this.client = this.wrap(online);
  }

  // ------------------------------------------------------------ store (useSyncExternalStore)

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): OfflineSnapshot => this.snapshot;

  private set(patch: Partial<OfflineSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const l of this.listeners) l();
  }

  /** Called after the queue changed on the server's side (applied, conflict, rejected): the page reloads. */
  onSynced(listener: Listener): () => void {
    this.synced.add(listener);
    return () => this.synced.delete(listener);
  }

  onDeleted(listener: (d: Deletion) => void): () => void {
    this.deletedListeners.add(listener);
    return () => this.deletedListeners.delete(listener);
  }

  private async refreshQueue(): Promise<void> {
    if (!this.outbox) return;
    this.ops = await this.outbox.pending();
    const conflicts = await this.outbox.conflicts();
    this.set({ queued: this.ops.length, conflicts });
  }

  /** The outbox, or the error a write gets in a tab that does not hold it. */
  private box(): Outbox {
    if (!this.outbox) throw new Error(OTHER_TAB);
    return this.outbox;
  }

  /** This tab takes the outbox: loads the queue kept in IndexedDB, listens to it, starts flushing. */
  private own(): () => void {
    let storage;
    try {
      storage = indexedDbStorage(`task-outbox-${this.userId}`);
    } catch {
      storage = memoryStorage(); // no IndexedDB (some private windows): queued changes last until a reload
    }
    const outbox = new Outbox(this.outboxClient, { storage });
    this.outbox = outbox;
    const offs: (() => void)[] = [];
    const notifySynced = () => {
      void this.refreshQueue().then(() => {
        for (const l of this.synced) l();
      });
    };
    offs.push(outbox.on('queued', () => void this.refreshQueue()));
    offs.push(
      outbox.on('applied', ({ op, result }) => {
        const id = (result as { data?: { id?: number } }).data?.id;
        if (op.op === 'delete' && typeof id === 'number') this.deletedIds.set(op.opId, id);
        notifySynced();
      }),
    );
    offs.push(outbox.on('conflict', notifySynced));
    offs.push(
      outbox.on('rejected', (r) => {
        this.set({ message: `A change was not saved: ${r.error.detail ?? r.error.error ?? r.error.status}` });
        notifySynced();
      }),
    );
    this.set({ owner: true });
    void this.refreshQueue().then(() => {
      if (this.ops.length > 0) for (const l of this.synced) l(); // a queue from before a reload: show it
    });
    // The outbox flushes now, when something is queued, on `online`, and with backoff after failures;
    // never while the browser says it is offline.
    const stop = outbox.start({ baseMs: 1000, maxMs: 15_000, onReport: () => void this.refreshQueue() });
    return () => {
      stop();
      for (const off of offs) off();
      this.outbox = null;
    };
  }

  /**
   * Starts offline mode; returns the function that stops it. One tab per browser and user holds the
   * outbox (a Web Lock named after the database): two Outbox objects on one IndexedDB record would
   * overwrite each other's queue. The other tabs write straight to the API while online; offline,
   * their writes are refused with OTHER_TAB until the holder closes and they take over its queue.
   */
  start(): () => void {
    const offs: (() => void)[] = [];
    const locks = (navigator as Navigator & { locks?: LockManager }).locks;
    if (locks) {
      const abort = new AbortController();
      let release: () => void = () => {};
      locks
        .request(`task-outbox-${this.userId}`, { signal: abort.signal }, () => {
          const stopOwning = this.own();
          return new Promise<void>((resolve) => {
            release = () => {
              stopOwning();
              resolve();
            };
          });
        })
        .catch(() => {}); // aborted: this page went away before it got the lock
      offs.push(() => {
        abort.abort();
        release();
      });
    } else {
      offs.push(this.own());
    }
    const onLine = () => {
      this.set({ online: isOnline() });
      for (const l of this.synced) l();
    };
    window.addEventListener('online', onLine);
    window.addEventListener('offline', onLine);
    offs.push(() => {
      window.removeEventListener('online', onLine);
      window.removeEventListener('offline', onLine);
    });
    // Signed out (here or in another tab): forget the cached pages and the cached app shell.
    if (typeof BroadcastChannel !== 'undefined') {
      const channel = new BroadcastChannel(AUTH_CHANNEL);
      channel.onmessage = (event) => {
        if (event.data === 'signed-out') void this.forgetCache();
      };
      offs.push(() => channel.close());
    }
    void this.warmShell();
    return () => {
      for (const off of offs) off();
    };
  }

  private async forgetCache(): Promise<void> {
    try {
      this.pages = Promise.resolve({});
      await caches.delete(SHELL_CACHE);
      await caches.delete(DATA_CACHE);
    } catch {
      // nothing to forget
    }
  }

  /** Registers the service worker and puts this page's HTML and its static files in the shell cache. */
  private async warmShell(): Promise<void> {
    try {
      if (typeof caches === 'undefined' || !isOnline()) return;
      const registration = await registerServiceWorker();
      if (!registration) return;
      const cache = await caches.open(SHELL_CACHE);
      const statics = new Set<string>();
      for (const entry of performance.getEntriesByType('resource')) {
        const url = new URL(entry.name);
        if (url.origin === location.origin && url.pathname.startsWith('/_next/static/')) statics.add(url.pathname + url.search);
      }
      document.querySelectorAll<HTMLScriptElement>('script[src]').forEach((s) => {
        const url = new URL(s.src, location.href);
        if (url.origin === location.origin && url.pathname.startsWith('/_next/static/')) statics.add(url.pathname + url.search);
      });
      document.querySelectorAll<HTMLLinkElement>('link[rel=stylesheet][href]').forEach((l) => {
        const url = new URL(l.href, location.href);
        if (url.origin === location.origin && url.pathname.startsWith('/_next/static/')) statics.add(url.pathname + url.search);
      });
      const missing: string[] = [];
      for (const s of statics) if (!(await cache.match(s))) missing.push(s);
      await cache.addAll(missing);
      for (const path of ['/tasks', '/trash']) {
        const res = await fetch(path, { credentials: 'same-origin' });
        if (res.ok && !res.redirected) await cache.put(path, res);
      }
      this.set({ shellReady: true });
    } catch {
      // no cache: the page works online as before
    }
  }

  // ------------------------------------------------------------ pages kept for offline

  /** The kept pages, loaded once from the data cache; written back in order. */
  private pages: Promise<Pages> | null = null;
  private writing: Promise<unknown> = Promise.resolve();

  private async readJson<T>(key: string, fallback: T): Promise<T> {
    try {
      const res = await (await caches.open(DATA_CACHE)).match(key);
      return res ? ((await res.json()) as T) : fallback;
    } catch {
      return fallback;
    }
  }

  private writeJson(key: string, value: unknown): void {
    this.writing = this.writing
      .then(async () => (await caches.open(DATA_CACHE)).put(key, new Response(JSON.stringify(value), { headers: { 'content-type': 'application/json' } })))
      .catch(() => {}); // storage full or unavailable: offline shows less
  }

  private readPages(): Promise<Pages> {
    this.pages ??= this.readJson<Pages>(this.pagesKey, {});
    return this.pages;
  }

  private async keepPage(query: ListQuery | undefined, page: TaskPage): Promise<void> {
    const pages = await this.readPages();
    pages[queryKey(query)] = { tasks: page.tasks, nextCursor: page.nextCursor, at: Date.now() };
    const keys = Object.keys(pages).sort((a, b) => (pages[b]?.at ?? 0) - (pages[a]?.at ?? 0));
    for (const k of keys.slice(MAX_PAGES)) delete pages[k];
    this.writeJson(this.pagesKey, pages);
  }

  /** The user's lists (the API's answer, kept for offline). */
  async lists(): Promise<List[]> {
    if (isOnline()) {
      try {
        const lists = await this.online.lists.list();
        this.writeJson(this.listsKey, lists);
        return lists;
      } catch {
        // fall back to the copy
      }
    }
    return this.readJson<List[]>(this.listsKey, []);
  }

  // ------------------------------------------------------------ refs and optimistic state

  /** How the outbox names a task shown with `id`: its id, or its uid while created offline. */
  private ref(id: number): number | string {
    if (id > 0) return id;
    for (const [uid, temp] of this.tempIds) if (temp === id) return uid;
    throw new Error('This task is no longer queued');
  }

  private tempId(uid: string): number {
    let id = this.tempIds.get(uid);
    if (id === undefined) {
      id = this.nextTemp--;
      this.tempIds.set(uid, id);
    }
    return id;
  }

  /** The tasks with the queued operations on top; created ones first (as newest), every touched one `pending`. */
  private overlay(tasks: Task[]): ShownTask[] {
    if (this.ops.length === 0) return tasks;
    const shown = optimistic(tasks, this.ops);
    const created: ShownTask[] = [];
    const rest: ShownTask[] = [];
    for (const t of shown) {
      if (t.id === null) {
        const { saving: _s, ...fields } = t;
        created.unshift({
          ...(fields as unknown as Task),
          id: this.tempId(t.uid),
          description: t.description ?? null,
          priority: t.priority ?? 'none',
          tags: t.tags ?? [],
          due_at: t.due_at ?? null,
          version: 0,
          pending: true,
        } as ShownTask);
      } else {
        const { saving, ...task } = t;
        rest.push(saving ? { ...(task as Task), pending: true } : (task as Task));
      }
    }
    return [...created, ...rest];
  }

  /** Writes go to the outbox offline, and while anything is queued (to keep their order). */
  private queueing(): boolean {
    return !isOnline() || this.ops.length > 0 || this.snapshot.queued > 0;
  }

  private remember(tasks: Task[]): void {
    for (const t of tasks) if (t.id > 0) this.known.set(t.id, t);
  }

  /** The id a queued delete deleted, once the API has answered it (null if it was refused or is gone). */
  private async deletedBy(opId: string): Promise<number | null> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const id = this.deletedIds.get(opId);
      if (id !== undefined) return id;
      if (!this.outbox || !(await this.outbox.pending()).some((o) => o.opId === opId)) return null;
      await new Promise((r) => setTimeout(r, 200));
    }
    return null;
  }

  private announceDeleted(tasks: Task[], queuedOpIds: string[]): void {
    const deletion: Deletion = {
      tasks,
      undo: async () => {
        const restore: { id: number; title: string }[] = [];
        for (const [i, task] of tasks.entries()) {
          const opId = queuedOpIds[i] ?? '';
          if (opId === '') {
            if (task.id > 0) restore.push(task); // deleted by the API already
            continue;
          }
          if (await this.box().discard(opId)) continue; // still queued: dropped, nothing to restore
          const id = await this.deletedBy(opId); // in flight: restore it once the API has done it
          if (id !== null) restore.push({ id, title: task.title });
        }
        await this.refreshQueue();
        for (const task of restore) {
          const user_id = this.userId;
          const { error, response } = await this.online.raw.POST('/api/{user_id}/trash/{id}/restore', {
            params: { path: { user_id, id: task.id } },
            headers: { 'idempotency-key': newIdempotencyKey() },
          });
          if (!response.ok) {
            const e = error as { detail?: string } | undefined;
            throw new Error(`Could not restore “${task.title}”: ${e?.detail ?? response.status}`);
          }
        }
        for (const l of this.synced) l();
      },
    };
    for (const l of this.deletedListeners) l(deletion);
  }

  // ------------------------------------------------------------ the wrapped client

  private wrap(client: TaskClient): TaskClient {
    const wrapped = Object.create(client) as TaskClient;
    const self = this;
    const list = async (query?: ListQuery, options?: Parameters<TaskClient['tasks']['list']>[1]): Promise<TaskPage | null> => {
      if (!isOnline()) {
        const kept = (await self.readPages())[queryKey(query)];
        self.remember(kept?.tasks ?? []);
        return { tasks: self.overlay(kept?.tasks ?? []), nextCursor: kept?.nextCursor ?? null, etag: null, message: 'Offline: the last copy of this page' };
      }
      const page = await client.tasks.list(query, options);
      if (!page) return page;
      void self.keepPage(query, page);
      self.remember(page.tasks);
      return { ...page, tasks: self.overlay(page.tasks) };
    };
    const tasks = {
      ...client.tasks,
      list: list as TaskClient['tasks']['list'],
      create: async (input: TaskCreate, options?: Parameters<TaskClient['tasks']['create']>[1]): Promise<Task> => {
        if (!self.queueing()) return client.tasks.create(input, options);
        const op = await self.box().create(input);
        await self.refreshQueue();
        return { ...(input as Task), id: self.tempId(op.uid), uid: op.uid } as Task;
      },
      updateIfUnchanged: async (base: Task, patch: TaskUpdate, options?: Parameters<TaskClient['tasks']['updateIfUnchanged']>[2]): Promise<ConditionalUpdate> => {
        if (!self.queueing() && base.id > 0) return client.tasks.updateIfUnchanged(base, patch, options);
        await self.box().update(self.ref(base.id), patch, base.id > 0 ? base.version : null);
        await self.refreshQueue();
        return { ok: true, task: { ...base, ...patch } as Task };
      },
      setCompleted: async (id: number, completed: boolean, options?: Parameters<TaskClient['tasks']['setCompleted']>[2]): Promise<Task> => {
        if (!self.queueing() && id > 0) return client.tasks.setCompleted(id, completed, options);
        const task = self.known.get(id);
        const occurrence = task?.recurrence && task.due_at ? task.due_at : undefined;
        await self.box().complete(self.ref(id), { completed, ...(occurrence ? { occurrence } : {}) });
        await self.refreshQueue();
        return { ...(task as Task), completed };
      },
      // A recurring task's occurrence (app/tasks/task-recurrence.tsx): queued with its occurrence, as setCompleted queues one.
      completeOccurrence: async (id: number, occurrence: string, options?: Parameters<TaskClient['tasks']['completeOccurrence']>[2]): Promise<Task> => {
        if (!self.queueing() && id > 0) return client.tasks.completeOccurrence(id, occurrence, options);
        const task = self.known.get(id);
        await self.box().complete(self.ref(id), { completed: true, occurrence });
        await self.refreshQueue();
        return { ...(task as Task), completed: true };
      },
      delete: async (id: number, options?: Parameters<TaskClient['tasks']['delete']>[1]): Promise<Task> => {
        const task = self.known.get(id) ?? ({ id, title: 'the task' } as Task);
        if (!self.queueing() && id > 0) {
          const deleted = await client.tasks.delete(id, options);
          self.announceDeleted([deleted], ['']);
          return deleted;
        }
        const op = await self.box().delete(self.ref(id), id > 0 ? task.version : null);
        await self.refreshQueue();
        self.announceDeleted([task], [op.opId]);
        return task;
      },
    };
    const tags = {
      ...client.tags,
      // Offline, no tag suggestions (and no retries that would hold the page's reloads).
      list: (async (...args: Parameters<TaskClient['tags']['list']>) => {
        if (!isOnline()) throw new ApiError({ status: 0, code: 'OFFLINE', detail: 'Offline' });
        return client.tags.list(...args);
      }) as TaskClient['tags']['list'],
    };
    Object.defineProperty(wrapped, 'tasks', { value: tasks });
    Object.defineProperty(wrapped, 'tags', { value: tags });
    return wrapped;
  }

  /** Whether a task shown has queued changes. */
  isPending(task: Task): boolean {
    return (task as ShownTask).pending === true;
  }

  // ------------------------------------------------------------ selection and bulk edits

  toggleSelected(id: number, on: boolean): void {
    const selected = new Set(this.snapshot.selected);
    if (on) selected.add(id);
    else selected.delete(id);
    this.set({ selected: [...selected] });
  }

  clearSelection(): void {
    this.set({ selected: [] });
  }

  /**
   * One bulk action on the selected tasks: online with nothing queued, ONE `POST /tasks/batch`
   * (non-atomic, one Idempotency-Key); otherwise queued in the outbox, which sends them together.
   */
  async bulk(action: { op: 'complete' } | { op: 'delete' } | { op: 'move'; listId: number }): Promise<void> {
    const ids = this.snapshot.selected;
    if (ids.length === 0) return;
    const tasks = ids.map((id) => this.known.get(id) ?? ({ id, title: 'a task', version: 0 } as Task));
    if (!this.queueing() && ids.every((id) => id > 0)) {
      const operations: BatchOperation[] = ids.map((id) => {
        if (action.op === 'complete') return { op: 'complete', id, completed: true } as BatchOperation;
        if (action.op === 'move') return { op: 'move', id, list_id: action.listId } as BatchOperation;
        return { op: 'delete', id } as BatchOperation;
      });
      const results: BatchResult[] = await this.online.tasks.batch(operations);
      const failed = results.filter((r) => r.status >= 300).length;
      this.set({ selected: [], message: failed ? `${failed} of ${results.length} changes were refused` : null });
      if (action.op === 'delete') this.announceDeleted(tasks.filter((_, i) => (results[i]?.status ?? 500) < 300), tasks.map(() => ''));
    } else {
      const opIds: string[] = [];
      for (const task of tasks) {
        const ref = this.ref(task.id);
        if (action.op === 'complete') await this.box().complete(ref, { completed: true });
        else if (action.op === 'move') await this.box().move(ref, { list_id: action.listId });
        else opIds.push((await this.box().delete(ref, task.id > 0 ? task.version : null)).opId);
      }
      await this.refreshQueue();
      this.set({ selected: [], message: null });
      if (action.op === 'delete') this.announceDeleted(tasks, opIds);
    }
    for (const l of this.synced) l();
  }

  async resolve(conflict: Conflict, choice: 'mine' | 'theirs'): Promise<void> {
    await this.box().resolve(conflict, choice);
    await this.refreshQueue();
    for (const l of this.synced) l();
  }
}

/**
 * The page's client with offline mode (one per page and user). The outbox has a client of its own
 * without the page's retries: a flush that cannot reach the API ends at once and is tried again by
 * the outbox (backoff, and at once on `online`), with its stored Idempotency-Key.
 */
export function useOffline(client: TaskClient, apiUrl: string, userId: string, token: TokenProvider): OfflineMode {
  const mode = useMemo(
    () => new OfflineMode(client, userId, createTaskClient({ baseUrl: apiUrl, userId, token, retry: { retries: 0 } })),
    [client, apiUrl, userId, token],
  );
  useEffect(() => mode.start(), [mode]);
  return mode;
}

/** The offline mode's state, rendered. */
export function useOfflineState(mode: OfflineMode): OfflineSnapshot {
  return useSyncExternalStore(mode.subscribe, mode.getSnapshot, mode.getSnapshot);
}

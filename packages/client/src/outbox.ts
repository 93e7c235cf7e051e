/**
 * An offline outbox: task writes queued in pluggable storage while the API is out of reach, sent
 * later as one `POST /tasks/batch` per flush (non-atomic, at most 100 operations), reconciled with a
 * `TaskReplica` from `/changes`.
 *
 * Exactly once: each flush gets one `Idempotency-Key`, stored with the operations it sends (the exact
 * body) BEFORE the request leaves. A flush that gets no answer (network error, tab closed, server
 * killed, 5xx) leaves that pending flush in storage, and the next flush, in this Outbox or in a new
 * one on the same storage, sends the same body with the same key: the API runs it once and replays
 * its stored answer. Only an answer removes the sent operations and clears the key.
 *
 * Lost updates: an update (or delete) carries the version it was based on as the batch's `if_match`.
 * A 412 is a `conflict`, kept out of the queue (and in storage) until the application resolves it:
 * `'mine'` queues the change again on the server's current version, `'theirs'` drops it. Never a
 * silent overwrite.
 */
import { newIdempotencyKey, newUid, type TaskClient } from './client.js';
import { ApiError } from './errors.js';
import type { TaskReplica } from './replica.js';
import type { BatchOperation, BatchResult, Task, TaskCreate, TaskMove, TaskUpdate } from './types.js';

/** A task as the outbox names it: its id, or its `uid` (also of a task created by a queued `create`). */
export type TaskRef = number | string;

interface Queued {
  /** The operation's own id in the outbox (not sent). */
  opId: string;
  /** When it was queued (ISO 8601). */
  queuedAt: string;
}
export type QueuedCreate = Queued & { op: 'create'; uid: string; task: TaskCreate };
export type QueuedUpdate = Queued & { op: 'update'; ref: TaskRef; task: TaskUpdate; baseVersion: number | null };
export type QueuedComplete = Queued & { op: 'complete'; ref: TaskRef; completed: boolean | null; occurrence: string | null };
export type QueuedMove = Queued & { op: 'move'; ref: TaskRef; to: NonNullable<TaskMove> };
export type QueuedDelete = Queued & { op: 'delete'; ref: TaskRef; baseVersion: number | null };
/** One queued write. */
export type QueuedOp = QueuedCreate | QueuedUpdate | QueuedComplete | QueuedMove | QueuedDelete;

/** An operation's error result, as its route answers it. */
export interface OpError {
  status: number;
  error?: string;
  code?: string;
  detail?: string;
}

/** A queued update or delete refused with 412: the task changed on the server since `baseVersion`. */
export interface Conflict {
  /** The conflict's id (the operation's `opId`). */
  id: string;
  op: QueuedUpdate | QueuedDelete;
  error: OpError;
  /** The task's version on the server when the conflict was found (from the task, else the 412's detail); null if unknown. */
  currentVersion: number | null;
  /** The task as the server has it (fetched once after the 412); null when it could not be fetched. */
  theirs: Task | null;
}

/** A queued operation the API refused (4xx other than a 412 on an update or delete): dropped. */
export interface Rejection {
  op: QueuedOp;
  error: OpError;
}

/** What the storage keeps: the queue, the flush in flight and the open conflicts. Plain JSON-able data. */
export interface OutboxState {
  version: 1;
  /** Every operation not yet answered, in order (the pending flush's first). */
  queue: QueuedOp[];
  /** The flush sent but not answered: its key and its exact operations, sent again as they are. */
  pending: { key: string; opIds: string[]; operations: BatchOperation[]; createdAt: string } | null;
  conflicts: Conflict[];
  /** uid → id of the tasks the outbox created (so that refs by uid and by id are known to be one task). */
  known: Record<string, number>;
}

/** Where the outbox keeps its state: async get and set of the whole state. */
export interface OutboxStorage {
  get(): Promise<OutboxState | null>;
  set(state: OutboxState): Promise<void>;
}

/** The state in memory (Node, tests). A new Outbox on the same object resumes the queue and the pending key. */
export function memoryStorage(): OutboxStorage {
  let saved: OutboxState | null = null;
  return {
    get: async () => (saved === null ? null : structuredClone(saved)),
    set: async (state) => {
      saved = structuredClone(state);
    },
  };
}

/**
 * The state in IndexedDB (browsers): database `name` (default `task-api-outbox`; give one per user,
 * e.g. `outbox-${userId}`), one object store, one record. Kept to the plain API.
 *
 * The connection is let go when another page deletes or upgrades the database (`versionchange`: a
 * new version of the app, "clear site data") or when the browser closes it, and opened again (the
 * database created anew if it is gone) by the next `get` or `set`. Held open, it would block that
 * deletion until the page closes, and the deletion would then run, taking the queue written since.
 * A failed open is tried again by the next call.
 */
export function indexedDbStorage(name = 'task-api-outbox'): OutboxStorage {
  const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!idb) throw new Error('No indexedDB here: use memoryStorage(), or a storage of your own');
  const STORE = 'outbox';
  let opened: Promise<IDBDatabase> | null = null;
  const open = (): Promise<IDBDatabase> =>
    (opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const request = idb.open(name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => {
        const db = request.result;
        db.onversionchange = () => {
          db.close();
          opened = null;
        };
        db.onclose = () => {
          opened = null;
        };
        resolve(db);
      };
      request.onerror = () => {
        opened = null;
        reject(request.error ?? new Error(`indexedDB.open(${name}) failed`));
      };
    }));
  const attempt = async <T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
    const db = await open();
    return new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = act(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error ?? new Error('indexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('indexedDB transaction aborted'));
    });
  };
  const run = async <T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
    try {
      return await attempt(mode, act);
    } catch (err) {
      // A connection closed under us (between versionchange and our next call): open it again, once.
      if ((err as { name?: string } | null)?.name !== 'InvalidStateError') throw err;
      opened = null;
      return attempt(mode, act);
    }
  };
  return {
    get: async () => ((await run<unknown>('readonly', (s) => s.get('state'))) as OutboxState | undefined) ?? null,
    set: async (state) => {
      await run('readwrite', (s) => s.put(state, 'state'));
    },
  };
}

/** Exponential backoff with full jitter: a delay in [0, min(maxMs, baseMs * 2^(attempt-1))]. */
export function backoffDelay(attempt: number, options: { baseMs?: number; maxMs?: number } = {}): number {
  const base = options.baseMs ?? 1000;
  const max = options.maxMs ?? 60_000;
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(Math.random() * ceiling);
}

export interface OutboxOptions {
  /** Default: memoryStorage() (lost with the process; in a browser use indexedDbStorage()). */
  storage?: OutboxStorage;
  /** Synced (`/changes`) after every flush that got an answer. */
  replica?: TaskReplica;
  /** Operations per batch, 1 to 100 (the API's limit). Default 100. */
  maxBatch?: number;
}

/** What one `flush()` did. */
export interface FlushReport {
  /** Batches answered. */
  batches: number;
  /** Operations answered (applied, conflicts and rejections). */
  sent: number;
  /** Operations applied (2xx). */
  applied: number;
  conflicts: Conflict[];
  rejected: Rejection[];
  /** Operations still queued (with the pending flush, if one is left). */
  remaining: number;
  /** Why the flush stopped early (no answer, 5xx, 429, 401, ...): the pending flush is kept and sent again, with its key, next time. */
  error: unknown;
  /** The replica's sync failed (the flush itself went through). */
  syncError: unknown;
}

export interface OutboxEvents {
  /** An operation was queued (or queued again by `resolve(conflict, 'mine')`). */
  queued: QueuedOp;
  /** An operation was applied by the API: its result (`{status, data, message}`). */
  applied: { op: QueuedOp; result: BatchResult };
  conflict: Conflict;
  rejected: Rejection;
}
type Listener<T> = (value: T) => void;

const RETRY_LATER = new Set([0, 401, 403, 408, 409, 425, 429]);

/** Whether a whole batch that failed with this error should be sent again later (same key, same body). */
function keepForRetry(err: unknown): boolean {
  if (!(err instanceof ApiError)) return true;
  return err.status >= 500 || RETRY_LATER.has(err.status);
}

function refField(ref: TaskRef): { id: number } | { uid: string } {
  return typeof ref === 'number' ? { id: ref } : { uid: ref };
}

function toWire(op: QueuedOp): BatchOperation {
  switch (op.op) {
    case 'create':
      return { op: 'create', task: { ...op.task, uid: op.uid } } as BatchOperation;
    case 'update':
      return {
        op: 'update',
        ...refField(op.ref),
        ...(op.baseVersion !== null ? { if_match: `"${op.baseVersion}"` } : {}),
        task: op.task,
      } as BatchOperation;
    case 'complete':
      return {
        op: 'complete',
        ...refField(op.ref),
        ...(op.completed !== null ? { completed: op.completed } : {}),
        ...(op.occurrence !== null ? { occurrence: op.occurrence } : {}),
      } as BatchOperation;
    case 'move':
      return { op: 'move', ...refField(op.ref), ...op.to } as BatchOperation;
    case 'delete':
      return { op: 'delete', ...refField(op.ref), ...(op.baseVersion !== null ? { if_match: `"${op.baseVersion}"` } : {}) } as BatchOperation;
  }
}

function baseVersionOf(op: QueuedOp): number | null {
  return op.op === 'update' || op.op === 'delete' ? op.baseVersion : null;
}

/** A task as the user should see it: the server's (`saving: false`), or with queued writes on top (`saving: true`); `id: null` while created only in the queue. */
export type OptimisticTask = (Task & { saving: boolean }) | (TaskCreate & { id: null; uid: string; completed: boolean; saving: true });

/**
 * Optimistic state: the tasks (a replica's, `replica.tasks.values()`) with the queued operations
 * (`await outbox.pending()`) applied on top, in order. Creates appear (`id: null`), updates and moves
 * change fields, completes set (or toggle) `completed`, deletes remove. Operations naming a task that
 * is in neither are skipped. A recurring task's completion is shown as the server will answer it
 * only after the flush (the replica then has its next `due_at`).
 */
export function optimistic(tasks: Iterable<Task>, ops: readonly QueuedOp[]): OptimisticTask[] {
  const byUid = new Map<string, OptimisticTask>();
  const uidOfId = new Map<number, string>();
  for (const task of tasks) {
    byUid.set(task.uid, { ...task, saving: false });
    uidOfId.set(task.id, task.uid);
  }
  for (const op of ops) {
    if (op.op === 'create') {
      byUid.set(op.uid, { ...op.task, id: null, uid: op.uid, completed: false, saving: true });
      continue;
    }
    const uid = typeof op.ref === 'number' ? uidOfId.get(op.ref) : op.ref;
    const task = uid === undefined ? undefined : byUid.get(uid);
    if (uid === undefined || task === undefined) continue;
    if (op.op === 'delete') byUid.delete(uid);
    else if (op.op === 'update') byUid.set(uid, { ...task, ...op.task, saving: true } as OptimisticTask);
    else if (op.op === 'complete') byUid.set(uid, { ...task, completed: op.completed ?? !task.completed, saving: true });
    else byUid.set(uid, { ...task, ...op.to, saving: true } as OptimisticTask);
  }
  return [...byUid.values()];
}

export class Outbox {
  private readonly storage: OutboxStorage;
  private readonly replica: TaskReplica | null;
  private readonly maxBatch: number;
  private state: OutboxState | null = null;
  private loading: Promise<OutboxState> | null = null;
  private saving: Promise<void> = Promise.resolve();
  private flushing: Promise<FlushReport> | null = null;
  private readonly listeners: { [K in keyof OutboxEvents]: Set<Listener<OutboxEvents[K]>> } = {
    queued: new Set(),
    applied: new Set(),
    conflict: new Set(),
    rejected: new Set(),
  };

  constructor(
    private readonly client: TaskClient,
    options: OutboxOptions = {},
  ) {
    this.storage = options.storage ?? memoryStorage();
    this.replica = options.replica ?? null;
    const max = options.maxBatch ?? 100;
    if (!Number.isInteger(max) || max < 1 || max > 100) throw new Error('maxBatch must be an integer from 1 to 100');
    this.maxBatch = max;
  }

  /** Loads the stored state (every method waits for it; call it to know when a resumed queue is there). */
  ready(): Promise<OutboxState> {
    this.loading ??= this.storage.get().then((saved) => {
      this.state = saved ?? { version: 1, queue: [], pending: null, conflicts: [], known: {} };
      return this.state;
    });
    return this.loading;
  }

  /** Listens to `queued`, `applied`, `conflict` or `rejected`; returns the function that stops it. */
  on<K extends keyof OutboxEvents>(event: K, listener: Listener<OutboxEvents[K]>): () => void {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  private emit<K extends keyof OutboxEvents>(event: K, value: OutboxEvents[K]): void {
    for (const listener of this.listeners[event]) listener(value);
  }

  /** Writes the state (in order; a copy, so later changes do not leak into a slow storage). */
  private save(): Promise<void> {
    const snapshot = structuredClone(this.state);
    this.saving = this.saving.catch(() => {}).then(() => (snapshot ? this.storage.set(snapshot) : undefined));
    return this.saving;
  }

  /** Every operation not yet answered, in the order they will be sent (the pending flush's first). */
  async pending(): Promise<QueuedOp[]> {
    return structuredClone((await this.ready()).queue);
  }

  /** The conflicts waiting for `resolve` (kept in storage: after a restart they are still here). */
  async conflicts(): Promise<Conflict[]> {
    return structuredClone((await this.ready()).conflicts);
  }

  private async enqueue<T extends QueuedOp>(op: T): Promise<T> {
    const state = await this.ready();
    state.queue.push(op);
    await this.save();
    this.emit('queued', op);
    return op;
  }

  private base(): Queued {
    return { opId: newUid(), queuedAt: new Date().toISOString() };
  }

  /** Queues a create; the task gets a `uid` (the input's, else a UUID) by which later operations can name it at once. */
  create(task: TaskCreate): Promise<QueuedCreate> {
    const uid = task.uid ?? newUid();
    return this.enqueue({ ...this.base(), op: 'create', uid, task: { ...task, uid } });
  }

  /**
   * Queues an update based on `baseVersion` (the task's `version` the change was made on): sent as
   * `if_match`, so a change on the server since is a conflict, not an overwrite. Without it (a task
   * created in this queue, or last write wins on purpose) nothing is checked.
   */
  update(ref: TaskRef, fields: TaskUpdate, baseVersion?: number | null): Promise<QueuedUpdate> {
    return this.enqueue({ ...this.base(), op: 'update', ref, task: fields, baseVersion: baseVersion ?? null });
  }

  /** Queues a completion: `{completed}` sets it (no body: a toggle); `occurrence` completes a recurring task only at that due instant. */
  complete(ref: TaskRef, body: { completed?: boolean; occurrence?: string } = {}): Promise<QueuedComplete> {
    return this.enqueue({ ...this.base(), op: 'complete', ref, completed: body.completed ?? null, occurrence: body.occurrence ?? null });
  }

  /** Queues a move (`{list_id?, parent_id?, after_id?, before_id?}`). */
  move(ref: TaskRef, to: NonNullable<TaskMove>): Promise<QueuedMove> {
    return this.enqueue({ ...this.base(), op: 'move', ref, to });
  }

  /** Queues a delete; with `baseVersion`, only if the task is still at it (else a conflict). */
  delete(ref: TaskRef, baseVersion?: number | null): Promise<QueuedDelete> {
    return this.enqueue({ ...this.base(), op: 'delete', ref, baseVersion: baseVersion ?? null });
  }

  /**
   * Drops a queued operation that has not been sent (an undo before the flush): true if it was
   * dropped; false if it is unknown, already answered, or part of the pending flush (that one is
   * sent as it is, with its key; undo it with a new operation once it is answered).
   */
  async discard(opId: string): Promise<boolean> {
    const state = await this.ready();
    if (state.pending?.opIds.includes(opId)) return false;
    const before = state.queue.length;
    state.queue = state.queue.filter((o) => o.opId !== opId);
    if (state.queue.length === before) return false;
    await this.save();
    return true;
  }

  /**
   * Resolves a conflict. `'theirs'`: the change is dropped (the server's task stands). `'mine'`: the
   * change is queued again, based on the server's current version (fetched when the conflict does not
   * know it), so it overwrites exactly the version the user has now seen; if the task changes again
   * before it is sent, that is a new conflict. Answers the operation queued again, or null.
   */
  async resolve(conflict: Conflict | string, choice: 'mine' | 'theirs'): Promise<QueuedOp | null> {
    const state = await this.ready();
    const id = typeof conflict === 'string' ? conflict : conflict.id;
    const found = state.conflicts.find((c) => c.id === id);
    if (!found) throw new Error(`No open conflict ${id}`);
    let requeued: QueuedUpdate | QueuedDelete | null = null;
    if (choice === 'mine') {
      const version = found.currentVersion ?? (await this.fetchTask(found.op.ref)).version;
      requeued = { ...found.op, ...this.base(), baseVersion: version };
    }
    state.conflicts = state.conflicts.filter((c) => c.id !== id);
    if (requeued) state.queue.push(requeued);
    await this.save();
    if (requeued) this.emit('queued', requeued);
    return requeued;
  }

  private async fetchTask(ref: TaskRef): Promise<Task> {
    if (typeof ref === 'number') return this.client.tasks.get(ref);
    const id = this.state?.known[ref];
    if (id !== undefined) return this.client.tasks.get(id);
    const page = await this.client.tasks.list({ uid: ref });
    const task = page.tasks[0];
    if (!task) throw new ApiError({ status: 404, code: 'NOT_FOUND', detail: 'Task not found' });
    return task;
  }

  /** The key that names one task in the outbox: by id when the id is known. */
  private keyOf(ref: TaskRef): string {
    if (typeof ref === 'number') return `id:${ref}`;
    const id = this.state?.known[ref];
    return id !== undefined ? `id:${id}` : `uid:${ref}`;
  }

  private taskKey(op: QueuedOp): string {
    return this.keyOf(op.op === 'create' ? op.uid : op.ref);
  }

  /**
   * Sends the queue: the pending flush first (same key, same body), then batches of up to
   * `maxBatch` operations, until the queue is empty or a batch gets no answer. Never throws for the
   * API's or the network's failures: see the report's `error`. One flush at a time (a second call
   * while one runs gets the same report).
   */
  flush(): Promise<FlushReport> {
    this.flushing ??= this.runFlush().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async runFlush(): Promise<FlushReport> {
    const state = await this.ready();
    const report: FlushReport = { batches: 0, sent: 0, applied: 0, conflicts: [], rejected: [], remaining: 0, error: null, syncError: null };
    for (;;) {
      if (!state.pending) {
        const ops = this.nextBatch(state.queue);
        if (ops.length === 0) break;
        state.pending = {
          key: newIdempotencyKey(),
          opIds: ops.map((o) => o.opId),
          operations: ops.map(toWire),
          createdAt: new Date().toISOString(),
        };
        await this.save(); // stored before it is sent: a retry after anything sends this again
      }
      const pending = state.pending;
      let results: BatchResult[];
      try {
        results = await this.client.tasks.batch(pending.operations, { idempotencyKey: pending.key });
      } catch (err) {
        if (keepForRetry(err)) {
          report.error = err;
          break;
        }
        // The batch as a whole was refused (400, 413, 422): sending it again cannot help.
        const body = err instanceof ApiError && typeof err.body === 'object' && err.body !== null ? (err.body as OpError) : {};
        const error: OpError = { ...body, status: err instanceof ApiError ? err.status : 0 };
        results = pending.opIds.map(() => error as BatchResult);
      }
      report.batches++;
      if ((await this.settle(state, pending.opIds, results, report)) === 0) {
        // Every operation answered 5xx or 429 (kept): sending them again at once would loop.
        report.error = new Error('The batch was answered but none of its operations was taken (5xx or 429): try again later');
        break;
      }
    }
    report.remaining = state.queue.length;
    if (this.replica && report.batches > 0) {
      try {
        await this.replica.sync();
      } catch (err) {
        report.syncError = err;
      }
    }
    return report;
  }

  /**
   * The next operations to send: up to maxBatch, stopping before a version-checked operation on a
   * task that an earlier operation of the batch writes (that one's new version is known only after
   * the answer, and the later one is then rebased on it: see `settle`).
   */
  private nextBatch(queue: QueuedOp[]): QueuedOp[] {
    const out: QueuedOp[] = [];
    const touched = new Set<string>();
    for (const op of queue) {
      if (out.length >= this.maxBatch) break;
      const key = this.taskKey(op);
      if (baseVersionOf(op) !== null && touched.has(key)) break;
      touched.add(key);
      out.push(op);
    }
    return out;
  }

  /** Applies a batch's answer: done, conflicts, rejections; removes what was answered; clears the key. Answers how many were answered. */
  private async settle(state: OutboxState, opIds: string[], results: BatchResult[], report: FlushReport): Promise<number> {
    const byId = new Map(state.queue.map((o) => [o.opId, o]));
    const sent = new Set(opIds);
    const answered = new Set<string>();
    const applied: { op: QueuedOp; result: BatchResult }[] = [];
    const conflicts: Conflict[] = [];
    const rejected: Rejection[] = [];
    opIds.forEach((opId, i) => {
      const op = byId.get(opId);
      const result = results[i];
      if (!op || !result) return; // no answer for it: it stays queued
      const status = result.status;
      if (status >= 500 || status === 429) return; // not applied: sent again with the next batch
      answered.add(opId);
      if (status >= 200 && status < 300) {
        applied.push({ op, result });
        this.rebase(state, op, result, sent);
      } else if (status === 412 && (op.op === 'update' || op.op === 'delete')) {
        const error = result as OpError;
        const version = /version (\d+)/.exec(error.detail ?? '')?.[1];
        conflicts.push({ id: op.opId, op, error, currentVersion: version !== undefined ? Number(version) : null, theirs: null });
      } else {
        rejected.push({ op, error: result as OpError });
      }
    });
    // The server's side of each conflict, for the application to show (best effort: offline, it stays null).
    for (const conflict of conflicts) {
      try {
        conflict.theirs = await this.fetchTask(conflict.op.ref);
        conflict.currentVersion = conflict.theirs.version;
      } catch {
        // keep what the 412 said
      }
    }
    state.queue = state.queue.filter((o) => !answered.has(o.opId));
    state.conflicts.push(...conflicts);
    state.pending = null;
    await this.save();
    report.sent += answered.size;
    report.applied += applied.length;
    report.conflicts.push(...conflicts);
    report.rejected.push(...rejected);
    for (const a of applied) this.emit('applied', a);
    for (const c of conflicts) this.emit('conflict', c);
    for (const r of rejected) this.emit('rejected', r);
    return answered.size;
  }

  /**
   * Our own write is not a conflict: a queued operation on the same task based on the version this
   * one was based on (or, unchecked, the version just before its answer) is moved to the answer's
   * version. Also learns uid → id from the task answered.
   */
  private rebase(state: OutboxState, op: QueuedOp, result: BatchResult, sent: Set<string>): void {
    const task = (result as { data?: Partial<Task> }).data;
    if (!task || typeof task.id !== 'number') return;
    if (typeof task.uid === 'string') state.known[task.uid] = task.id;
    if (op.op === 'delete' || typeof task.version !== 'number') return;
    const from = baseVersionOf(op) ?? task.version - 1;
    const key = `id:${task.id}`;
    for (const later of state.queue) {
      if (sent.has(later.opId) || (later.op !== 'update' && later.op !== 'delete')) continue;
      if (later.baseVersion === from && this.keyOf(later.ref) === key) later.baseVersion = task.version;
    }
  }

  /**
   * Flushes now, again after each failure with backoff (`backoffDelay`), at once when the browser
   * says it is `online` again, and soon after each queued operation; never while the browser says it
   * is offline (see `isOnline`). Returns the function that stops it.
   */
  start(
    options: {
      baseMs?: number;
      maxMs?: number;
      onReport?: (report: FlushReport) => void;
      /**
       * Whether to try at all: default, unless the browser says it is offline (`navigator.onLine`
       * false). Offline, nothing is flushed (so no pending flush is formed and queued operations can
       * still be discarded); it looks again every `offlinePollMs` (default 5000) and at once on `online`.
       */
      isOnline?: () => boolean;
      offlinePollMs?: number;
    } = {},
  ): () => void {
    const isOnline = options.isOnline ?? (() => (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine !== false);
    let stopped = false;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const schedule = (ms: number): void => {
      if (stopped || timer !== null) return;
      timer = setTimeout(() => {
        timer = null;
        void run();
      }, ms);
    };
    const run = async (): Promise<void> => {
      if (!isOnline()) {
        schedule(options.offlinePollMs ?? 5000);
        return;
      }
      const report = await this.flush();
      options.onReport?.(report);
      if (stopped) return;
      if (report.error !== null) {
        schedule(backoffDelay(++attempt, options));
      } else {
        attempt = 0;
        if ((this.state?.queue.length ?? 0) > 0) schedule(0); // queued while the flush was ending
      }
    };
    const onOnline = (): void => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      attempt = 0;
      schedule(0);
    };
    const target = globalThis as { addEventListener?: (t: string, f: () => void) => void; removeEventListener?: (t: string, f: () => void) => void };
    target.addEventListener?.('online', onOnline);
    const off = this.on('queued', () => {
      if (attempt === 0) schedule(0);
    });
    schedule(0);
    return () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      target.removeEventListener?.('online', onOnline);
      off();
    };
  }
}

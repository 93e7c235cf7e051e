/**
 * A local copy of the user's tasks kept by GET /tasks/changes: a Map keyed by id, upserts and
 * deletes applied in commit order, started again from a snapshot when the cursor expired (410
 * CURSOR_EXPIRED, or `event: reset` on the stream). `live()` adds the event stream on top.
 */
import { ApiError } from './errors.js';
import type { EventHandlers, Unsubscribe } from './events.js';
import type { Change, ChangesPage, Task } from './types.js';

export interface ReplicaOptions {
  /** Page size of /tasks/changes (1–1000). Default: the API's (500). */
  limit?: number;
}

export interface ReplicaSource {
  changes(options: { since?: string | null; limit?: number }): Promise<ChangesPage>;
  events: { subscribe(handlers: EventHandlers, options: { since?: string | null }): Unsubscribe };
}

export type ReplicaListener = (replica: TaskReplica, changes: readonly Change[]) => void;

export class TaskReplica {
  /** The copy, by task id. */
  readonly tasks = new Map<number, Task>();
  /** Where the copy ends: the next sync asks for what changed after it. Null before the first sync. */
  cursor: string | null = null;
  private readonly listeners = new Set<ReplicaListener>();
  private syncing: Promise<{ applied: number; reset: boolean }> | null = null;

  constructor(
    private readonly source: ReplicaSource,
    private readonly options: ReplicaOptions = {},
  ) {}

  /** Applies one change (idempotent: an upsert older than what is held is skipped). */
  apply(change: Change): void {
    if (change.type === 'delete') {
      this.tasks.delete(change.id);
      return;
    }
    const held = this.tasks.get(change.task.id) as { version?: number } | undefined;
    const incoming = change.task as { version?: number };
    if (held?.version !== undefined && incoming.version !== undefined && incoming.version < held.version) return;
    this.tasks.set(change.task.id, change.task);
  }

  /** Fetches every change since `cursor` (all pages); on 410 starts over from a snapshot. */
  sync(): Promise<{ applied: number; reset: boolean }> {
    this.syncing ??= this.runSync().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async runSync(): Promise<{ applied: number; reset: boolean }> {
    let applied = 0;
    let reset = false;
    let snapshot = this.cursor === null;
    const batch: Change[] = [];
    for (;;) {
      let page: ChangesPage;
      try {
        page = await this.source.changes({
          since: this.cursor,
          ...(this.options.limit !== undefined ? { limit: this.options.limit } : {}),
        });
      } catch (err) {
        if (err instanceof ApiError && err.code === 'CURSOR_EXPIRED' && this.cursor !== null) {
          this.cursor = null;
          reset = true;
          snapshot = true;
          batch.length = 0;
          continue;
        }
        throw err;
      }
      if (snapshot) {
        // A snapshot replaces the copy: whatever it does not list no longer exists.
        this.tasks.clear();
        snapshot = false;
      }
      // Task entries only: list entries come with include=lists, which a task replica does not ask for.
      const changes = page.changes.filter((c): c is Change => c.type === 'upsert' || c.type === 'delete');
      for (const change of changes) this.apply(change);
      batch.push(...changes);
      applied += changes.length;
      this.cursor = page.cursor;
      if (!page.has_more) break;
    }
    this.emit(batch);
    return { applied, reset };
  }

  /** Tasks sorted like the API's default list (newest first). */
  list(): Task[] {
    return [...this.tasks.values()].sort((a, b) =>
      a.created_at === b.created_at ? b.id - a.id : a.created_at < b.created_at ? 1 : -1,
    );
  }

  /** Called after every sync and every live change. Returns the function that removes it. */
  onChange(listener: ReplicaListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Syncs, then follows the event stream from the replica's cursor; on `event: reset` (cursor
   * expired) syncs from scratch and follows on. Returns the function that stops it.
   */
  live(handlers: Omit<EventHandlers, 'onChange' | 'onReset'> = {}): Unsubscribe {
    let stop: Unsubscribe | null = null;
    let stopped = false;
    const start = async (): Promise<void> => {
      try {
        await this.sync();
      } catch (err) {
        handlers.onError?.(err);
      }
      if (stopped) return;
      stop = this.source.events.subscribe(
        {
          ...handlers,
          onChange: (change, cursor) => {
            this.apply(change);
            if (cursor) this.cursor = cursor;
            this.emit([change]);
          },
          onReset: () => {
            stop?.();
            this.cursor = null;
            if (!stopped) void start();
          },
        },
        { since: this.cursor },
      );
    };
    void start();
    return () => {
      stopped = true;
      stop?.();
    };
  }

  private emit(changes: readonly Change[]): void {
    for (const listener of this.listeners) listener(this, changes);
  }
}

import type { ServerResponse } from 'node:http';
import { TaskSchema } from '../tasks/tasks.schemas.js';
import { encodeSyncCursor } from './sync.cursor.js';
import { CursorExpired, type Change, type SyncRepository } from './sync.repository.js';

export interface HubOptions {
  maxPerUser: number;
  maxStreams: number;
  heartbeatMs: number;
  /** The catch-up poll: how often streams are checked against their users' counters. */
  pollMs: number;
  /** A stream whose unsent output grows past this is a stalled reader: it is dropped. */
  maxBufferedBytes: number;
  log: { warn(obj: object, msg: string): void };
}

interface Stream {
  userId: string;
  /** Everything up to this seq has been sent. */
  cursor: number;
  res: ServerResponse;
  pumping: boolean;
  again: boolean;
  closed: boolean;
}

const FIELDS = Object.keys(TaskSchema.properties);

/** A change as /changes gives it, ready for JSON: the task (its API fields, timestamps ISO), or the deleted id. */
export function changeJson(change: Change): { type: 'upsert'; task: Record<string, unknown> } | { type: 'delete'; id: number } {
  if (change.type === 'delete') return { type: 'delete', id: change.id };
  const task: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const v = (change.task as unknown as Record<string, unknown>)[f];
    task[f] = v instanceof Date ? v.toISOString() : v;
  }
  return { type: 'upsert', task };
}

export type OpenResult = { ok: true; stream: Stream } | { ok: false; reason: 'user' | 'instance' };

/**
 * The open event streams of this instance: one registry, one heartbeat timer, one catch-up poll,
 * and no database connection per stream. A wake-up (a notification, a local write, the poll) makes
 * each of the user's streams send what happened after its own cursor, read from the change records;
 * so a stream never skips a change, whatever it was woken by, and never sends one twice.
 */
export function createEventHub(repository: SyncRepository, options: HubOptions) {
  const byUser = new Map<string, Set<Stream>>();
  let total = 0;
  let closed = false;

  function write(stream: Stream, text: string): boolean {
    if (stream.closed) return false;
    // A reader that stopped reading: its socket buffer fills; drop it rather than buffer without end.
    if (stream.res.writableLength > options.maxBufferedBytes) {
      drop(stream);
      return false;
    }
    stream.res.write(text);
    return true;
  }

  function drop(stream: Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    const set = byUser.get(stream.userId);
    if (set?.delete(stream)) total--;
    if (set?.size === 0) byUser.delete(stream.userId);
    stream.res.destroy();
  }

  /** Sends everything after the stream's cursor, then again while more came in meanwhile. */
  async function pump(stream: Stream): Promise<void> {
    if (stream.pumping) {
      stream.again = true;
      return;
    }
    stream.pumping = true;
    try {
      do {
        stream.again = false;
        for (;;) {
          const page = await repository.changes(stream.userId, stream.cursor, 500);
          for (const change of page.changes) {
            const id = encodeSyncCursor(change.seq);
            if (!write(stream, `id: ${id}\nevent: ${change.type}\ndata: ${JSON.stringify(changeJson(change))}\n\n`)) return;
          }
          stream.cursor = page.seq;
          if (!page.hasMore) break;
        }
      } while (stream.again && !stream.closed);
    } catch (err) {
      if (err instanceof CursorExpired) {
        write(stream, 'event: reset\ndata: {"code":"CURSOR_EXPIRED"}\n\n');
        stream.closed = true;
        stream.res.end();
        const set = byUser.get(stream.userId);
        if (set?.delete(stream)) total--;
        return;
      }
      // The database is away: the next wake-up (the poll at the latest) tries again.
      stream.again = false;
    } finally {
      stream.pumping = false;
    }
  }

  const heartbeat = setInterval(() => {
    for (const set of byUser.values()) for (const s of set) write(s, ': keep-alive\n\n');
  }, options.heartbeatMs);
  heartbeat.unref();

  let polling = false;
  async function poll(): Promise<void> {
    if (polling || byUser.size === 0) return;
    polling = true;
    try {
      const counters = await repository.counters([...byUser.keys()]);
      for (const [userId, seq] of counters) wake(userId, seq);
    } catch {
      // next round
    } finally {
      polling = false;
    }
  }
  const poller = setInterval(() => void poll(), options.pollMs);
  poller.unref();

  /** The user's streams behind `seq` (all of them, when unknown) send what they miss. */
  function wake(userId: string, seq?: number): void {
    const set = byUser.get(userId);
    if (set === undefined) return;
    for (const stream of set) if (seq === undefined || stream.cursor < seq) void pump(stream);
  }

  return {
    wake,
    /** After the listener (re)connected: notifications may have been missed. */
    catchUp: () => void poll(),

    /** Which limit, if any, refuses another stream of this user. */
    refuses(userId: string): 'user' | 'instance' | undefined {
      if (closed || total >= options.maxStreams) return 'instance';
      if ((byUser.get(userId)?.size ?? 0) >= options.maxPerUser) return 'user';
      return undefined;
    },

    /** Registers a stream at `cursor` (its replay starts at once), or says which limit refuses it. */
    open(userId: string, res: ServerResponse, cursor: number): OpenResult {
      const refused = this.refuses(userId);
      if (refused) return { ok: false, reason: refused };
      const set = byUser.get(userId) ?? new Set<Stream>();
      const stream: Stream = { userId, cursor, res, pumping: false, again: false, closed: false };
      set.add(stream);
      byUser.set(userId, set);
      total++;
      res.once('close', () => drop(stream));
      void pump(stream);
      return { ok: true, stream };
    },

    get size(): number {
      return total;
    },

    /** Ends every stream at once (SIGTERM): they do not hold the shutdown. */
    close(): void {
      closed = true;
      clearInterval(heartbeat);
      clearInterval(poller);
      for (const set of [...byUser.values()]) {
        for (const stream of [...set]) {
          stream.closed = true;
          stream.res.end();
          stream.res.socket?.destroySoon?.();
        }
      }
      byUser.clear();
      total = 0;
    },
  };
}

export type EventHub = ReturnType<typeof createEventHub>;

import type { ServerResponse } from 'node:http';
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
  /** The `include=` words of the request: kinds sent only when asked for. */
  include: ReadonlySet<string> | undefined;
  res: ServerResponse;
  /** False while the route still sets it up (a reserved slot): nothing is written to it yet. */
  live: boolean;
  pumping: boolean;
  again: boolean;
  /** Its slot is free again (the connection went, the route released it, or the hub closed). */
  closed: boolean;
}

/** A change as /changes gives it, ready for JSON: `{type, task: {...}}` (the kind's name and API fields), or `{type, id}`. */
export function changeJson(change: Change): Record<string, unknown> {
  if (change.type === 'delete') return { type: change.kind.remove, id: change.id };
  return { type: change.kind.upsert, [change.kind.name]: change.entity };
}

/**
 * A stream's place in the limits, taken before the route awaits anything, so that streams opened
 * at once cannot pass a limit together. It is freed when the connection closes, whenever that is.
 */
export interface Slot {
  /** The slot is free again: the client went away, the hub closed (shutdown), or it was released. */
  readonly closed: boolean;
  /** Starts the stream at `cursor` (the replay first), with the kinds `include` asks for; false if the slot was freed meanwhile. */
  open(cursor: number, include?: ReadonlySet<string>): boolean;
  /** Gives the slot back without touching the connection (the route answers something else). */
  release(): void;
}

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
    if (stream.closed || !stream.live) return false;
    // A reader that stopped reading: its socket buffer fills; drop it rather than buffer without end.
    if (stream.res.writableLength > options.maxBufferedBytes) {
      drop(stream);
      return false;
    }
    stream.res.write(text);
    return true;
  }

  /** Frees the stream's slot (once). */
  function forget(stream: Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    const set = byUser.get(stream.userId);
    if (set?.delete(stream)) total--;
    if (set?.size === 0) byUser.delete(stream.userId);
  }

  function drop(stream: Stream): void {
    if (stream.closed) return;
    forget(stream);
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
          const page = await repository.changes(stream.userId, stream.cursor, 500, stream.include);
          for (const change of page.changes) {
            const id = encodeSyncCursor(change.seq);
            const json = changeJson(change);
            if (!write(stream, `id: ${id}\nevent: ${String(json.type)}\ndata: ${JSON.stringify(json)}\n\n`)) return;
          }
          stream.cursor = page.seq;
          if (!page.hasMore) break;
        }
      } while (stream.again && !stream.closed);
    } catch (err) {
      if (err instanceof CursorExpired) {
        write(stream, 'event: reset\ndata: {"code":"CURSOR_EXPIRED"}\n\n');
        forget(stream);
        stream.res.end();
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
    for (const stream of set) if (stream.live && (seq === undefined || stream.cursor < seq)) void pump(stream);
  }

  return {
    wake,
    /** An event that is not a feed entry (no `id:`) to each of the user's open streams. */
    send(userId: string, event: string, json: string): void {
      const set = byUser.get(userId);
      if (set === undefined) return;
      for (const stream of set) write(stream, `event: ${event}\ndata: ${json}\n\n`);
    },
    /** After the listener (re)connected: notifications may have been missed. */
    catchUp: () => void poll(),

    /**
     * Takes a slot for a stream of this user on `res`, or says which limit refuses it. Call it
     * before awaiting anything: the slot counts at once, and is freed when `res` closes (also
     * when it already has: a client that went away during auth).
     */
    reserve(userId: string, res: ServerResponse): Slot | 'user' | 'instance' {
      if (closed || total >= options.maxStreams) return 'instance';
      if ((byUser.get(userId)?.size ?? 0) >= options.maxPerUser) return 'user';
      const set = byUser.get(userId) ?? new Set<Stream>();
      const stream: Stream = { userId, cursor: 0, include: undefined, res, live: false, pumping: false, again: false, closed: false };
      set.add(stream);
      byUser.set(userId, set);
      total++;
      res.once('close', () => drop(stream));
      if (res.destroyed) forget(stream);
      return {
        get closed() {
          return stream.closed;
        },
        open(cursor, include) {
          if (stream.closed) return false;
          stream.cursor = cursor;
          stream.include = include;
          stream.live = true;
          void pump(stream);
          return true;
        },
        release: () => forget(stream),
      };
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
          // A slot still being set up: its route sees `closed` and answers 503.
          if (!stream.live) continue;
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

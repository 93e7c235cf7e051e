/**
 * The event stream as a subscription (docs/API.md, "Live updates"). Each connection is
 * POST .../tasks/events/ticket, then an EventSource on .../tasks/events?ticket=...&since=<cursor>.
 * The browser's own reconnect would send the spent ticket again, so on any error the EventSource
 * is closed and a new ticket is fetched, resuming from the last cursor seen.
 */
import { ApiError } from './errors.js';
import type { Change, ListChange, ReminderEvent } from './types.js';

/** The part of the WHATWG EventSource this needs (browsers; `eventsource` on Node). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
  onerror: ((event: Event) => void) | null;
}
export type EventSourceConstructor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike;

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'unavailable' | 'closed';

export interface EventHandlers {
  /** One change, as `/tasks/changes` returns it; `cursor` is the event's id. */
  onChange?(change: Change, cursor: string | null): void;
  /** With `include: ['lists']`: one change of a list (`list_upsert` or `list_delete`), in the same order as the task changes. */
  onListChange?(change: ListChange, cursor: string | null): void;
  /**
   * The stream is open, from `cursor` on (the `ready` event's id): every change after it follows,
   * the missed ones first when resuming. Changes of one task faster than the stream is woken come
   * as one event with its latest state, as /changes gives them.
   */
  onReady?(cursor: string | null): void;
  /**
   * A reminder fired for this user (`event: reminder`): not a change, so it moves no cursor and is
   * never replayed; a stream that was not open when it fired does not get it (Web Push does).
   */
  onReminder?(reminder: ReminderEvent): void;
  /** The cursor was too old (`event: reset`): reload everything (the stream restarts from now). */
  onReset?(): void;
  /** A failed ticket or connection; the subscription retries unless the state is 'unavailable'. */
  onError?(error: unknown): void;
  onStateChange?(state: ConnectionState): void;
}

export interface SubscribeOptions {
  /** Resume after this cursor (from `/tasks/changes` or an earlier event). */
  since?: string | null;
  /** First reconnect delay, doubled up to `maxReconnectMs`. Default 1000. */
  reconnectMs?: number;
  maxReconnectMs?: number;
  /** `['lists']`: the stream carries the list entries too (`include=lists`), given to `onListChange`. */
  include?: readonly 'lists'[];
}

export type Unsubscribe = () => void;

interface Source {
  ticket(): Promise<{ ticket: string }>;
  url(ticket: string, since: string | null, include?: readonly 'lists'[]): Promise<string>;
  EventSource: EventSourceConstructor;
}

/** Statuses after which trying again cannot help (no such endpoint, not allowed). */
const FINAL = new Set([400, 401, 403, 404, 405]);

export function subscribeEvents(source: Source, handlers: EventHandlers, options: SubscribeOptions = {}): Unsubscribe {
  const first = options.reconnectMs ?? 1000;
  const max = options.maxReconnectMs ?? 30_000;
  let cursor: string | null = options.since ?? null;
  let es: EventSourceLike | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let failures = 0;
  let closed = false;
  let generation = 0;

  const state = (s: ConnectionState): void => handlers.onStateChange?.(s);

  const schedule = (ms: number): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, ms);
  };
  const retryLater = (hintMs?: number): void => {
    const ms = hintMs ?? Math.min(first * 2 ** failures, max);
    failures++;
    state('reconnecting');
    schedule(ms);
  };

  async function connect(): Promise<void> {
    if (closed) return;
    const gen = ++generation;
    state('connecting');
    let url: string;
    try {
      const { ticket } = await source.ticket();
      url = await source.url(ticket, cursor, options.include);
    } catch (err) {
      if (closed || gen !== generation) return;
      handlers.onError?.(err);
      if (err instanceof ApiError && FINAL.has(err.status)) {
        state('unavailable');
        return;
      }
      retryLater(err instanceof ApiError && err.retryAfter !== null ? err.retryAfter * 1000 : undefined);
      return;
    }
    if (closed || gen !== generation) return;
    const current = new source.EventSource(url);
    es = current;
    const live = (): boolean => !closed && es === current;

    current.addEventListener('ready', (event) => {
      if (!live()) return;
      failures = 0;
      if (event.lastEventId) cursor = event.lastEventId;
      state('open');
      handlers.onReady?.(cursor);
    });
    const onChange = (event: MessageEvent): void => {
      if (!live()) return;
      let change: Change;
      try {
        change = JSON.parse(String(event.data)) as Change;
      } catch (err) {
        handlers.onError?.(err);
        return;
      }
      if (event.lastEventId) cursor = event.lastEventId;
      handlers.onChange?.(change, cursor);
    };
    current.addEventListener('upsert', onChange);
    current.addEventListener('delete', onChange);
    current.addEventListener('reminder', (event) => {
      if (!live()) return;
      let reminder: ReminderEvent;
      try {
        reminder = JSON.parse(String(event.data)) as ReminderEvent;
      } catch (err) {
        handlers.onError?.(err);
        return;
      }
      handlers.onReminder?.(reminder);
    });
    const onListChange = (event: MessageEvent): void => {
      if (!live()) return;
      let change: ListChange;
      try {
        change = JSON.parse(String(event.data)) as ListChange;
      } catch (err) {
        handlers.onError?.(err);
        return;
      }
      if (event.lastEventId) cursor = event.lastEventId;
      handlers.onListChange?.(change, cursor);
    };
    if (options.include?.includes('lists')) {
      current.addEventListener('list_upsert', onListChange);
      current.addEventListener('list_delete', onListChange);
    }
    current.addEventListener('reset', () => {
      if (!live()) return;
      current.close();
      es = null;
      cursor = null;
      handlers.onReset?.();
      schedule(0);
    });
    current.onerror = (event) => {
      if (!live()) return;
      current.close();
      es = null;
      handlers.onError?.(event);
      retryLater();
    };
  }

  void connect();

  return () => {
    if (closed) return;
    closed = true;
    if (timer) clearTimeout(timer);
    es?.close();
    es = null;
    state('closed');
  };
}

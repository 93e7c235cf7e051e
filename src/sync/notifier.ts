import postgres from 'postgres';
import { driverArgs } from '../db/embedded.js';

/** The channel of the change notifications (PostgreSQL NOTIFY, Redis PUBLISH): payload `<seq> <user id>`. */
export const CHANGES_CHANNEL = 'task_api_changes';
/** The channel of messages for open streams that are not feed entries (reminders): JSON `{o, u, d}` (live.ts). */
export const MESSAGES_CHANNEL = 'task_api_messages';
/** PostgreSQL's bound on a NOTIFY payload is 8,000 bytes: ours stay under this. */
export const MESSAGE_MAX_BYTES = 7_900;

/**
 * How a write on one instance wakes the event streams on every instance. Notifications only wake
 * streams; what a stream sends always comes from the change records (sync.repository.ts), so a
 * lost notification delays an event (until the hub's catch-up poll), never loses it.
 * - postgres: after writes commit, one pg_notify statement for all that committed meanwhile (one
 *   per user, its latest number), through the pool; every instance LISTENs on one direct (not
 *   pooled) connection. Not in the write's own statement: PostgreSQL takes one database-wide lock
 *   to queue the notifications of a committing transaction, so every write that notified would
 *   commit one at a time, across all users (toggles of 100 users: 3,736 -> 6,009 per second
 *   without it, pgbench, 8 clients). A write whose notification is lost (a crash right after its
 *   commit) reaches the other instances' streams at their catch-up poll.
 * - redis: after a write, a PUBLISH; every instance SUBSCRIBEs.
 * - poll: neither is available (a transaction pooler and no direct URL, no Redis): the hub polls.
 */
export interface Notifier {
  readonly kind: 'postgres' | 'redis' | 'poll';
  /** After a committed write: tell the other instances. */
  published(userId: string, seq: number): void;
  /** A message for the open streams of every instance (at most MESSAGE_MAX_BYTES); this one's included when it listens. */
  broadcast(message: string): void;
  /**
   * Listens; `onChange` for each notification, `onConnected` after each (re)connection (catch up),
   * `onMessage` for each broadcast message.
   */
  start(onChange: (userId: string, seq: number) => void, onConnected: () => void, onMessage?: (message: string) => void): Promise<void>;
  close(): Promise<void>;
}

export interface NotifierLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** `<seq> <user id>` (the user id may hold spaces; the seq never does). */
function parse(payload: string): [string, number] | undefined {
  const space = payload.indexOf(' ');
  const seq = Number(payload.slice(0, space));
  if (space < 1 || !Number.isInteger(seq)) return undefined;
  return [payload.slice(space + 1), seq];
}

/** Sends NOTIFY payloads on a channel (CHANGES_CHANNEL unless named), in one statement (through the service's pool). */
export type NotifySender = (payloads: string[], channel?: string) => Promise<unknown>;

/**
 * How long notifications wait to be sent together: one NOTIFY transaction (and its commit) for
 * all the writes of that time, each user once, instead of one per write.
 */
const BATCH_MS = 10;

export function postgresNotifier(directUrl: string, send: NotifySender, log: NotifierLog): Notifier {
  let listener: postgres.Sql | undefined;
  /** Per user, the latest number not yet notified. */
  let pending = new Map<string, number>();
  /** The batch on its way, if one is. */
  let sending: Promise<void> | undefined;
  let closed = false;
  let warned = 0;
  let timer: NodeJS.Timeout | undefined;
  /** Broadcast messages not yet sent, and their timer. */
  let messages: string[] = [];
  let messageTimer: NodeJS.Timeout | undefined;
  const flushNow = () => {
    timer = undefined;
    void flush();
  };
  const send1 = async (batch: Map<string, number>): Promise<void> => {
    try {
      await send([...batch].map(([userId, seq]) => `${seq} ${userId}`));
    } catch (err) {
      // Lost: the other instances' streams get these changes at their catch-up poll.
      if (Date.now() - warned > 60_000) {
        warned = Date.now();
        log.warn({ err: { code: (err as { code?: unknown }).code } }, 'live updates: NOTIFY failed; other instances catch up by polling');
      }
    }
  };
  const flush = async (): Promise<void> => {
    if (sending !== undefined || pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    sending = send1(batch);
    await sending;
    sending = undefined;
    // What committed while this batch was on its way.
    if (pending.size > 0 && timer === undefined && !closed) timer = setTimeout(flushNow, BATCH_MS);
  };
  return {
    kind: 'postgres',
    published(userId, seq) {
      // After close the pool is closing: a write that commits now (one still draining at
      // shutdown) reaches the other instances' streams at their catch-up poll.
      if (closed) return;
      if ((pending.get(userId) ?? 0) < seq) pending.set(userId, seq);
      if (timer === undefined && sending === undefined) timer = setTimeout(flushNow, BATCH_MS);
    },
    broadcast(message) {
      if (closed) return;
      // Sent together, as the change notifications are; lost, a reminder still goes to push and webhooks.
      messages.push(message);
      messageTimer ??= setTimeout(() => {
        messageTimer = undefined;
        const batch = messages;
        messages = [];
        send(batch, MESSAGES_CHANNEL).catch(() => {});
      }, BATCH_MS);
    },
    async start(onChange, onConnected, onMessage) {
      listener = postgres(...driverArgs(directUrl, { max: 1, onnotice: () => {}, connect_timeout: 10, idle_timeout: 0, backoff: () => 1 }));
      try {
        await listener.listen(
          CHANGES_CHANNEL,
          (payload) => {
            const parsed = parse(payload);
            if (parsed) onChange(...parsed);
          },
          onConnected,
        );
        if (onMessage) await listener.listen(MESSAGES_CHANNEL, onMessage);
      } catch (err) {
        // Not fatal: the hub's poll carries the streams until the listener connects (postgres.js retries).
        log.warn({ err: { code: (err as { code?: unknown }).code } }, 'live updates: LISTEN failed; the event streams poll until it works');
      }
    },
    async close() {
      // What committed last still goes out, after the batch on its way (the pool closes after this).
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      clearTimeout(messageTimer);
      while (sending !== undefined) await sending;
      await flush();
      await listener?.end({ timeout: 2 }).catch(() => {});
    },
  };
}

export async function redisNotifier(url: string, log: NotifierLog): Promise<Notifier> {
  const { Redis } = await import('ioredis');
  const options = { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, lazyConnect: true } as const;
  const publisher = new Redis(url, options);
  const subscriber = new Redis(url, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
  let warned = 0;
  let closed = false;
  const warn = (err: unknown) => {
    if (closed || Date.now() - warned < 60_000) return;
    warned = Date.now();
    log.warn({ err: { message: (err as Error).message } }, 'live updates: Redis unreachable; the event streams poll until it answers');
  };
  publisher.on('error', warn);
  subscriber.on('error', warn);
  return {
    kind: 'redis',
    published(userId, seq) {
      if (closed) return; // a write still draining at shutdown: the other instances' catch-up poll
      publisher.publish(CHANGES_CHANNEL, `${seq} ${userId}`).catch(warn);
    },
    broadcast(message) {
      if (!closed) publisher.publish(MESSAGES_CHANNEL, message).catch(warn);
    },
    async start(onChange, onConnected, onMessage) {
      subscriber.on('message', (channel: string, payload: string) => {
        if (channel === MESSAGES_CHANNEL) {
          onMessage?.(payload);
          return;
        }
        const parsed = parse(payload);
        if (parsed) onChange(...parsed);
      });
      subscriber.on('ready', onConnected);
      await Promise.all([publisher.connect().catch(warn), subscriber.connect().catch(warn)]);
      // Queued until Redis answers (ioredis reconnects by itself); never holds the start.
      void subscriber.subscribe(CHANGES_CHANNEL, ...(onMessage ? [MESSAGES_CHANNEL] : [])).catch(warn);
    },
    async close() {
      closed = true;
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}

export function pollingNotifier(): Notifier {
  return { kind: 'poll', published() {}, broadcast() {}, async start() {}, async close() {} };
}

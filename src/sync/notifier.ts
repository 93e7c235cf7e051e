import postgres from 'postgres';
import { driverArgs } from '../db/embedded.js';
import { CHANGES_CHANNEL } from '../tasks/tasks.repository.js';

/**
 * How a write on one instance wakes the event streams on every instance. Notifications only wake
 * streams; what a stream sends always comes from the change records (sync.repository.ts), so a
 * lost notification delays an event (until the hub's catch-up poll), never loses it.
 * - postgres: each write's own statement calls pg_notify (delivered at commit); every instance
 *   LISTENs on one direct (not pooled) connection.
 * - redis: after a write, a PUBLISH; every instance SUBSCRIBEs.
 * - poll: neither is available (a transaction pooler and no direct URL, no Redis): the hub polls.
 */
export interface Notifier {
  readonly kind: 'postgres' | 'redis' | 'poll';
  /** Whether writes notify in their own statement (the repository adds pg_notify). */
  readonly inStatement: boolean;
  /** After a committed write: tell the other instances (Redis), if the statement did not. */
  published(userId: string, seq: number): void;
  /** Listens; `onChange` for each notification, `onConnected` after each (re)connection (catch up). */
  start(onChange: (userId: string, seq: number) => void, onConnected: () => void): Promise<void>;
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

export function postgresNotifier(directUrl: string, log: NotifierLog): Notifier {
  let listener: postgres.Sql | undefined;
  return {
    kind: 'postgres',
    inStatement: true,
    published() {},
    async start(onChange, onConnected) {
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
      } catch (err) {
        // Not fatal: the hub's poll carries the streams until the listener connects (postgres.js retries).
        log.warn({ err: { code: (err as { code?: unknown }).code } }, 'live updates: LISTEN failed; the event streams poll until it works');
      }
    },
    async close() {
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
  const warn = (err: unknown) => {
    if (Date.now() - warned < 60_000) return;
    warned = Date.now();
    log.warn({ err: { message: (err as Error).message } }, 'live updates: Redis unreachable; the event streams poll until it answers');
  };
  publisher.on('error', warn);
  subscriber.on('error', warn);
  return {
    kind: 'redis',
    inStatement: false,
    published(userId, seq) {
      publisher.publish(CHANGES_CHANNEL, `${seq} ${userId}`).catch(warn);
    },
    async start(onChange, onConnected) {
      subscriber.on('message', (_channel: string, payload: string) => {
        const parsed = parse(payload);
        if (parsed) onChange(...parsed);
      });
      subscriber.on('ready', onConnected);
      await Promise.all([publisher.connect().catch(warn), subscriber.connect().catch(warn)]);
      // Queued until Redis answers (ioredis reconnects by itself); never holds the start.
      void subscriber.subscribe(CHANGES_CHANNEL).catch(warn);
    },
    async close() {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}

export function pollingNotifier(): Notifier {
  return { kind: 'poll', inStatement: false, published() {}, async start() {}, async close() {} };
}

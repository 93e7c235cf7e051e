import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { createEventHub, type EventHub } from './events.hub.js';
import type { FeedKind } from '../feed/feed.js';
import { randomUUID } from 'node:crypto';
import { CHANGES_CHANNEL as CHANNEL, MESSAGE_MAX_BYTES, pollingNotifier, postgresNotifier, redisNotifier, type Notifier, type NotifierLog } from './notifier.js';
import { createSyncRepository, type SyncRepository } from './sync.repository.js';

export interface LiveUpdates {
  repository: SyncRepository;
  hub: EventHub;
  notifier: Notifier;
  /** After a committed change of this instance: wake the local streams, tell the other instances. */
  changed(userId: string, seq: number): void;
  /**
   * An event that is not a feed entry (no `id:`, not replayed by /changes): to the open streams of
   * these users on every instance (`smaller` where the message would not fit a NOTIFY). Without
   * Redis or LISTEN (a pooler and no direct URL), to this instance's streams only.
   */
  message(userIds: readonly string[], event: string, data: unknown, smaller?: unknown): void;
  /** Ends the streams (before the server closes: they must not hold the shutdown). */
  endStreams(): void;
  close(): Promise<void>;
}

export type LiveConfig = Pick<
  Config,
  'redisUrl' | 'eventsMaxPerUser' | 'eventsMaxStreams' | 'eventsHeartbeatMs' | 'eventsPollMs' | 'syncRetentionDays' | 'syncPurgeIntervalMs'
>;

/**
 * Sync and live updates for one instance: the change records (repository), the fan-out between
 * instances (Redis when REDIS_URL is set, else PostgreSQL LISTEN/NOTIFY on the database's direct
 * URL, else polling), the open event streams, and the purge of what is no longer kept.
 */
export async function startLiveUpdates(config: LiveConfig, database: Database, log: NotifierLog, kinds: readonly FeedKind[]): Promise<LiveUpdates> {
  const repository = createSyncRepository(database, kinds);
  const notifier =
    config.redisUrl !== undefined
      ? await redisNotifier(config.redisUrl, log)
      : database.listenUrl !== undefined
        ? postgresNotifier(database.listenUrl, (payloads, channel = CHANNEL) => database.rows('select pg_notify($1, p) from unnest($2::text[]) as p', [channel, payloads]), log)
        : pollingNotifier();
  if (notifier.kind === 'poll') {
    log.warn({}, 'live updates: no direct database URL (a transaction pooler cannot LISTEN) and no REDIS_URL: event streams poll every 0.5 s; set DATABASE_DIRECT_URL');
  }
  const hub = createEventHub(repository, {
    maxPerUser: config.eventsMaxPerUser,
    maxStreams: config.eventsMaxStreams,
    heartbeatMs: config.eventsHeartbeatMs,
    pollMs: config.eventsPollMs ?? (notifier.kind === 'poll' ? 500 : 2000),
    maxBufferedBytes: 256 * 1024,
    log,
  });
  // Messages that are not feed entries (reminders) reach every instance's streams; this instance
  // sends its own at once, and skips them when its listener hears them back.
  const origin = randomUUID();
  const sendLocal = (userIds: readonly string[], event: string, data: unknown) => {
    const text = JSON.stringify(data);
    for (const userId of userIds) hub.send(userId, event, text);
  };
  await notifier.start(
    (userId, seq) => hub.wake(userId, seq),
    () => hub.catchUp(),
    (message) => {
      try {
        const m = JSON.parse(message) as { o?: unknown; u?: unknown; e?: unknown; d?: unknown };
        if (m.o === origin || !Array.isArray(m.u) || typeof m.e !== 'string') return;
        sendLocal(m.u.filter((u): u is string => typeof u === 'string'), m.e, m.d);
      } catch {
        // not ours
      }
    },
  );
  const retentionMs = config.syncRetentionDays * 86_400_000;
  const purge = () => void repository.purge(retentionMs).catch(() => {});
  const purger = setInterval(purge, config.syncPurgeIntervalMs);
  purger.unref();
  return {
    repository,
    hub,
    notifier,
    changed(userId, seq) {
      hub.wake(userId, seq);
      notifier.published(userId, seq);
    },
    message(userIds, event, data, smaller) {
      if (userIds.length === 0) return;
      sendLocal(userIds, event, data);
      let text = JSON.stringify({ o: origin, u: userIds, e: event, d: data });
      if (Buffer.byteLength(text) > MESSAGE_MAX_BYTES && smaller !== undefined) text = JSON.stringify({ o: origin, u: userIds, e: event, d: smaller });
      if (Buffer.byteLength(text) <= MESSAGE_MAX_BYTES) notifier.broadcast(text);
    },
    endStreams: () => hub.close(),
    async close() {
      clearInterval(purger);
      hub.close();
      await notifier.close();
    },
  };
}

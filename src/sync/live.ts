import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { createEventHub, type EventHub } from './events.hub.js';
import type { FeedKind } from '../feed/feed.js';
import { CHANGES_CHANNEL as CHANNEL, pollingNotifier, postgresNotifier, redisNotifier, type Notifier, type NotifierLog } from './notifier.js';
import { createSyncRepository, type SyncRepository } from './sync.repository.js';

export interface LiveUpdates {
  repository: SyncRepository;
  hub: EventHub;
  notifier: Notifier;
  /** After a committed change of this instance: wake the local streams, tell the other instances. */
  changed(userId: string, seq: number): void;
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
        ? postgresNotifier(database.listenUrl, (payloads) => database.rows('select pg_notify($1, p) from unnest($2::text[]) as p', [CHANNEL, payloads]), log)
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
  await notifier.start(
    (userId, seq) => hub.wake(userId, seq),
    () => hub.catchUp(),
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
    endStreams: () => hub.close(),
    async close() {
      clearInterval(purger);
      hub.close();
      await notifier.close();
    },
  };
}

import type { Database, Executor } from '../db/client.js';

export interface NewSubscription {
  endpoint: string;
  p256dh: string;
  auth: string;
  /** An instant (ISO 8601), or null. */
  expirationTime: string | null;
}

/** What a delivery needs of a subscription: secrets, never logged. */
export interface StoredSubscription {
  id: number;
  user_id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
}

export interface PushRepository {
  /**
   * Saves a user's subscription (the same endpoint again updates its keys and keeps its id); beyond
   * `max` per user the oldest go. Returns its id.
   */
  save(userId: string, subscription: NewSubscription, max: number, exec?: Executor): Promise<number>;
  /** Removes one of the user's subscriptions; false when the user has none with that id. */
  remove(userId: string, id: number, exec?: Executor): Promise<boolean>;
  find(id: number): Promise<StoredSubscription | undefined>;
  /** Removes a subscription the push service no longer knows (404, 410), unless it was re-subscribed meanwhile. */
  forget(subscription: StoredSubscription): Promise<void>;
}

export function createPushRepository(database: Database): PushRepository {
  return {
    async save(userId, s, max, exec = database) {
      const [row] = await exec.rows<{ id: number }>(
        `with saved as (
           insert into push_subscriptions (user_id, endpoint, p256dh, auth, expiration_time)
           values ($1, $2, $3, $4, $5::timestamptz)
           on conflict (user_id, endpoint) do update set p256dh = excluded.p256dh, auth = excluded.auth, expiration_time = excluded.expiration_time
           returning id
         ), trimmed as (
           delete from push_subscriptions where id in (
             select id from push_subscriptions where user_id = $1 and id <> (select id from saved) order by id desc offset $6::int - 1
           )
         )
         select id from saved`,
        [userId, s.endpoint, s.p256dh, s.auth, s.expirationTime, max],
      );
      return (row as { id: number }).id;
    },
    async remove(userId, id, exec = database) {
      const rows = await exec.rows<{ id: number }>('delete from push_subscriptions where user_id = $1 and id = $2 returning id', [userId, id]);
      return rows.length > 0;
    },
    async find(id) {
      const [row] = await database.rows<StoredSubscription>('select id, user_id, endpoint, p256dh, auth from push_subscriptions where id = $1', [id]);
      return row;
    },
    async forget(s) {
      await database.rows('delete from push_subscriptions where id = $1 and endpoint = $2 and p256dh = $3 and auth = $4', [s.id, s.endpoint, s.p256dh, s.auth]);
    },
  };
}

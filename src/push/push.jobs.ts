import type { Database, Executor } from '../db/client.js';
import { handler, jobs, jobType, type JobHandler } from '../jobs/jobs.js';
import type { VapidKeys } from '../config.js';
import { deliver, PUSH_PAYLOAD_MAX_BYTES, type Urgency } from './push.delivery.js';
import type { PushRepository } from './push.repository.js';

/** How a message travels: what the push service is told to do with it. */
export interface PushOptions {
  /** Seconds a push service keeps it for a browser that is offline (default 24 h). */
  ttlSeconds?: number;
  /** default `normal`; reminders say `high` */
  urgency?: Urgency;
  /** A newer message with the same topic (1-32 base64url characters) replaces an undelivered one. */
  topic?: string;
}

interface Message {
  /** The JSON text the browser's service worker receives (`event.data.json()`). */
  payload: string;
  ttl: number;
  urgency: Urgency;
  topic: string | null;
}

/** One user's message: fanned out to a delivery per subscription. */
export const PUSH_SEND = jobType<Message & { user_id: string }>('push.send');
/** One delivery to one subscription, retried alone with backoff. */
export const PUSH_DELIVER = jobType<Message & { subscription_id: number }>('push.deliver');

/** Deliveries are given up after this many attempts: e^n s after the n-th failure, about 3.5 hours in all. */
const DELIVERY_ATTEMPTS = 10;
const DAY = 86_400;

export class PushPayloadTooLarge extends RangeError {
  override name = 'PushPayloadTooLarge';
}

/**
 * Sends `payload` (any JSON value, at most 3,000 bytes once serialized: the caller shrinks it) to
 * every push subscription of each user, through `exec`: the transaction of the write it follows
 * from, so it goes if and only if that write commits. One job per user; each user's job fans out to
 * one delivery per subscription, retried alone.
 */
export async function notifyUsers(exec: Executor, userIds: readonly string[], payload: unknown, options: PushOptions = {}): Promise<void> {
  const text = JSON.stringify(payload);
  if (Buffer.byteLength(text) > PUSH_PAYLOAD_MAX_BYTES) {
    throw new PushPayloadTooLarge(`a push payload is at most ${PUSH_PAYLOAD_MAX_BYTES} bytes of JSON (got ${Buffer.byteLength(text)})`);
  }
  if (options.topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(options.topic)) throw new RangeError('a push topic is 1-32 base64url characters');
  const message: Message = { payload: text, ttl: Math.max(0, Math.min(options.ttlSeconds ?? DAY, 28 * DAY)), urgency: options.urgency ?? 'normal', topic: options.topic ?? null };
  await jobs.addMany(exec, PUSH_SEND, [...new Set(userIds)].map((user_id) => ({ payload: { ...message, user_id } })));
}

/**
 * SQL that adds a `push.send` job (PUSH_SEND's payload) per user of `usersSql` (an expression of
 * their ids, text[]) who has a subscription, carrying `payloadSql` (an expression of the JSON text):
 * for a statement of one's own (a write that plans it in its own statement, atomically), as
 * notifyUsers does in a transaction. Yields the number of jobs added; adds none (and calls
 * nothing) when no user of them has a subscription.
 */
export function pushSendSql(usersSql: string, payloadSql: string, options: PushOptions = {}): string {
  const ttl = Math.max(0, Math.min(options.ttlSeconds ?? DAY, 28 * DAY));
  const urgency = options.urgency ?? 'normal';
  if (!/^[a-z-]+$/.test(urgency)) throw new RangeError('bad urgency');
  // add_jobs is called only with jobs to add: called with none, it still wakes every instance's job
  // runner (migration 0020).
  return (
    `(select case when cardinality(j.specs) = 0 then 0 else (select count(*) from graphile_worker.add_jobs(j.specs)) end from (select array(` +
    `select row('${PUSH_SEND.name}', json_build_object('payload', ${payloadSql}, 'ttl', ${ttl}, 'urgency', '${urgency}', 'topic', null, 'user_id', u.user_id), ` +
    `null, null, null, null, null, null)::graphile_worker.job_spec ` +
    `from (select distinct s.user_id from push_subscriptions s where s.user_id = any(${usersSql})) u) as specs) j)`
  );
}

export interface PushJobsOptions {
  database: Database;
  repository: PushRepository;
  /** undefined: push is off; messages are dropped (with a debug line). */
  vapid: VapidKeys | undefined;
  allowPrivate: boolean;
  log: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
  /** Bound on one delivery (connect, send, answer). */
  timeoutMs?: number;
}

/** The push room's job handlers, for the runner. */
export function pushJobHandlers(options: PushJobsOptions): JobHandler<never>[] {
  const { database, repository, vapid, log } = options;
  const send = handler(PUSH_SEND, async ({ user_id, ...message }) => {
    // One statement: a delivery job per subscription the user has now.
    await database.rows(
      `select count(*) from graphile_worker.add_jobs(array(
         select row('push.deliver', json_build_object('subscription_id', s.id, 'payload', $2::text, 'ttl', $3::int, 'urgency', $4::text, 'topic', $5::text),
                    null, null, $6::smallint, null, null, null)::graphile_worker.job_spec
         from push_subscriptions s where s.user_id = $1))`,
      [user_id, message.payload, message.ttl, message.urgency, message.topic, DELIVERY_ATTEMPTS],
    );
  });
  const deliverOne = handler(PUSH_DELIVER, async ({ subscription_id, payload, ttl, urgency, topic }, job) => {
    if (vapid === undefined) {
      log.debug({ subscription: subscription_id }, 'push: off (no VAPID keys); message dropped');
      return;
    }
    const subscription = await repository.find(subscription_id);
    if (subscription === undefined) return; // unsubscribed meanwhile
    const result = await deliver(subscription, payload, {
      vapid,
      ttlSeconds: ttl,
      urgency,
      topic: topic ?? undefined,
      allowPrivate: options.allowPrivate,
      timeoutMs: options.timeoutMs ?? 10_000,
      signal: job.signal,
    });
    // Lines name the subscription by id and the push service by host: never the endpoint's path (its token).
    const where = { subscription: subscription_id, user: subscription.user_id, host: new URL(subscription.endpoint).host };
    if (result.outcome === 'delivered') return;
    if (result.outcome === 'gone') {
      await repository.forget(subscription);
      log.debug({ ...where, status: result.status }, 'push: the push service no longer knows the subscription; removed');
      return;
    }
    if (result.outcome === 'refused') {
      log.warn({ ...where, status: result.status, attempt: job.attempt }, `push: delivery refused (${result.reason}); not retried`);
      return;
    }
    // Thrown: graphile-worker retries it later with exponential backoff.
    throw new Error(`push delivery to subscription ${subscription_id} failed (${result.reason}); will retry`);
  });
  return [send, deliverOne] as JobHandler<never>[];
}

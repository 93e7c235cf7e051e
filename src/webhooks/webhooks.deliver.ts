import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Webhook as Signer } from 'standardwebhooks';
import type { Database } from '../db/client.js';
import { handler, jobType, type JobHandler } from '../jobs/jobs.js';
import { guardedLookup } from '../lib/public-address.js';
import { checkTarget } from './webhooks.targets.js';

/** One delivery (webhook_deliveries.id: the event's `webhook-id`), added by the triggers of migration 0013. */
export const WEBHOOK_DELIVER = jobType<{ id: string }>('webhook.deliver');

/** A 2xx within this long delivers; anything else is retried. */
const DELIVERY_TIMEOUT_MS = 10_000;

/** graphile-worker's own backoff: the next attempt comes exp(min(attempt, 10)) seconds after a failure. */
const nextAttemptIn = (attempt: number) => Math.exp(Math.min(attempt, 10)) * 1000;

interface DeliveryRow {
  id: string;
  payload: unknown;
  webhook_id: number;
  url: string;
  secret: string;
  enabled: boolean;
}

/**
 * One POST, its status (the body read and dropped), redirects not followed. It connects through
 * `guardedLookup`: the addresses are checked inside the resolution the connection itself uses, so a
 * name that answered public addresses to checkTarget cannot answer a private one now (DNS rebinding).
 */
function post(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal, allowPrivate: boolean): Promise<number> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup: guardedLookup(allowPrivate), signal }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface WebhookJobsOptions {
  database: Pick<Database, 'rows'>;
  allowPrivate: boolean;
  log: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

/**
 * Sends a delivery: a POST of its `{type, timestamp, data}` signed as Standard Webhooks says
 * (`webhook-id`, the same on every attempt; `webhook-timestamp`; `webhook-signature: v1,<HMAC>`),
 * to a target checked again now (its name may resolve elsewhere than when it was stored), redirects
 * not followed. A 2xx within 10 s delivers it; 410 turns the webhook off; anything else throws, and
 * graphile-worker retries it with growing delays (25 attempts: about 4 days; the first retry after
 * about 3 s), the delivery's row saying when.
 */
export function webhookJobHandlers(options: WebhookJobsOptions): JobHandler<never>[] {
  const { database, log } = options;
  const record = (id: string, status: number | null, next: Date | null) =>
    database.rows('update webhook_deliveries set attempts = attempts + 1, last_status = $2, next_attempt_at = $3 where id = $1', [id, status, next?.toISOString() ?? null]);

  const deliver = handler(WEBHOOK_DELIVER, async ({ id }, job) => {
    const [row] = await database.rows<DeliveryRow>(
      'select d.id, d.payload, d.webhook_id, w.url, w.secret, w.enabled from webhook_deliveries d join webhooks w on w.id = d.webhook_id where d.id = $1',
      [id],
    );
    if (row === undefined) return; // the webhook was deleted meanwhile (its deliveries with it)
    if (!row.enabled) {
      // Turned off (a 410, or PUT enabled: false) meanwhile, or a redelivery asked while off: not
      // sent, and no attempt is due any more (the list would otherwise show one due forever).
      await database.rows('update webhook_deliveries set next_attempt_at = null where id = $1', [id]);
      return;
    }
    const body = JSON.stringify(row.payload);
    const failed = async (status: number | null, why: string): Promise<never> => {
      const last = job.attempt >= job.maxAttempts;
      await record(id, status, last ? null : new Date(Date.now() + nextAttemptIn(job.attempt)));
      if (last) log.warn({ webhook: row.webhook_id, delivery: id, status }, 'webhook: delivery failed for good');
      throw new Error(`webhook delivery ${id} failed (${why})`);
    };
    let url: URL;
    try {
      url = await checkTarget(row.url, { allowPrivate: options.allowPrivate });
    } catch {
      return failed(null, 'the target is not on a public address');
    }
    const at = new Date();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'task-api-webhooks',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Signer(row.secret).sign(id, at, body),
    };
    let status: number;
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(DELIVERY_TIMEOUT_MS), job.signal]);
      status = await post(url, headers, body, signal, options.allowPrivate);
    } catch {
      return failed(null, 'no answer');
    }
    if (status >= 200 && status < 300) {
      await record(id, status, null);
      return;
    }
    if (status === 410) {
      await record(id, status, null);
      await database.rows('update webhooks set enabled = false, updated_at = now() where id = $1', [row.webhook_id]);
      log.debug({ webhook: row.webhook_id, delivery: id }, 'webhook: the endpoint answered 410; turned off');
      return;
    }
    return failed(status, `status ${status}`);
  });
  return [deliver] as JobHandler<never>[];
}

import { randomBytes } from 'node:crypto';
import type { AccessScope } from '../access/scope.js';
import { inTransaction, type Database, type Executor } from '../db/client.js';
import type { Webhook, WebhookUpdate } from './webhooks.schemas.js';

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

const COLUMNS = 'id, url, events, enabled, created_at';

export interface DeliveryRow {
  id: string;
  type: string;
  attempts: number;
  last_status: number | null;
  next_attempt_at: string | null;
}

/** SQL of a user's webhooks: every statement is the caller's own (`user_id = $1`). */
export function createWebhooksRepository(database: Pick<Database, 'rows' | 'transaction'>, options: { maxPerUser: number }) {
  // The user's webhooks are counted after the lock of their feed counter row (every user has one,
  // made with their Inbox) is taken, in a statement of its own: under READ COMMITTED it then sees
  // every create that held the lock before it, so racing creates at the cap cannot pass it.
  const LOCK = 'select 1 from user_changes where user_id = $1 for update';
  const CREATE =
    'insert into webhooks (user_id, url, events, secret) select $1, $2, $3, $4 ' +
    'where (select count(*) from webhooks w where w.user_id = $1) < $5 returning id, url, events, secret';
  return {
    /** The new webhook with its secret, or null at the cap. */
    async create(scope: AccessScope, url: string, events: string[], exec: Executor = database) {
      return inTransaction(database, exec, async (tx) => {
        await tx.rows(LOCK, [scope.userId]);
        const [row] = await tx.rows<{ id: number; url: string; events: string[]; secret: string }>(CREATE, [scope.userId, url, events, newSecret(), options.maxPerUser]);
        return row ?? null;
      });
    },
    all: (scope: AccessScope) => database.rows<Webhook>(`select ${COLUMNS} from webhooks where user_id = $1 order by id`, [scope.userId]),
    async get(scope: AccessScope, id: number): Promise<Webhook | null> {
      return (await database.rows<Webhook>(`select ${COLUMNS} from webhooks where user_id = $1 and id = $2`, [scope.userId, id]))[0] ?? null;
    },
    async update(scope: AccessScope, id: number, changes: WebhookUpdate, exec: Executor = database): Promise<Webhook | null> {
      const [row] = await exec.rows<Webhook>(
        'update webhooks set url = coalesce($3, url), events = coalesce($4, events), enabled = coalesce($5, enabled), updated_at = now() ' +
          `where user_id = $1 and id = $2 returning ${COLUMNS}`,
        [scope.userId, id, changes.url ?? null, changes.events ?? null, changes.enabled ?? null],
      );
      return row ?? null;
    },
    async remove(scope: AccessScope, id: number, exec: Executor = database): Promise<Webhook | null> {
      return (await exec.rows<Webhook>(`delete from webhooks where user_id = $1 and id = $2 returning ${COLUMNS}`, [scope.userId, id]))[0] ?? null;
    },
    /**
     * One more counted attempt of a delivery of the caller's webhook `id` (the same event, the same
     * `webhook-id`): whether there is such a delivery.
     */
    async redeliver(scope: AccessScope, id: number, deliveryId: string, exec: Executor = database): Promise<boolean> {
      const rows = await exec.rows<{ id: string }>(
        'with d as (update webhook_deliveries d set next_attempt_at = statement_timestamp() from webhooks w ' +
          'where d.id = $3 and d.webhook_id = $2 and w.id = d.webhook_id and w.user_id = $1 returning d.id) ' +
          "select d.id, (select graphile_worker.add_job('webhook.deliver', json_build_object('id', d.id), max_attempts => 1)) is not null as added from d",
        [scope.userId, id, deliveryId],
      );
      return rows.length > 0;
    },
    /** The latest 100 deliveries of the caller's webhook `id`, newest first; null when it is not theirs. */
    async deliveries(scope: AccessScope, id: number): Promise<DeliveryRow[] | null> {
      const rows = await database.rows<DeliveryRow & { mine: boolean }>(
        'select true as mine, d.id, d.type, d.attempts, d.last_status, d.next_attempt_at from (select 1) one ' +
          'left join webhook_deliveries d on d.webhook_id = $2 and exists (select 1 from webhooks w where w.id = $2 and w.user_id = $1) ' +
          'where exists (select 1 from webhooks w where w.id = $2 and w.user_id = $1) order by d.created_at desc nulls last, d.id desc limit 100',
        [scope.userId, id],
      );
      if (rows.length === 0) return null;
      return rows.filter((r) => r.id !== null).map(({ mine: _mine, ...d }) => d);
    },
  };
}

export type WebhooksRepository = ReturnType<typeof createWebhooksRepository>;

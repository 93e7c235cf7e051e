import { createHash, randomBytes } from 'node:crypto';
import type { Database, Executor } from '../db/client.js';
import type { TaskRow } from '../db/schema.js';
import { TaskSchema } from '../tasks/tasks.schemas.js';

/** One entry of /changes (and one event of the stream): the task as it is now, or its deletion. */
export type Change = { type: 'upsert'; seq: number; task: TaskRow } | { type: 'delete'; seq: number; id: number };

export interface ChangesPage {
  changes: Change[];
  /** Up to where the client has everything once it applied `changes`. */
  seq: number;
  hasMore: boolean;
}

const COLUMNS = Object.keys(TaskSchema.properties);

/** The user's counter (0 for a user who never wrote) and the seq before which deletions were purged. */
const STATE = 'select seq, purged_through from user_changes where user_id = $1';
/** A snapshot: the user's tasks as of $2 (changed later: they come with the next call), in change order. */
const SNAPSHOT = `select ${COLUMNS.join(', ')}, change_seq from tasks where user_id = $1 and change_seq <= $2 order by change_seq limit $3`;
/** Everything after $2 up to $3: tasks as they are now, and deletions, in change order. */
const SINCE = `
  select * from (
    select 'upsert' as type, change_seq as seq, ${COLUMNS.join(', ')} from tasks where user_id = $1 and change_seq > $2 and change_seq <= $3
    union all
    select 'delete', seq, ${COLUMNS.map((c) => (c === 'id' ? 'task_id' : 'null')).join(', ')} from task_tombstones where user_id = $1 and seq > $2 and seq <= $3
  ) c order by seq limit $4`;

export class CursorExpired extends Error {}

export function createSyncRepository(database: Pick<Database, 'rows'>) {
  async function state(userId: string): Promise<{ seq: number; purged: number }> {
    const [row] = await database.rows<{ seq: number; purged_through: number }>(STATE, [userId]);
    return { seq: Number(row?.seq ?? 0), purged: Number(row?.purged_through ?? 0) };
  }

  return {
    /** The user's current change sequence number: a cursor that means "everything up to now". */
    current: async (userId: string) => (await state(userId)).seq,

    /** Whether a cursor is older than what is kept (its deletions may have been purged). */
    expired: async (userId: string, since: number) => since < (await state(userId)).purged,

    /**
     * Without `since`, every current task (a snapshot); with it, every change after it, each task
     * once, in the order of its last change. The counter is read first: everything up to it has
     * committed (writes commit in seq order), so the page never ends past what it holds.
     */
    async changes(userId: string, since: number | undefined, limit: number): Promise<ChangesPage> {
      const { seq, purged } = await state(userId);
      if (since !== undefined && since < purged) throw new CursorExpired();
      // Nothing after it (or a cursor from elsewhere, past this user's counter: start from here).
      if (since !== undefined && since >= seq) return { changes: [], seq, hasMore: false };
      let changes: Change[];
      if (since === undefined) {
        const rows = await database.rows<TaskRow & { change_seq: number }>(SNAPSHOT, [userId, seq, limit + 1], { budgeted: true });
        changes = rows.map((r) => {
          const { change_seq, ...task } = r;
          return { type: 'upsert', seq: Number(change_seq), task: task as TaskRow };
        });
      } else {
        const rows = await database.rows<TaskRow & { type: 'upsert' | 'delete'; seq: number }>(SINCE, [userId, since, seq, limit + 1], { budgeted: true });
        changes = rows.map((r) => {
          const { type, seq: at, ...task } = r;
          return type === 'delete' ? { type, seq: Number(at), id: task.id } : { type, seq: Number(at), task: task as TaskRow };
        });
      }
      const hasMore = changes.length > limit;
      if (hasMore) changes.length = limit;
      return { changes, seq: hasMore ? (changes.at(-1) as Change).seq : seq, hasMore };
    },

    /** The counters of these users (the event streams' catch-up poll). */
    async counters(userIds: readonly string[]): Promise<Map<string, number>> {
      const rows = await database.rows<{ user_id: string; seq: number }>('select user_id, seq from user_changes where user_id = any($1::text[])', [userIds]);
      return new Map(rows.map((r) => [r.user_id, Number(r.seq)]));
    },

    /** A single-use ticket for the event stream, valid `ttlMs`; only its hash is stored. */
    async issueTicket(userId: string, ttlMs: number, exec: Executor = database): Promise<{ ticket: string; expiresAt: Date }> {
      const ticket = randomBytes(24).toString('base64url');
      const expiresAt = new Date(Date.now() + ttlMs);
      // Timestamps go in as text: Drizzle's driver setup leaves Date parameters unserialized.
      await exec.rows('insert into event_tickets (ticket_hash, user_id, expires_at) values ($1, $2, $3)', [hashTicket(ticket), userId, expiresAt.toISOString()]);
      return { ticket, expiresAt };
    },

    /**
     * The ticket's user, once: a second use, an expired or an unknown ticket give null. One that
     * issueTicket cannot have made gives null without a query: guesses cost the database nothing.
     */
    async redeemTicket(ticket: string): Promise<string | null> {
      if (!TICKET.test(ticket)) return null;
      const [row] = await database.rows<{ user_id: string }>('delete from event_tickets where ticket_hash = $1 and expires_at > now() returning user_id', [hashTicket(ticket)]);
      return row?.user_id ?? null;
    },

    /**
     * Forgets what is no longer kept: deletion records older than `retentionMs` (raising each
     * user's purged_through, so older cursors expire), Idempotency-Key answers older than a day,
     * expired tickets. One instance at a time does it (a transaction-level advisory lock).
     */
    async purge(retentionMs: number): Promise<{ tombstones: number }> {
      const [row] = await database.rows<{ tombstones: number }>(
        `with lock as (select pg_try_advisory_xact_lock(7300417224) as ok),
         gone as (delete from task_tombstones where deleted_at < now() - ($1::double precision * interval '1 millisecond') and (select ok from lock) returning user_id, seq),
         marks as (update user_changes u set purged_through = greatest(u.purged_through, g.seq) from (select user_id, max(seq) as seq from gone group by user_id) g where u.user_id = g.user_id),
         keys as (delete from idempotency_keys where created_at < now() - interval '24 hours' and (select ok from lock)),
         tickets as (delete from event_tickets where expires_at < now() and (select ok from lock))
         select count(*)::int as tombstones from gone`,
        [retentionMs],
      );
      return { tombstones: row?.tombstones ?? 0 };
    },
  };
}

/** What issueTicket makes: 24 random bytes in base64url, 32 characters without padding. */
const TICKET = /^[A-Za-z0-9_-]{32}$/;

function hashTicket(ticket: string): string {
  return createHash('sha256').update(ticket).digest('base64url');
}

export type SyncRepository = ReturnType<typeof createSyncRepository>;

import { createHash, randomBytes } from 'node:crypto';
import type { Database, Executor } from '../db/client.js';
import type { FeedKind } from '../feed/feed.js';
import { storedInstant } from '../lib/instant.js';

/** One entry of /changes (and one event of the stream): an entity as it is now, or its removal. */
export type Change =
  | { type: 'upsert'; seq: number; kind: FeedKind; entity: Record<string, unknown> }
  | { type: 'delete'; seq: number; kind: FeedKind; id: number };

export interface ChangesPage {
  changes: Change[];
  /** Up to where the client has everything once it applied `changes`. */
  seq: number;
  hasMore: boolean;
}

/** The user's counter (0 for a user who never wrote) and the seq before which deletions were purged. */
const STATE = 'select seq, purged_through from user_changes where user_id = $1';

type FeedRow = { seq: number | string; kind: number; entity_id: number; deleted: boolean; e: Record<string, unknown> | null };

export class CursorExpired extends Error {}

/**
 * An entity as row_to_json gave it, as the API sends it: its fields in order, timestamps (selected
 * as PostgreSQL's text) read back as every route reads them (lib/instant.ts: never throws).
 */
function apiFields(kind: FeedKind, e: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of kind.fields) out[f] = e[f];
  for (const f of kind.timestamps) {
    const v = out[f];
    if (typeof v === 'string') out[f] = storedInstant(v);
  }
  return out;
}

/**
 * The user's feed, read in one statement (one snapshot): the entries of the kinds given, each with
 * its entity as it is now (read by the kind's own SQL), in change order. Entries whose `seq` is
 * above the counter read first are left for next time: they may not have committed in order yet.
 */
function feedQuery(kinds: readonly FeedKind[], snapshot: boolean): string {
  const entity = kinds
    .map((k) => `when f.kind = ${k.id} then (select row_to_json(e) from (${k.selectFor?.('f.user_id') ?? k.select} where ${k.idColumn} = f.entity_id) e)`)
    .join(' ');
  const ids = `array[${kinds.map((k) => k.id).join(',')}]::smallint[]`;
  return snapshot
    ? `select f.seq, f.kind, f.entity_id, f.deleted, case ${entity} end as e from feed_entries f
       where f.user_id = $1 and f.kind = any(${ids}) and not f.deleted and f.seq <= $2 order by f.seq limit $3`
    : `select f.seq, f.kind, f.entity_id, f.deleted, case when f.deleted then null ${entity} end as e from feed_entries f
       where f.user_id = $1 and f.kind = any(${ids}) and f.seq > $2 and f.seq <= $3 order by f.seq limit $4`;
}

export function createSyncRepository(database: Pick<Database, 'rows'>, kinds: readonly FeedKind[]) {
  const byId = new Map(kinds.map((k) => [k.id, k]));
  /**
   * The statements of the kinds a reader asked for: those sent to everyone, and those whose
   * `include` word the reader gave. A cursor is the user's counter whatever kinds were read, so
   * one from either kind of answer works with the other.
   */
  const queries = new Map<string, { snapshot: string; since: string }>();
  function queriesFor(include: ReadonlySet<string> | undefined) {
    const chosen = kinds.filter((k) => k.include === undefined || include?.has(k.include) === true);
    const key = chosen.map((k) => k.id).join(',');
    let q = queries.get(key);
    if (q === undefined) {
      q = { snapshot: feedQuery(chosen, true), since: feedQuery(chosen, false) };
      queries.set(key, q);
    }
    return q;
  }

  async function state(userId: string): Promise<{ seq: number; purged: number }> {
    const [row] = await database.rows<{ seq: number; purged_through: number }>(STATE, [userId]);
    return { seq: Number(row?.seq ?? 0), purged: Number(row?.purged_through ?? 0) };
  }

  const toChange = (r: FeedRow): Change | undefined => {
    const kind = byId.get(r.kind) as FeedKind;
    if (r.deleted) return { type: 'delete', seq: Number(r.seq), kind, id: r.entity_id };
    // Not there (it cannot be: its removal would have moved this entry past the counter); skipped.
    if (r.e === null) return undefined;
    return { type: 'upsert', seq: Number(r.seq), kind, entity: apiFields(kind, r.e) };
  };

  return {
    /** The user's current change sequence number: a cursor that means "everything up to now". */
    current: async (userId: string) => (await state(userId)).seq,

    /** Whether a cursor is older than what is kept (its deletions may have been purged). */
    expired: async (userId: string, since: number) => since < (await state(userId)).purged,

    /**
     * Without `since`, every entity the user sees now (a snapshot); with it, every change after it,
     * each entity once, in the order of its last change. The counter is read first: everything up
     * to it has committed (each user's feed commits in seq order), so the page never ends past
     * what it holds. `include`: the `include=` words of the request (kinds sent only when asked for).
     */
    async changes(userId: string, since: number | undefined, limit: number, include?: ReadonlySet<string>): Promise<ChangesPage> {
      const { seq, purged } = await state(userId);
      if (since !== undefined && since < purged) throw new CursorExpired();
      // Nothing after it (or a cursor from elsewhere, past this user's counter: start from here).
      if (since !== undefined && since >= seq) return { changes: [], seq, hasMore: false };
      const { snapshot, since: after } = queriesFor(include);
      const rows =
        since === undefined
          ? await database.rows<FeedRow>(snapshot, [userId, seq, limit + 1], { budgeted: true })
          : await database.rows<FeedRow>(after, [userId, since, seq, limit + 1], { budgeted: true });
      const hasMore = rows.length > limit;
      if (hasMore) rows.length = limit;
      const changes = rows.map(toChange).filter((c): c is Change => c !== undefined);
      return { changes, seq: hasMore ? Number((rows.at(-1) as FeedRow).seq) : seq, hasMore };
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
         gone as (delete from feed_entries where deleted and changed_at < now() - ($1::double precision * interval '1 millisecond') and (select ok from lock) returning user_id, seq),
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

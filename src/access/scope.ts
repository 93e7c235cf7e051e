import type { Database } from '../db/client.js';

declare const scoped: unique symbol;

/**
 * Who asks, resolved once per request by `Access.resolve` after authentication (src/api.ts): the
 * only way to get one. Repositories take a scope, never a user id from a path, so no statement can
 * be written for a caller whose identity the access room has not settled (the brand makes a
 * hand-made object a type error).
 */
export interface AccessScope {
  /** The token's user: who asks. */
  readonly userId: string;
  /** Their default list (Inbox): where a task goes when no list is named. */
  readonly inboxId: number;
  readonly [scoped]: true;
}

/**
 * Makes sure the user has an Inbox (one per user, however many first requests race: the unique index
 * on owner_id where is_default, and ON CONFLICT), and answers its id. The list, its owner's
 * membership and the user's feed counter are written by one statement, so none exists without the others.
 * The Inbox is also in the user's feed (kind $2, the lists' one), at number 0: every snapshot of
 * /changes?include=lists has it, and no cursor comes before it. An Inbox made before lists were in
 * the feed (migration 0006) gets its entry here too, on its owner's first request to a process.
 */
const ENSURE_INBOX = `
  with made as (
    insert into lists (owner_id, name, is_default) values ($1, 'Inbox', true)
    on conflict (owner_id) where is_default do nothing returning id),
  member as (insert into list_members (list_id, user_id, role) select id, $1, 'owner' from made),
  feed as (insert into user_changes (user_id) select $1 from made on conflict (user_id) do nothing),
  inbox as (select id from made union all select id from lists where owner_id = $1 and is_default),
  entry as (insert into feed_entries (user_id, kind, entity_id, seq) select $1, $2::smallint, id, 0 from inbox where $2::smallint is not null on conflict do nothing)
  select id from inbox`;

/** Inbox ids of the users seen lately by this process: an Inbox never changes owner nor goes away. */
const REMEMBERED = 100_000;

export interface Access {
  /** The scope of a request by `userId` (already authenticated): their Inbox is made on their first request. */
  resolve(userId: string): Promise<AccessScope>;
  /** Waits for the look-ups under way (at most `ms`): before the pool closes, so none fails on a closed pool. */
  drain(ms: number): Promise<void>;
}

export interface AccessOptions {
  /** The stored kind of lists in the feed (src/feed/feed.ts): the Inbox's entry (none without it). */
  inboxFeedKind?: number;
}

export function createAccess(database: Pick<Database, 'rows'>, options: AccessOptions = {}): Access {
  const inboxes = new Map<string, number>();
  /** Look-ups under way, one per user: a burst of a new user's first requests makes one. */
  const pending = new Map<string, Promise<number>>();

  function inboxOf(userId: string): number | Promise<number> {
    const known = inboxes.get(userId);
    if (known !== undefined) return known;
    let lookup = pending.get(userId);
    if (lookup === undefined) {
      lookup = ensureInbox(userId).finally(() => pending.delete(userId));
      pending.set(userId, lookup);
    }
    return lookup;
  }

  async function ensureInbox(userId: string): Promise<number> {
    let [row] = await database.rows<{ id: number }>(ENSURE_INBOX, [userId, options.inboxFeedKind ?? null]);
    // Another request made it after this statement's snapshot was taken: it has committed now.
    row ??= (await database.rows<{ id: number }>('select id from lists where owner_id = $1 and is_default', [userId]))[0];
    if (row === undefined) throw new Error('the Inbox could not be made');
    if (inboxes.size >= REMEMBERED) inboxes.delete(inboxes.keys().next().value as string);
    inboxes.set(userId, row.id);
    return row.id;
  }

  return {
    async resolve(userId) {
      return { userId, inboxId: await inboxOf(userId) } as AccessScope;
    },
    async drain(ms) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...pending.values()]), new Promise((r) => (timer = setTimeout(r, ms)))]);
      clearTimeout(timer);
    },
  };
}

import { createHash, randomBytes } from 'node:crypto';
import { readableListsSql } from '../access/roles.js';
import type { AccessScope } from '../access/scope.js';
import { inTransaction, type Database, type Executor } from '../db/client.js';
import type { CalendarFeed, CalendarFormat } from './calendar.schemas.js';

/** A feed's secret: 256 random bits, base64url (43 characters). */
const SECRET_BYTES = 32;
const SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** What a secret is looked up by: its SHA-256 (an index lookup on a hash, not a comparison of the secret). */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** Whether `secret` has the shape of one the API makes (else no query is made for it). */
export function isSecretShaped(secret: string): boolean {
  return SECRET_SHAPE.test(secret);
}

const urlOf = (secret: string) => `/ical/${secret}.ics`;

interface FeedRow {
  id: number;
  secret: string;
  list_id: number | null;
  format: CalendarFormat;
}
const asFeed = ({ id, secret, list_id, format }: FeedRow): CalendarFeed => ({ id, url: urlOf(secret), list_id, format });

/** A feed found by its secret, with its user's change counter (the .ics ETag) and whether its list is still theirs. */
export interface PublishedFeed {
  id: number;
  user_id: string;
  list_id: number | null;
  format: CalendarFormat;
  seq: number;
  visible: boolean;
  /** The list's name (a one-list feed), for the calendar's name. */
  list_name: string | null;
}

/** Most tasks one .ics holds (the soonest due first): a calendar app refetches the whole file on every poll. */
export const ICS_MAX_TASKS = 10_000;

/**
 * SQL of calendar feeds. A feed belongs to a user and reads, when polled, the tasks of the lists that
 * user is a member of at that moment (or one of them): losing the list (removed, left, deleted) makes
 * the feed a 404, as the list is for them.
 */
export function createCalendarRepository(database: Pick<Database, 'rows' | 'transaction'>, options: { maxFeedsPerUser: number }) {
  const COLUMNS = 'id, secret, list_id, format';
  const member = (list: string, user: string) => `exists (select 1 from list_members m where m.list_id = ${list} and m.user_id = ${user})`;
  const CREATE =
    `insert into calendar_feeds (user_id, list_id, format, secret, secret_hash) select $1, $2, $3, $4, $5 ` +
    `where ($2::int is null or ${member('$2::int', '$1')}) and (select count(*) from calendar_feeds where user_id = $1) < $6 ` +
    `returning ${COLUMNS}`;
  return {
    /** A new feed, or why not: the list is not the caller's (`no_list`), or they keep the most feeds allowed (`full`). */
    async create(scope: AccessScope, listId: number | null, format: CalendarFormat, exec: Executor = database): Promise<CalendarFeed | 'no_list' | 'full'> {
      const secret = randomBytes(SECRET_BYTES).toString('base64url');
      // Counted after the lock of the user's feed counter row, in a statement of its own (a fresh
      // snapshot): racing creates at the cap cannot pass it.
      const [row] = await inTransaction(database, exec, async (tx) => {
        await tx.rows('select 1 from user_changes where user_id = $1 for update', [scope.userId]);
        return tx.rows<FeedRow>(CREATE, [scope.userId, listId, format, secret, secretHash(secret), options.maxFeedsPerUser]);
      });
      if (row !== undefined) return asFeed(row);
      if (listId !== null) {
        const [seen] = await exec.rows<{ ok: boolean }>(`select ${member('$2::int', '$1')} as ok`, [scope.userId, listId]);
        if (seen?.ok !== true) return 'no_list';
      }
      return 'full';
    },
    async all(scope: AccessScope): Promise<CalendarFeed[]> {
      return (await database.rows<FeedRow>(`select ${COLUMNS} from calendar_feeds where user_id = $1 order by id`, [scope.userId])).map(asFeed);
    },
    async get(scope: AccessScope, id: number): Promise<CalendarFeed | null> {
      const [row] = await database.rows<FeedRow>(`select ${COLUMNS} from calendar_feeds where user_id = $1 and id = $2`, [scope.userId, id]);
      return row === undefined ? null : asFeed(row);
    },
    /** Revokes: the address answers 404 from now on. */
    async remove(scope: AccessScope, id: number, exec: Executor = database): Promise<CalendarFeed | null> {
      const [row] = await exec.rows<FeedRow>(`delete from calendar_feeds where user_id = $1 and id = $2 returning ${COLUMNS}`, [scope.userId, id]);
      return row === undefined ? null : asFeed(row);
    },
    /** The feed behind a secret (by its hash), its user's change counter, and whether its list is still theirs. */
    async published(secret: string): Promise<PublishedFeed | null> {
      const [row] = await database.rows<PublishedFeed>(
        'select f.id, f.user_id, f.list_id, f.format, coalesce(u.seq, 0)::float8 as seq, ' +
          `(f.list_id is null or ${member('f.list_id', 'f.user_id')}) as visible, (select name from lists l where l.id = f.list_id) as list_name ` +
          'from calendar_feeds f left join user_changes u on u.user_id = f.user_id where f.secret_hash = $1',
        [secretHash(secret)],
      );
      return row ?? null;
    },
    /**
     * The tasks a feed shows, as rows of the tasks table: pending ones with a due date (events), or
     * all (todos), soonest due first, at most ICS_MAX_TASKS.
     */
    async tasks(feed: PublishedFeed): Promise<Record<string, unknown>[]> {
      const lists = feed.list_id === null ? `t.list_id in (${readableListsSql('$1')})` : `t.list_id = $2 and ${member('$2::int', '$1')}`;
      const events = feed.format === 'events' ? ' and not t.completed and t.due_at is not null' : '';
      return database.rows(
        `select t.*, (select p.uid from tasks p where p.id = t.parent_id) as parent_uid from tasks t where ${lists}${events} order by t.due_at nulls last, t.id limit ${ICS_MAX_TASKS}`,
        feed.list_id === null ? [feed.user_id] : [feed.user_id, feed.list_id],
      );
    },
  };
}

export type CalendarRepository = ReturnType<typeof createCalendarRepository>;

import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgEnum, pgTable, primaryKey, smallint, text, timestamp, varchar } from 'drizzle-orm/pg-core';

/** Ordered so: sorting by priority sorts by this order. */
export const taskPriority = pgEnum('task_priority', ['none', 'low', 'medium', 'high']);

/**
 * The one table of tasks. Property names are snake_case like the columns, so a selected row
 * is already the JSON object the API returns: nothing is re-mapped per request.
 * Timestamps keep millisecond precision, what the API shows; they arrive as ISO 8601 strings in UTC
 * (db/client.ts; lib/instant.ts, storedInstant), hence mode 'string'.
 * Every index leads with user_id: every query is one user's.
 */
export const tasks = pgTable(
  'tasks',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    user_id: text('user_id').notNull(),
    title: varchar('title', { length: 200 }).notNull(),
    description: varchar('description', { length: 1000 }),
    completed: boolean('completed').notNull().default(false),
    priority: taskPriority('priority').notNull().default('none'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    /**
     * The tags as ?tag= compares them (lower-cased), kept with the row: a filter compares arrays
     * instead of calling task_tags_key() on every row it reads (4 ms for a page of 50 from 10k tasks).
     */
    tags_key: text('tags_key')
      .array()
      .notNull()
      .generatedAlwaysAs(sql`task_tags_key(tags)`),
    due_at: timestamp('due_at', { withTimezone: true, precision: 3, mode: 'string' }),
    completed_at: timestamp('completed_at', { withTimezone: true, precision: 3, mode: 'string' }),
    version: integer('version').notNull().default(1),
    /** The user's change sequence number of this task's last change (see user_changes). */
    change_seq: bigint('change_seq', { mode: 'number' }).notNull().default(0),
    created_at: timestamp('created_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
    updated_at: timestamp('updated_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    // "this user's tasks, newest first": the default list reads this index in order.
    index('tasks_user_created_idx').on(t.user_id, sql`${t.created_at} desc`, sql`${t.id} desc`),
    // The same with ?status=: pending (or completed) tasks, newest first, without reading the others.
    index('tasks_user_completed_created_idx').on(t.user_id, t.completed, sql`${t.created_at} desc`, sql`${t.id} desc`),
    // One per sort key, read forwards or backwards (keyset pages: (key, id) > (cursor)).
    index('tasks_user_updated_idx').on(t.user_id, t.updated_at, t.id),
    index('tasks_user_due_idx').on(t.user_id, t.due_at, t.id),
    index('tasks_user_priority_idx').on(t.user_id, t.priority, t.id),
    index('tasks_user_title_idx').on(t.user_id, sql`lower(${t.title})`, t.id),
    // ?q=: trigrams of title and description together (btree_gin for the user), see the migration.
    index('tasks_search_idx').using('gin', t.user_id, sql`(${t.title} || E'\\x1f' || coalesce(${t.description}, '')) gin_trgm_ops`),
    // ?tag=: the user's tasks carrying every given tag, compared case-insensitively.
    index('tasks_tags_idx').using('gin', t.user_id, t.tags_key),
    // /changes: the user's tasks changed after a cursor, in the order of their last change.
    index('tasks_user_change_seq_idx').on(t.user_id, t.change_seq),
  ],
);

/**
 * One row per user who ever wrote: the user's change counter. Every write of a user's tasks
 * increments `seq` in its own transaction and stamps the task (or its tombstone) with the new value;
 * the row lock makes the user's writes commit in `seq` order, so a cursor (a `seq`) means exactly
 * "every change up to here". `task_count` bounds how many tasks a user keeps; `purged_through` is
 * the highest seq of a deletion record purged (cursors before it have expired).
 */
export const userChanges = pgTable('user_changes', {
  user_id: text('user_id').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull().default(0),
  task_count: integer('task_count').notNull().default(0),
  purged_through: bigint('purged_through', { mode: 'number' }).notNull().default(0),
  /** How many Idempotency-Key answers the user has had kept: the next one goes in slot n % the cap. */
  idempotency_seq: bigint('idempotency_seq', { mode: 'number' }).notNull().default(0),
});

/** What sync keeps of a deleted task: its id, the seq of the deletion, when. Nothing of its content. */
export const taskTombstones = pgTable(
  'task_tombstones',
  {
    user_id: text('user_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    task_id: integer('task_id').notNull(),
    deleted_at: timestamp('deleted_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.user_id, t.seq] }), index('task_tombstones_deleted_at_idx').on(t.deleted_at)],
);

/**
 * Idempotency-Key answers, kept 24 hours: written in the same transaction as the write they answer,
 * so a retry after a crash between the write and the answer replays instead of running again.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    user_id: text('user_id').notNull(),
    key: text('key').notNull(),
    /** sha256 of method, path and body: the same key with another request is refused. */
    fingerprint: text('fingerprint').notNull(),
    status: smallint('status').notNull(),
    body: jsonb('body').notNull(),
    created_at: timestamp('created_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
    /**
     * Its place in the user's ring of IDEMPOTENCY_MAX_KEYS_PER_USER answers: a new answer takes the
     * slot of the user's oldest one, so a user keeps at most that many (null: kept before the cap).
     */
    slot: integer('slot'),
  },
  (t) => [
    primaryKey({ columns: [t.user_id, t.key] }),
    index('idempotency_keys_created_at_idx').on(t.created_at),
    index('idempotency_keys_user_slot_idx').on(t.user_id, t.slot),
  ],
);

/** Event-stream tickets: single use, 60 seconds, one user; only their hash is stored. */
export const eventTickets = pgTable(
  'event_tickets',
  {
    ticket_hash: text('ticket_hash').primaryKey(),
    user_id: text('user_id').notNull(),
    expires_at: timestamp('expires_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull(),
  },
  (t) => [index('event_tickets_expires_at_idx').on(t.expires_at)],
);

export type TaskRow = typeof tasks.$inferSelect;

/**
 * Written to (and rolled back) by the readiness probe after a storage failure: each row needs a
 * page of its own, so the probe fails while the disk is full. It never holds committed rows.
 */
export const readinessProbe = pgTable('readiness_probe', {
  pad: text('pad'),
});

import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgEnum, pgTable, text, timestamp, varchar } from 'drizzle-orm/pg-core';

/** Ordered so: sorting by priority sorts by this order. */
export const taskPriority = pgEnum('task_priority', ['none', 'low', 'medium', 'high']);

/**
 * The one table of tasks. Property names are snake_case like the columns, so a selected row
 * is already the JSON object the API returns: nothing is re-mapped per request.
 * Timestamps keep millisecond precision, the precision a JS Date (and the API) shows.
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
    due_at: timestamp('due_at', { withTimezone: true, precision: 3 }),
    completed_at: timestamp('completed_at', { withTimezone: true, precision: 3 }),
    version: integer('version').notNull().default(1),
    created_at: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updated_at: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
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
    index('tasks_tags_idx').using('gin', t.user_id, sql`task_tags_key(${t.tags})`),
  ],
);

export type TaskRow = typeof tasks.$inferSelect;

/**
 * Written to (and rolled back) by the readiness probe after a storage failure: each row needs a
 * page of its own, so the probe fails while the disk is full. It never holds committed rows.
 */
export const readinessProbe = pgTable('readiness_probe', {
  pad: text('pad'),
});

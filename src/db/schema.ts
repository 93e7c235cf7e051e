import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, text, timestamp, varchar } from 'drizzle-orm/pg-core';

/**
 * The one table. Property names are snake_case like the columns, so a selected row
 * is already the JSON object the API returns: nothing is re-mapped per request.
 * Timestamps keep millisecond precision, the precision a JS Date (and the API) shows.
 */
export const tasks = pgTable(
  'tasks',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    user_id: text('user_id').notNull(),
    title: varchar('title', { length: 200 }).notNull(),
    description: varchar('description', { length: 1000 }),
    completed: boolean('completed').notNull().default(false),
    created_at: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updated_at: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    // "this user's tasks, newest first": the list query reads this index in order.
    index('tasks_user_created_idx').on(t.user_id, sql`${t.created_at} desc`, sql`${t.id} desc`),
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

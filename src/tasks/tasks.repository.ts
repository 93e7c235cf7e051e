import { and, desc, eq, not, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { tasks, type TaskRow } from '../db/schema.js';

export type TaskStatus = 'all' | 'pending' | 'completed';

export interface NewTask {
  title: string;
  description?: string | null | undefined;
}

export interface TaskChanges {
  title?: string | undefined;
  description?: string | null | undefined;
  completed?: boolean | undefined;
}

/** Stands for the user id while the list SQL is built. */
const USER = '\u0000user-id\u0000';

const byUser = (userId: string) => eq(tasks.user_id, userId);
const byUserAndId = (userId: string, id: number) => and(eq(tasks.user_id, userId), eq(tasks.id, id));

/**
 * SQL only. Every query takes the user id and filters by it, so no route can reach another
 * user's rows whatever its path says. Every write is one statement with RETURNING.
 */
export function createTasksRepository(database: Pick<Database, 'db' | 'rows'>, maxPerList: number) {
  const { db } = database;
  /** The list SQL, built by Drizzle once per status; the request path only binds the user id. */
  const listQuery = (status: TaskStatus) => {
    const where = status === 'all' ? byUser(USER) : and(byUser(USER), eq(tasks.completed, status === 'completed'));
    const { sql: text, params } = db
      .select()
      .from(tasks)
      .where(where)
      .orderBy(desc(tasks.created_at), desc(tasks.id))
      .limit(maxPerList)
      .toSQL();
    const userAt = params.indexOf(USER);
    if (userAt < 0) throw new Error('list query lost its user filter');
    return (userId: string) => {
      const bound = [...params];
      bound[userAt] = userId;
      // The hottest read: the driver's rows are already the API's objects (see Database.rows).
      return database.rows<TaskRow>(text, bound);
    };
  };
  const lists = { all: listQuery('all'), pending: listQuery('pending'), completed: listQuery('completed') };

  return {
    list(userId: string, status: TaskStatus): Promise<TaskRow[]> {
      return lists[status](userId);
    },

    async get(userId: string, id: number): Promise<TaskRow | null> {
      const rows = await db.select().from(tasks).where(byUserAndId(userId, id));
      return rows[0] ?? null;
    },

    async create(userId: string, input: NewTask): Promise<TaskRow> {
      const rows = await db
        .insert(tasks)
        .values({ user_id: userId, title: input.title, description: input.description ?? null })
        .returning();
      return rows[0] as TaskRow;
    },

    async update(userId: string, id: number, changes: TaskChanges): Promise<TaskRow | null> {
      const rows = await db
        .update(tasks)
        .set({ ...changes, updated_at: sql`now()` })
        .where(byUserAndId(userId, id))
        .returning();
      return rows[0] ?? null;
    },

    /** Atomic: one UPDATE ... SET completed = NOT completed ... RETURNING. */
    async toggle(userId: string, id: number): Promise<TaskRow | null> {
      const rows = await db
        .update(tasks)
        .set({ completed: not(tasks.completed), updated_at: sql`now()` })
        .where(byUserAndId(userId, id))
        .returning();
      return rows[0] ?? null;
    },

    async remove(userId: string, id: number): Promise<TaskRow | null> {
      const rows = await db.delete(tasks).where(byUserAndId(userId, id)).returning();
      return rows[0] ?? null;
    },
  };
}

export type TasksRepository = ReturnType<typeof createTasksRepository>;

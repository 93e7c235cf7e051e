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
const CHANGEABLE = ['title', 'description', 'completed'] as const satisfies readonly (keyof TaskChanges)[];

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

  // Single-row statements built once; a request only binds its parameters.
  const p = { userId: sql.placeholder('userId'), id: sql.placeholder('id') };
  const mine = and(eq(tasks.user_id, p.userId as unknown as string), eq(tasks.id, p.id as unknown as number));
  const getOne = db.select().from(tasks).where(mine).prepare('task_get');
  const toggleOne = db
    .update(tasks)
    .set({ completed: not(tasks.completed), updated_at: sql`now()` })
    .where(mine)
    .returning()
    .prepare('task_toggle');
  const removeOne = db.delete(tasks).where(mine).returning().prepare('task_delete');
  const insertOne = db
    .insert(tasks)
    .values({
      user_id: p.userId as unknown as string,
      title: sql.placeholder('title') as unknown as string,
      description: sql.placeholder('description') as unknown as string,
    })
    .returning()
    .prepare('task_insert');

  /** One prepared UPDATE per set of changed fields (at most 8), made on first use. */
  const updates = new Map<string, ReturnType<typeof prepareUpdate>>();
  function prepareUpdate(fields: readonly (keyof TaskChanges)[]) {
    const set: Record<string, unknown> = { updated_at: sql`now()` };
    for (const f of fields) set[f] = sql.placeholder(f);
    return db.update(tasks).set(set).where(mine).returning().prepare(`task_update_${fields.join('_') || 'none'}`);
  }

  return {
    list(userId: string, status: TaskStatus): Promise<TaskRow[]> {
      return lists[status](userId);
    },

    async get(userId: string, id: number): Promise<TaskRow | null> {
      const rows = (await getOne.execute({ userId, id })) as TaskRow[];
      return rows[0] ?? null;
    },

    async create(userId: string, input: NewTask): Promise<TaskRow> {
      const rows = (await insertOne.execute({ userId, title: input.title, description: input.description ?? null })) as TaskRow[];
      return rows[0] as TaskRow;
    },

    /** Sets the given fields (and updated_at); fields left undefined are not touched. */
    async update(userId: string, id: number, changes: TaskChanges): Promise<TaskRow | null> {
      const fields = CHANGEABLE.filter((f) => changes[f] !== undefined);
      const key = fields.join(',');
      let statement = updates.get(key);
      if (statement === undefined) {
        statement = prepareUpdate(fields);
        updates.set(key, statement);
      }
      const rows = (await statement.execute({ userId, id, ...changes })) as TaskRow[];
      return rows[0] ?? null;
    },

    /** Atomic: one UPDATE ... SET completed = NOT completed ... RETURNING. */
    async toggle(userId: string, id: number): Promise<TaskRow | null> {
      const rows = (await toggleOne.execute({ userId, id })) as TaskRow[];
      return rows[0] ?? null;
    },

    async remove(userId: string, id: number): Promise<TaskRow | null> {
      const rows = (await removeOne.execute({ userId, id })) as TaskRow[];
      return rows[0] ?? null;
    },
  };
}

export type TasksRepository = ReturnType<typeof createTasksRepository>;

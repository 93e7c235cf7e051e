/**
 * Better Auth's tables in a real PostgreSQL database, for a Better Auth test server on the Drizzle
 * adapter: the columns are those Better Auth itself declares (getAuthTables, with the plugins in
 * use), named the way its adapters name them: `snake` as the Drizzle schema generator does
 * (`expires_at`, `user_id`), `camel` as the Kysely migrator and the Prisma generator do
 * (`"expiresAt"`, `"userId"`).
 */
import { getAuthTables } from '@better-auth/core/db';
import type { BetterAuthOptions } from 'better-auth';
import { drizzle } from 'drizzle-orm/postgres-js';
import { boolean, integer, pgTable, text, timestamp, type PgColumnBuilderBase } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { driverArgs } from '../../src/db/embedded.js';

export type ColumnStyle = 'snake' | 'camel';

const snake = (name: string) => name.replace(/([a-z\d])([A-Z])/g, '$1_$2').toLowerCase();

export interface AuthTables {
  /** The Drizzle database and schema to hand to `drizzleAdapter(db, { provider: 'pg', schema })`. */
  db: ReturnType<typeof drizzle>;
  schema: Record<string, ReturnType<typeof pgTable>>;
  close(): Promise<void>;
}

/** Creates Better Auth's tables (for `options`' plugins) in the database at `url`, in `style`. */
export async function createAuthTables(url: string, style: ColumnStyle, options: Pick<BetterAuthOptions, 'plugins'>): Promise<AuthTables> {
  const sql = postgres(...driverArgs(url, { max: 4, onnotice: () => {} }));
  const column = (key: string) => (style === 'snake' ? snake(key) : key);
  const schema: Record<string, ReturnType<typeof pgTable>> = {};
  for (const [model, table] of Object.entries(getAuthTables(options as BetterAuthOptions))) {
    const name = table.modelName ?? model;
    const columns: Record<string, PgColumnBuilderBase> = { id: text('id').primaryKey() };
    const ddl = ['"id" text primary key'];
    for (const [key, field] of Object.entries(table.fields)) {
      const col = column(field.fieldName ?? key);
      const type = field.type === 'boolean' ? 'boolean' : field.type === 'date' ? 'timestamptz(3)' : field.type === 'number' ? 'integer' : 'text';
      ddl.push(`"${col}" ${type}${field.required ? ' not null' : ''}${field.unique ? ' unique' : ''}`);
      let builder: PgColumnBuilderBase =
        field.type === 'boolean' ? boolean(col) : field.type === 'date' ? timestamp(col, { withTimezone: true, precision: 3 }) : field.type === 'number' ? integer(col) : text(col);
      if (field.required) builder = (builder as unknown as { notNull(): PgColumnBuilderBase }).notNull();
      columns[key] = builder;
    }
    await sql.unsafe(`create table if not exists "${name}" (${ddl.join(', ')})`);
    schema[name] = pgTable(name, columns);
  }
  return { db: drizzle({ client: sql, schema }), schema, close: () => sql.end({ timeout: 5 }) };
}

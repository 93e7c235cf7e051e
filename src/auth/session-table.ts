import { createHmac, timingSafeEqual } from 'node:crypto';
import type postgres from 'postgres';
import { ApiError } from '../errors.js';
import type { SessionFound, SessionSource } from './session.js';

/**
 * How Better Auth's adapters name the session table's columns in PostgreSQL:
 * - `snake`: the Drizzle adapter's generated schema (`npx @better-auth/cli generate`):
 *   `session(token, user_id, expires_at)`.
 * - `camel`: the built-in Kysely adapter (`npx @better-auth/cli migrate`) and the Prisma schema
 *   it generates (`@@map("session")`, fields unmapped): `session(token, "userId", "expiresAt")`.
 */
export type SessionColumns = 'snake' | 'camel';
const COLUMNS: Record<SessionColumns, { userId: string; expiresAt: string }> = {
  snake: { userId: 'user_id', expiresAt: 'expires_at' },
  camel: { userId: 'userId', expiresAt: 'expiresAt' },
};

export interface SessionTableOptions {
  /** A connection (pool) to the database holding Better Auth's tables. */
  sql: postgres.Sql;
  /** `session`, or `schema.session`. */
  table: string;
  /** Column naming; undefined: found in information_schema on first use. */
  columns?: SessionColumns | undefined;
  /** Server-side prepared statements (off behind a transaction pooler). */
  prepare: boolean;
  /** BETTER_AUTH_SECRET, to check the signature of a signed token (`<token>.<signature>`). */
  secret?: string | undefined;
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

function notFound(table: string): ApiError {
  return new ApiError(
    'SERVICE_UNAVAILABLE',
    `Session tokens cannot be checked: no table ${table} with columns token, user_id, expires_at (Drizzle) or token, "userId", "expiresAt" (Prisma, Kysely); check AUTH_SESSION_TABLE`,
    { 'retry-after': '5' },
  );
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Sessions read from Better Auth's own `session` table, for an API that shares (or can read) the
 * database Better Auth writes to: one indexed query (`token` is unique) per token not seen in the
 * last AUTH_SESSION_CACHE_MS, no call to Better Auth, and it works whether or not the frontend
 * uses bearer(). A signed token must carry Better Auth's signature when the API holds the secret;
 * a signed-out session is gone from the table, an expired one is refused by its `expires_at`.
 * The column naming is found on first use (and looked for again while the table is missing).
 */
export function sessionTableSource(options: SessionTableOptions): SessionSource {
  const [schema, name] = options.table.includes('.') ? options.table.split('.', 2) : [undefined, options.table];
  const tableSql = schema === undefined ? quote(name as string) : `${quote(schema)}.${quote(name as string)}`;
  let text: string | undefined;

  async function statement(): Promise<string> {
    if (text !== undefined) return text;
    let columns = options.columns;
    if (columns === undefined) {
      const rows = await options.sql.unsafe<{ column_name: string }[]>(
        `select column_name from information_schema.columns
          where table_name = $1 and table_schema = coalesce($2, current_schema())`,
        [name as string, schema ?? null],
      );
      const names = new Set(rows.map((r) => r.column_name));
      if (!names.has('token')) throw notFound(options.table);
      if (names.has('user_id') && names.has('expires_at')) columns = 'snake';
      else if (names.has('userId') && names.has('expiresAt')) columns = 'camel';
      else throw notFound(options.table);
    }
    const c = COLUMNS[columns];
    text = `select ${quote(c.userId)} as user_id, ${quote(c.expiresAt)} as expires_at from ${tableSql} where token = $1`;
    return text;
  }

  return async ({ bare, given }): Promise<SessionFound | null> => {
    if (given.includes('.') && options.secret !== undefined) {
      const signature = createHmac('sha256', options.secret).update(bare).digest('base64');
      if (!sameText(given.slice(bare.length + 1), signature)) return null;
    }
    const rows = await options.sql.unsafe<{ user_id: unknown; expires_at: unknown }[]>(await statement(), [bare], { prepare: options.prepare });
    const row = rows[0];
    if (row === undefined || typeof row.user_id !== 'string') return null;
    const expiresAt = row.expires_at instanceof Date ? row.expires_at.getTime() : Date.parse(String(row.expires_at));
    return Number.isNaN(expiresAt) ? null : { userId: row.user_id, expiresAt };
  };
}

import { mkdirSync } from 'node:fs';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import type { Config } from '../config.js';

/** The one Drizzle type the repository and migrator see, whichever engine is behind it. */
export type Db = PgDatabase<PgQueryResultHKT>;

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly db: Db;
  /**
   * Runs SQL text that Drizzle built and returns the driver's own row objects, skipping Drizzle's
   * generic per-row mapping: for hot read paths whose columns need no decoding (names are already
   * the JSON keys; timestamps come back as Dates from both drivers).
   */
  rows<T>(text: string, params: readonly unknown[]): Promise<T[]>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type DatabaseOptions = Pick<
  Config,
  'databaseUrl' | 'databasePrepare' | 'databasePoolMax' | 'databaseTimeoutMs' | 'dataDir'
>;

const TIMESTAMPTZ_OID = 1184;

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl === undefined ? createPglite(options.dataDir) : createPostgres(options);
}

/** `?pgbouncer=true` is our hint (prepared statements off), not a connection parameter: drop it. */
export function driverUrl(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has('pgbouncer')) return url;
  u.searchParams.delete('pgbouncer');
  return u.toString();
}

function createPostgres(options: DatabaseOptions): Database {
  const url = driverUrl(options.databaseUrl as string);
  const client = postgres(url, {
    max: options.databasePoolMax,
    // Reconnect at once, no exponential wait: while the database is down a query fails at once
    // (503) instead of waiting, and so never runs later, after its client has given up.
    backoff: () => 0,
    prepare: options.databasePrepare,
    connect_timeout: Math.ceil(options.databaseTimeoutMs / 1000),
    idle_timeout: 60,
    max_lifetime: 30 * 60,
    onnotice: () => {},
    // Transaction poolers (PgBouncer, Neon pooled URLs) refuse startup parameters such as
    // statement_timeout. DATABASE_PREPARE=false is how a pooler is declared (it defaults to false
    // for URLs that look pooled; docs/DEPLOYMENT.md), so it also means "send no startup parameters".
    ...(options.databasePrepare
      ? { connection: { statement_timeout: options.databaseTimeoutMs, application_name: 'task-api' } }
      : {}),
  });
  const db = drizzlePostgres({ client }) as unknown as Db;
  // Drizzle makes timestamptz arrive as text and parses it again per row; let the driver return a
  // Date (its default) instead, which Drizzle's timestamp columns accept as is.
  client.options.parsers[TIMESTAMPTZ_OID] = (value: string) => new Date(value);
  return {
    kind: 'postgres',
    db,
    rows: <T>(text: string, params: readonly unknown[]) =>
      client.unsafe(text, params as never[], { prepare: options.databasePrepare }) as unknown as Promise<T[]>,
    async ping() {
      await client`select 1`;
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

async function createPglite(dataDir: string): Promise<Database> {
  // Loaded only when used: a PostgreSQL deployment never pays for the embedded engine's memory.
  const [{ PGlite }, { drizzle: drizzlePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
  ]);
  if (dataDir !== 'memory://') mkdirSync(dataDir, { recursive: true });
  const client = dataDir === 'memory://' ? new PGlite() : new PGlite(`${dataDir}/pglite`);
  await client.waitReady;
  const db = drizzlePglite({ client }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    rows: async <T>(text: string, params: readonly unknown[]) => (await client.query<T>(text, params as unknown[])).rows,
    async ping() {
      await db.execute(sql`select 1`);
    },
    async close() {
      if (!client.closed) await client.close();
    },
  };
}

import { drizzle } from 'drizzle-orm/postgres-js';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { driverArgs } from './embedded.js';
import { storedInstant } from '../lib/instant.js';
import { isStorageFailure, QueryBudgetExceeded } from './errors.js';

/** The one Drizzle type the repositories and the migrator see. */
export type Db = PgDatabase<PgQueryResultHKT>;

/** Runs SQL text: the database itself, or a transaction of it. */
export interface Executor {
  /**
   * Runs SQL text and returns the driver's own row objects, skipping Drizzle's per-row mapping:
   * for hot paths whose columns need no decoding (names are already the JSON keys; timestamps
   * come back as the API's ISO strings).
   */
  rows<T>(text: string, params: readonly unknown[], options?: RunOptions): Promise<T[]>;
}

export interface RunOptions {
  /**
   * Plan this statement for its values every time (an unnamed statement), even where prepared
   * statements are used: for statements whose best plan depends on the user (the page queries
   * that filter by what tasks hold: tasks.repository.ts, page).
   * A prepared statement gets one generic plan after five executions when PostgreSQL estimates
   * it no worse, estimated for an average user; for the page queries that plan sorted 22,000 of
   * a 100k-task user's tasks for one tag (50 ms, against 13 ms) and made a two-letter q scan the
   * whole trigram index for every user (0.5 s, against 0.15 ms): `npm run bench:explain` replays
   * it. Planning and parsing cost 0.05-0.4 ms; every other statement keeps its generic plan.
   */
  readonly planEachTime?: boolean;
  /**
   * A statement whose cost the request shapes (a page of tasks, /tags, /changes): bounded by the
   * database's read budget (QUERY_BUDGET_MS) instead of its general timeout. Over it the statement is
   * cancelled and fails with the code QUERY_BUDGET (a 503 that says so), so that no request holds a
   * connection and a core for longer, however its filters are chosen.
   */
  readonly budgeted?: boolean;
}


export interface Database extends Executor {
  /** 'embedded': the server this service started in DATA_DIR; 'external': DATABASE_URL. */
  readonly kind: 'embedded' | 'external';
  /** Where it is, for logs: a folder, or host:port/database (never a password). */
  readonly where: string;
  readonly db: Db;
  /** The driver itself, for SQL built by hand (page queries, sync). */
  readonly sql: postgres.Sql;
  /** Whether server-side prepared statements are used (off behind a transaction pooler). */
  readonly prepare: boolean;
  /** A direct (not pooled) URL of this database, where LISTEN works; undefined behind a pooler. */
  readonly listenUrl: string | undefined;
  /** Runs `fn` in one transaction (READ COMMITTED): committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  /** Tells the database about a failed query: a full disk is remembered until a write works again. */
  noteFailure(err: unknown): void;
  /** Resolves when the database answers and, after a storage failure, takes a write again. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs `fn` in a transaction: `exec`'s own when it already is one (a write under Idempotency-Key
 * runs in the transaction that keeps its answer), else a new one of `database`.
 */
export function inTransaction<T>(database: Pick<Database, 'transaction'>, exec: Executor, fn: (tx: Executor) => Promise<T>): Promise<T> {
  return exec === (database as unknown) ? database.transaction(fn) : fn(exec);
}

export interface DatabaseOptions {
  url: string;
  /** What pg_stat_activity shows for its connections (direct connections only): `task-api` unless given. */
  applicationName?: string;
  kind: Database['kind'];
  where: string;
  prepare: boolean;
  poolMax: number;
  /** Bound on connecting, and on each statement. */
  timeoutMs: number;
  /** Bound on each budgeted statement (RunOptions.budgeted); defaults to timeoutMs. */
  budgetMs?: number;
  /** Called after the pool closed (the embedded server stops there). */
  onClose?: () => Promise<void>;
  /** A check of its own before `ready` answers (the embedded server's free disk space). */
  readyCheck?: () => Promise<void>;
  /** Where LISTEN may go (see Database.listenUrl). */
  listenUrl?: string | undefined;
}

const TIMESTAMPTZ_OID = 1184;

/**
 * A query that gets no answer in time fails (503), whatever the server is doing: statement_timeout
 * bounds a statement on a server that works, but not one that is frozen (stopped, a stalled disk,
 * a network partition that keeps the socket open), nor one behind a pooler (no statement_timeout).
 * The query is cancelled; if the server wakes up it may still complete: writes are atomic, and
 * a retry with Idempotency-Key is safe either way.
 */
function bounded<T>(query: Promise<T> & { cancel(): void }, ms: number, budget?: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      query.cancel();
      reject(budget === undefined ? Object.assign(new Error(`The database did not answer within ${ms} ms`), { code: 'QUERY_TIMEOUT' }) : new QueryBudgetExceeded(budget));
    }, ms);
    query.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
const ROLLBACK = new Error('readiness probe: roll back');

/** `?pgbouncer=true` is our hint (prepared statements off), not a connection parameter: drop it. */
export function driverUrl(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has('pgbouncer')) return url;
  u.searchParams.delete('pgbouncer');
  return u.toString();
}

/** Host, port and database of a URL, never its password: for logs and messages. */
export function describeUrl(url: string): string {
  const u = new URL(url);
  const socket = u.searchParams.get('host');
  const host = socket?.startsWith('/') ? socket : `${u.hostname}:${u.port || '5432'}`;
  return `${host}${u.pathname}`;
}

export function createDatabase(options: DatabaseOptions): Database {
  const client = postgres(
    ...driverArgs(driverUrl(options.url), {
      max: options.poolMax,
      // Reconnect at once, no exponential wait: while the database is down a query fails at once
      // (503) instead of waiting, and so never runs later, after its client has given up.
      backoff: () => 0,
      prepare: options.prepare,
      connect_timeout: Math.ceil(options.timeoutMs / 1000),
      idle_timeout: 60,
      max_lifetime: 30 * 60,
      onnotice: () => {},
      // Transaction poolers (PgBouncer, Neon pooled URLs) refuse startup parameters such as
      // statement_timeout. DATABASE_PREPARE=false is how a pooler is declared (it defaults to false
      // for URLs that look pooled; docs/DEPLOYMENT.md), so it also means "send no startup parameters".
      // jit off: short statements whose estimates (of rows they never have) pass jit_above_cost were
      // compiled by LLVM at every run, 10-20 ms each (migration 0016 turns it off where it mattered,
      // the webhook events' function, also behind a pooler).
      ...(options.prepare ? { connection: { statement_timeout: options.timeoutMs, application_name: options.applicationName ?? 'task-api', jit: 'off' } } : {}),
    }),
  );
  const db = drizzle({ client }) as unknown as Db;
  // timestamptz arrives as the API writes it (an ISO 8601 string in UTC with milliseconds), made
  // from PostgreSQL's text without a Date in between: a list of 50 tasks holds 200 of them. It
  // never throws, whatever a row holds (a BC date, infinity): lib/instant.ts, storedInstant.
  client.options.parsers[TIMESTAMPTZ_OID] = storedInstant;

  let storageFailedAt: number | undefined;
  // A little more than the server's own bound, so that a working server's error wins.
  const queryBound = options.timeoutMs + 500;
  const budget = Math.min(options.budgetMs ?? options.timeoutMs, options.timeoutMs);
  const run = <T>(on: postgres.Sql | postgres.TransactionSql, text: string, params: readonly unknown[], how?: RunOptions) => {
    const query = on.unsafe(text, params as never[], { prepare: options.prepare && how?.planEachTime !== true });
    return (how?.budgeted === true ? bounded(query, budget, budget) : bounded(query, queryBound)) as unknown as Promise<T[]>;
  };

  return {
    kind: options.kind,
    where: options.where,
    db,
    sql: client,
    prepare: options.prepare,
    listenUrl: options.listenUrl,
    rows: <T>(text: string, params: readonly unknown[], how?: RunOptions) => run<T>(client, text, params, how),
    transaction: <T>(fn: (tx: Executor) => Promise<T>) =>
      client.begin((tx) => fn({ rows: <R>(text: string, params: readonly unknown[], how?: RunOptions) => run<R>(tx, text, params, how) })) as Promise<T>,
    noteFailure(err) {
      if (isStorageFailure(err)) storageFailedAt ??= Date.now();
    },
    async ready() {
      await client`select 1`;
      await options.readyCheck?.();
      if (storageFailedAt === undefined) return;
      // A write that needs a page of its own (7 kB, stored inline), rolled back: it fails while
      // the disk is full.
      await client
        .begin(async (tx) => {
          await tx`insert into readiness_probe (pad) values (repeat('x', 7000))`;
          throw ROLLBACK;
        })
        .catch((err: unknown) => {
          if (err !== ROLLBACK) throw err;
        });
      storageFailedAt = undefined;
    },
    async close() {
      await client.end({ timeout: 5 });
      await options.onClose?.();
    },
  };
}

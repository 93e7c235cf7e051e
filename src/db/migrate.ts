import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { projectRoot } from '../lib/project-root.js';
import type { Db } from './client.js';

interface JournalEntry {
  idx: number;
  when: number;
  tag: string;
}

export interface Migration {
  tag: string;
  when: number;
  hash: string;
  statements: string[];
}

/** An arbitrary constant: the advisory lock key that serialises migrations across instances. */
const MIGRATION_LOCK_KEY = 7_300_417_223;

export function migrationsFolder(): string {
  return join(projectRoot(), 'drizzle');
}

/** Reads drizzle-kit's journal and SQL files (the versioned migrations in ./drizzle). */
export function readMigrations(folder = migrationsFolder()): Migration[] {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as {
    entries: JournalEntry[];
  };
  return journal.entries.map((entry) => {
    const text = readFileSync(join(folder, `${entry.tag}.sql`), 'utf8');
    return {
      tag: entry.tag,
      when: entry.when,
      hash: createHash('sha256').update(text).digest('hex'),
      statements: text
        .split('--> statement-breakpoint')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    };
  });
}

/**
 * Applies pending migrations in ONE transaction that first takes a transaction-level advisory lock.
 * Several instances starting together queue on the lock; the first applies, the others then see
 * nothing pending. A transaction-level lock (not a session one) also holds behind a transaction
 * pooler such as PgBouncer or Neon's pooled URLs. The bookkeeping table is drizzle-kit's own
 * (drizzle.__drizzle_migrations), so `drizzle-kit migrate` and this agree on what is applied.
 * Returns the tags applied.
 */
export async function migrate(db: Db, migrations = readMigrations()): Promise<string[]> {
  return db.transaction(async (tx) => {
    // Neither the wait for another instance's migration nor a migration of a big table is bounded
    // by the pool's statement_timeout (DATABASE_TIMEOUT_MS, meant for requests): 0006 on 1M tasks
    // takes longer than its 5 s, and a start would fail every time.
    await tx.execute(sql`set local statement_timeout = 0`);
    await tx.execute(sql`select pg_advisory_xact_lock(${sql.raw(String(MIGRATION_LOCK_KEY))})`);
    await tx.execute(sql`create schema if not exists drizzle`);
    await tx.execute(
      sql`create table if not exists drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)`,
    );
    const result = await tx.execute<{ created_at: string | number | null }>(
      sql`select created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`,
    );
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
      created_at: string | number | null;
    }[];
    const last = rows[0]?.created_at == null ? -1 : Number(rows[0].created_at);
    const applied: string[] = [];
    for (const m of migrations) {
      if (m.when <= last) continue;
      for (const statement of m.statements) await tx.execute(sql.raw(statement));
      await tx.execute(
        sql`insert into drizzle.__drizzle_migrations (hash, created_at) values (${m.hash}, ${m.when})`,
      );
      applied.push(m.tag);
    }
    return applied;
  });
}

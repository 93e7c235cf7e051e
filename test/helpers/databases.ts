import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createDatabase, type Database } from '../../src/db/client.js';
import { testConfig } from '../../src/config.js';

/**
 * The engines every data test runs on: PGlite (in memory) always, and PostgreSQL whenever
 * TEST_DATABASE_URL is set. With REQUIRE_POSTGRES=1 (CI) a missing URL is an error, not a skip.
 */
export type DriverName = 'pglite' | 'postgres';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

if (process.env.REQUIRE_POSTGRES === '1' && TEST_DATABASE_URL === undefined) {
  throw new Error('REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set: the PostgreSQL half of the suite would not run');
}

export const drivers: DriverName[] = TEST_DATABASE_URL === undefined ? ['pglite'] : ['pglite', 'postgres'];

export interface TestDatabase {
  /** The PostgreSQL URL of this fresh database (undefined for PGlite). */
  url: string | undefined;
  open(): Promise<Database>;
  drop(): Promise<void>;
}

/** A fresh, empty database on the driver: a new in-memory PGlite, or a new randomly named PostgreSQL database. */
export async function freshDatabase(driver: DriverName): Promise<TestDatabase> {
  if (driver === 'pglite') {
    return {
      url: undefined,
      open: () => createDatabase(testConfig()),
      drop: async () => {},
    };
  }
  const base = TEST_DATABASE_URL as string;
  const name = `task_api_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    open: () => createDatabase(testConfig({ databaseUrl: url.toString() })),
    async drop() {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

import { inject } from 'vitest';
import { createDatabase, describeUrl, type Database } from '../../src/db/client.js';
import { scratchDatabase } from './scratch.js';

/**
 * The servers every data test runs on: the embedded PostgreSQL (one server for the whole run,
 * started by global-setup.ts with the same launcher as `npm start`) always, and the external
 * PostgreSQL whenever TEST_DATABASE_URL is set. With REQUIRE_POSTGRES=1 (CI) a missing URL is an
 * error, not a skip. Test names carry the server: `[embedded]`, `[postgres]`.
 */
export type DriverName = 'embedded' | 'postgres';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

if (process.env.REQUIRE_POSTGRES === '1' && TEST_DATABASE_URL === undefined) {
  throw new Error('REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set: the PostgreSQL half of the suite would not run');
}

export const drivers: DriverName[] = TEST_DATABASE_URL === undefined ? ['embedded'] : ['embedded', 'postgres'];

/** The server of a driver: a URL to connect to as an administrator (create and drop databases). */
export function serverUrl(driver: DriverName): string {
  return driver === 'embedded' ? inject('embeddedUrl') : (TEST_DATABASE_URL as string);
}

export interface TestDatabase {
  /** The URL of this fresh database. */
  url: string;
  open(options?: { poolMax?: number; budgetMs?: number }): Promise<Database>;
  drop(): Promise<void>;
}

/** Opens the database at `url` the way the service does (prepared statements, pool of 10). */
export async function openTestDatabase(url: string, options: { poolMax?: number; prepare?: boolean; budgetMs?: number } = {}): Promise<Database> {
  return createDatabase({
    url,
    kind: 'external',
    where: describeUrl(url),
    prepare: options.prepare ?? true,
    poolMax: options.poolMax ?? 10,
    timeoutMs: 5000,
    ...(options.budgetMs === undefined ? {} : { budgetMs: options.budgetMs }),
    // A direct connection: live updates LISTEN on it, as on an unpooled database.
    listenUrl: url,
  });
}

/**
 * A fresh database with a random name on the driver's server: migrated (copied from the run's
 * template), or `{ empty: true }` for tests of the migrations themselves.
 */
export async function freshDatabase(driver: DriverName, options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const base = serverUrl(driver);
  const template = options.empty ? undefined : driver === 'embedded' ? inject('embeddedTemplate') : inject('externalTemplate');
  const scratch = await scratchDatabase(base, template ? { template } : {});
  return { url: scratch.url, open: (o = {}) => openTestDatabase(scratch.url, o), drop: scratch.drop };
}

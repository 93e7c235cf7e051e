import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { buildApp, type AppDependencies } from '../../src/app.js';
import { testConfig, type Config } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';
import { freshDatabase, openTestDatabase, type DriverName } from './databases.js';
import { signToken, type TokenOptions } from './tokens.js';

export { TEST_SECRET, signToken, type TokenOptions } from './tokens.js';

export interface TestApp {
  app: FastifyInstance;
  database: Database;
  /** The URL of this app's database. */
  databaseUrl: string;
  close(): Promise<void>;
}

/** The real app (same buildApp as production) on a fresh database of the given driver. */
export async function buildTestApp(
  driver: DriverName = 'embedded',
  overrides: Partial<Config> = {},
  deps: Omit<AppDependencies, 'database'> = {},
): Promise<TestApp> {
  const fresh = await freshDatabase(driver);
  const database = await fresh.open(overrides.queryBudgetMs === undefined ? {} : { budgetMs: overrides.queryBudgetMs });
  const config = testConfig({ rateLimitPerMinute: 0, databaseUrl: fresh.url, ...overrides });
  const app = await buildApp(config, { ...deps, database });
  await app.ready();
  return {
    app,
    database,
    databaseUrl: fresh.url,
    async close() {
      await app.close();
      await database.close();
      await fresh.drop();
    },
  };
}

/**
 * Another instance on the same database as `t`: its own app, pool, listener and event streams,
 * as a second server would have. Closing it leaves the database to `t`.
 */
export async function anotherInstance(t: TestApp, overrides: Partial<Config> = {}): Promise<TestApp> {
  const database = await openTestDatabase(t.databaseUrl);
  const app = await buildApp(testConfig({ rateLimitPerMinute: 0, databaseUrl: t.databaseUrl, ...overrides }), { database });
  await app.ready();
  return {
    app,
    database,
    databaseUrl: t.databaseUrl,
    async close() {
      await app.close();
      await database.close();
    },
  };
}

/** Listens on 127.0.0.1 (a random port) and says where. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

export interface RunningApi {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** The real app on a fresh embedded database, listening on 127.0.0.1 (random port): for browser and Better Auth tests. */
export async function startApi(overrides: Partial<Config> = {}): Promise<RunningApi> {
  const t = await buildTestApp('embedded', overrides);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const address = t.app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}`, app: t.app, close: () => t.close() };
}

export async function authHeader(sub: string, options?: TokenOptions): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await signToken(sub, options)}` };
}

/** Asserts an error answer: exact status, code, and the `{error, code, detail}` shape with nothing else, `detail` repeating `error`. */
export function expectError(res: LightMyRequestResponse, status: number, code: string, message?: string | RegExp): void {
  expect({ status: res.statusCode, code: res.json().code }).toEqual({ status, code });
  const body = res.json() as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['code', 'detail', 'error']);
  expect(typeof body.error).toBe('string');
  expect(body.detail).toBe(body.error);
  if (typeof message === 'string') expect(body.error).toBe(message);
  else if (message) expect(body.error).toMatch(message);
}

let counter = 0;
/** A user id no other test uses. */
export function uniqueUser(prefix = 'u'): string {
  counter += 1;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}

export interface LogCapture {
  /** Give it to buildTestApp's deps (`logStream`), with a `logLevel` override that lets lines through. */
  stream: Writable;
  /** Every line logged so far, parsed. */
  lines(): Array<{ level: number; msg: string; [key: string]: unknown }>;
}

/** The app's log lines, in memory, for assertions on what it logs. */
export function logCapture(): LogCapture {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string }),
  };
}

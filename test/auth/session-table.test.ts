/**
 * AUTH_SESSION_SOURCE=database: session tokens read from Better Auth's own `session` table when
 * the API shares Better Auth's database (a common setup on Neon). A real Better Auth server
 * (without bearer()) writes its sessions through its Drizzle adapter into the API's database, with
 * the columns named as the Drizzle generator names them (snake) and as the Kysely migrator and
 * the Prisma generator do (camel); the API is told nothing but the source, and never calls Better
 * Auth (its BETTER_AUTH_URL points at nothing). Valid, expired, signed-out and forged tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionSignature } from '../../src/auth/session.js';
import { api } from '../helpers/api.js';
import { buildTestApp, expectError, type TestApp } from '../helpers/app.js';
import { drivers } from '../helpers/databases.js';
import { sleep } from '../helpers/process.js';
import type { ColumnStyle } from '../support/better-auth-tables.js';
import { startBetterAuth, type BetterAuthServer, type BetterAuthSession } from '../support/better-auth-server.js';

const PASSWORD = 'a long enough password';
const SECRET = 'shared-better-auth-secret-for-session-table-0123';
const cases = drivers.flatMap((driver) => (['snake', 'camel'] as ColumnStyle[]).map((style) => [driver, style] as const));

describe.each(cases)('session tokens from Better Auth\'s session table [%s, %s columns]', (driver, style) => {
  let t: TestApp;
  let ba: BetterAuthServer;
  let alice: BetterAuthSession;

  beforeAll(async () => {
    t = await buildTestApp(driver, { sessionSource: 'database', betterAuthSecret: SECRET, betterAuthUrl: 'http://127.0.0.1:9', sessionCacheTtlMs: 0 });
    ba = await startBetterAuth({ bearer: false, secret: SECRET, database: { url: t.databaseUrl, columns: style } });
    alice = await ba.signUp(`alice-${style}@example.com`, PASSWORD, 'Alice');
  }, 30_000);
  afterAll(async () => {
    await ba?.close();
    await t?.close();
  });

  const list = async (token: string, user: string) => (await api(t.app, user, { token })).list();

  it('the table is where Better Auth put it, in that naming', async () => {
    const columns = (await t.database.sql`select column_name from information_schema.columns where table_name = 'session' order by column_name`).map((r) => r.column_name);
    expect(columns).toEqual(expect.arrayContaining(style === 'snake' ? ['expires_at', 'token', 'user_id'] : ['expiresAt', 'token', 'userId']));
  });

  it('the bare token and the signed form work, with no call to Better Auth', async () => {
    for (const token of [alice.bareToken, alice.sessionToken]) {
      const created = await (await api(t.app, alice.userId, { token })).create({ title: 'via the session table' });
      expect(created.statusCode, created.body).toBe(201);
      expect(created.json().data.user_id).toBe(alice.userId);
      expect((await list(token, alice.userId)).statusCode).toBe(200);
    }
  });

  it('forged: an unknown token, a forged signature, a signature made with another secret: 401 INVALID_TOKEN', async () => {
    for (const token of [
      'Q'.repeat(32),
      `${alice.bareToken}.${Buffer.alloc(32, 9).toString('base64')}`,
      `${alice.bareToken}.${sessionSignature(alice.bareToken, 'another-secret-another-secret-0123456789')}`,
    ]) {
      expectError(await list(token, alice.userId), 401, 'INVALID_TOKEN', 'The session is invalid, expired or signed out');
    }
  });

  it('signed out: 401 INVALID_TOKEN', async () => {
    const bob = await ba.signUp(`bob-${style}@example.com`, PASSWORD, 'Bob');
    expect((await list(bob.bareToken, bob.userId)).statusCode).toBe(200);
    await ba.signOut(bob.sessionToken);
    expectError(await list(bob.bareToken, bob.userId), 401, 'INVALID_TOKEN', 'The session is invalid, expired or signed out');
  });

  it('expired (session.expiresIn 2 s): 401 INVALID_TOKEN once past expires_at', async () => {
    const short = await startBetterAuth({ bearer: false, secret: SECRET, sessionExpiresIn: 2, database: { url: t.databaseUrl, columns: style } });
    try {
      const carol = await short.signUp(`carol-${style}@example.com`, PASSWORD, 'Carol');
      expect((await list(carol.bareToken, carol.userId)).statusCode).toBe(200);
      await sleep(2300);
      expectError(await list(carol.bareToken, carol.userId), 401, 'INVALID_TOKEN', 'The session is invalid, expired or signed out');
    } finally {
      await short.close();
    }
  }, 15_000);
});

describe('AUTH_SESSION_SOURCE=database without Better Auth\'s table', () => {
  it('503 SERVICE_UNAVAILABLE naming AUTH_SESSION_TABLE', async () => {
    const t = await buildTestApp('embedded', { sessionSource: 'database', sessionTable: 'no_such_table' });
    try {
      const res = await (await api(t.app, 'x', { token: 'Z'.repeat(32) })).list();
      expectError(res, 503, 'SERVICE_UNAVAILABLE', /check AUTH_SESSION_TABLE$/);
    } finally {
      await t.close();
    }
  });
});

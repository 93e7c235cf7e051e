/**
 * What users wrote never reaches a log line, on the error paths of a real server process
 * (LOG_LEVEL=debug, the most it writes): a statement cancelled behind a lock another connection
 * holds (503), a trigger that raises an exception (and a notice, a warning and a LOG line) quoting
 * the title (500), a check constraint whose DETAIL quotes the row (500). Every line of the
 * process's output is searched, the embedded PostgreSQL's forwarded lines included. And many
 * failing writes make a bounded number of error lines.
 */
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { driverArgs } from '../../src/db/embedded.js';
import { databaseUrl, scratchDatabase, type ScratchDatabase } from '../helpers/scratch.js';
import { scratchDir, type Server } from '../helpers/process.js';
import { faultToken, send, serverEnv, startServer } from '../faults/support.js';
import { routes } from '../helpers/api.js';
import { drivers, freshDatabase, TEST_DATABASE_URL } from '../helpers/databases.js';
import { loggableError } from '../../src/lib/request-log.js';
import { sql } from 'drizzle-orm';

const SECRET_LOCK = 'private: account 1234-5678 (lock)';
const SECRET_TRIGGER = 'Call my lawyer 9f3c2 (trigger)';
const SECRET_CHECK = 'diary entry 7d1e0 (check)';
const SECRET_TAG = 'carol-secret-b41d';
const FAILING_WRITES = 150;

type Where = 'embedded' | 'postgres';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
const places: Where[] = TEST_DATABASE_URL === undefined ? ['embedded'] : ['embedded', 'postgres'];

describe.each(places)('no user data in the logs of failing queries [%s]', (where) => {
  let server: Server | undefined;
  let scratch: ScratchDatabase | undefined;
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await scratch?.drop();
  });

  it('a lock timeout (503), a raising trigger and a check constraint (500): no secret in any line; error lines bounded', async () => {
    const dataDir = join(scratchDir('task-api-leaks-'), 'data');
    let env: Record<string, string>;
    let adminUrl: string;
    if (where === 'embedded') {
      env = serverEnv({ DATA_DIR: dataDir, LOG_LEVEL: 'debug', DATABASE_TIMEOUT_MS: '300', NODE_ENV: 'development' });
      adminUrl = `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(join(dataDir, 'run'))}`;
    } else {
      scratch = await scratchDatabase(TEST_DATABASE_URL as string);
      adminUrl = databaseUrl(TEST_DATABASE_URL as string, scratch.name);
      env = serverEnv({ DATA_DIR: dataDir, DATABASE_URL: adminUrl, LOG_LEVEL: 'debug', DATABASE_TIMEOUT_MS: '300', NODE_ENV: 'development' });
    }
    server = await startServer(scratchDir('task-api-leaks-cwd-'), env);
    const s = server;
    const user = 'carol';
    const token = await faultToken(user);
    const json = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const base = `${routes.tasks(user)}`;
    const ok = await send(s.url, 'POST', base, { headers: json, body: JSON.stringify({ title: 'fine', description: 'fine' }) });
    expect(ok.status).toBe(201);
    const id = (JSON.parse(ok.body ?? '{}') as { data: { id: number } }).data.id;

    const admin = postgres(...driverArgs(adminUrl, { max: 2, onnotice: () => {} }));
    const statuses: Record<string, number[]> = { lock: [], trigger: [], check: [] };
    try {
      // 1. A lock held by another connection: each write is cancelled after DATABASE_TIMEOUT_MS (503).
      const release = deferred();
      const locked = deferred();
      const holder = admin.begin(async (tx) => {
        await tx`lock table tasks in access exclusive mode`;
        locked.resolve();
        await release.promise;
      });
      await locked.promise;
      for (let batch = 0; batch < 3; batch++) {
        const answers = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            i % 2 === 0
              ? send(s.url, 'POST', base, { headers: json, body: JSON.stringify({ title: `${SECRET_LOCK} ${batch}.${i}`, description: SECRET_LOCK }) })
              : send(s.url, 'PUT', `${base}/${id}`, { headers: json, body: JSON.stringify({ title: SECRET_LOCK, description: SECRET_LOCK }) }),
          ),
        );
        statuses.lock?.push(...answers.map((a) => a.status ?? 0));
      }
      release.resolve();
      await holder;

      // 2. A trigger that raises (and notices, warns and LOGs) quoting the title and description.
      await admin.unsafe(`
        create function leak_values() returns trigger language plpgsql as $$
        begin
          raise notice 'notice: % %', new.title, new.description;
          raise warning 'warning: % %', new.title, new.description;
          raise log 'log: % %', new.title, new.description;
          raise exception 'refused: %', new.title using detail = 'detail: ' || new.description, hint = 'hint: ' || new.title;
        end $$`);
      await admin.unsafe('create trigger leak_values before insert on tasks for each row when (new.title like \'leak:%\') execute function leak_values()');
      for (let batch = 0; batch < FAILING_WRITES / 10; batch++) {
        const answers = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            send(s.url, 'POST', base, { headers: json, body: JSON.stringify({ title: `leak: ${SECRET_TRIGGER} ${batch}.${i}`, description: `${SECRET_TAG} ${SECRET_TRIGGER}` }) }),
          ),
        );
        statuses.trigger?.push(...answers.map((a) => a.status ?? 0));
      }

      // 3. A check constraint: its DETAIL ("Failing row contains (...)") quotes the whole row.
      await admin.unsafe("alter table tasks add constraint no_diaries check (description is null or description not like '%diary%')");
      for (let i = 0; i < 10; i++) {
        const answer = await send(s.url, 'PUT', `${base}/${id}`, { headers: json, body: JSON.stringify({ title: SECRET_CHECK, description: SECRET_CHECK }) });
        statuses.check?.push(answer.status ?? 0);
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
    expect(new Set(statuses.lock)).toEqual(new Set([503]));
    expect(new Set(statuses.trigger)).toEqual(new Set([500]));
    expect(new Set(statuses.check)).toEqual(new Set([500]));

    expect((await s.stop('SIGTERM')).code).toBe(0);
    const output = s.output();
    const found = [SECRET_LOCK, SECRET_TRIGGER, SECRET_CHECK, SECRET_TAG, '1234-5678', 'lawyer', 'diary', 'Failing row', 'refused:', 'notice:', 'warning:', 'log:', 'detail:', 'hint:']
      .filter((secret) => output.includes(secret));
    if (found.length) console.log(output.split('\n').filter((l) => found.some((f) => l.includes(f))).slice(0, 8).join('\n'));
    expect(found, 'found in the output').toEqual([]);

    const lines = s.logLines();
    const failures = Object.values(statuses).flat().length;
    const errorLines = lines.filter((l) => (l.level ?? 0) >= 50);
    // A burst of 5 per kind of failure (503 lock, 500 trigger, 500 check) per 10 s window.
    expect(errorLines.length, `error lines for ${failures} failures`).toBeLessThanOrEqual(30);
    // Each kind says what it was (SQLSTATE, table, constraint), never what was written.
    expect(errorLines.map((l) => (l.err as { code?: string } | undefined)?.code)).toEqual(expect.arrayContaining(['57014', 'P0001', '23514']));
    // The rest is one access line per request, of bounded size.
    expect(output.length / failures, 'bytes of log per failing request').toBeLessThan(1200);
  }, 90_000);
});

describe.each(drivers)('what of a database error is logged [%s]', (driver) => {
  it('a Drizzle query error (message and stack: "Failed query: ... params: ..."): its kind and SQLSTATE, never the query or its parameters', async () => {
    const fresh = await freshDatabase(driver);
    const database = await fresh.open();
    try {
      const secret = 'private: account 1234-5678 (drizzle)';
      const failure = await database.db.execute(sql`select ${secret}::int as n`).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(Error);
      expect(String((failure as Error).message)).toContain(secret); // what the driver stack says
      const logged = JSON.stringify(loggableError(failure));
      expect(logged).not.toContain(secret);
      expect(logged).not.toContain('1234');
      expect(logged).not.toContain('select');
      expect(JSON.parse(logged)).toMatchObject({ type: 'Error', cause: { code: '22P02', severity: 'ERROR' } });
    } finally {
      await database.close();
      await fresh.drop();
    }
  });
});

/**
 * postgres.js with a connection closed under a transaction (patches/postgres-3.4.9-closed-connection.patch,
 * in the vendored tarball): the published 3.4.9 wrote the transaction's next statement to the
 * closed socket from a setImmediate (a TypeError outside any promise: the process exited; the outage
 * test saw the API die when its database restarted under load), and handed the closed session's
 * error to the next session's first query. Here, on each database: the transaction fails with
 * CONNECTION_CLOSED, the process lives, and every connection of the pool answers again at once; the
 * registry's driver, run the same way, crashes (so this test can fail).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverArgs } from '../../src/db/embedded.js';
import { drivers, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { cleanEnv, ROOT, run, runOk, scratchDir } from '../helpers/process.js';

const FIXTURE = join(ROOT, 'test/db/fixtures/closed-under-transaction.mjs');
const PATCHED = join(ROOT, 'node_modules/postgres/src/index.js');
/** The fixture's arguments for a database: its URL, and a socket's host and port as postgres.js takes them. */
const target = (url: string) => {
  const [plain, options] = driverArgs(url, {});
  return [plain, JSON.stringify(options)];
};
const ROUND = { inFlight: 'CONNECTION_CLOSED', tx: 'CONNECTION_CLOSED', after: ['ok', 'ok', 'ok', 'ok'], fast: true };

describe.each(drivers)('postgres.js: a connection closed under a transaction (%s)', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase(driver, { empty: true });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('the transaction fails with CONNECTION_CLOSED, the process lives, and the pool answers again at once', async () => {
    const r = await run(process.execPath, [FIXTURE, PATCHED, ...target(db.url)], { env: cleanEnv(), timeoutMs: 60_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual(Array.from({ length: 6 }, () => ROUND));
  }, 70_000);
});

describe("postgres.js: the registry's 3.4.9 under the same fixture", () => {
  it('crashes (a TypeError from nextWrite on a closed socket): what the patch is for', async () => {
    const dir = scratchDir('task-api-unpatched-');
    await runOk('npm', ['pack', 'postgres@3.4.9', '--prefer-offline', '--silent'], { cwd: dir, env: cleanEnv(), timeoutMs: 60_000 });
    await runOk('tar', ['-xzf', 'postgres-3.4.9.tgz'], { cwd: dir });
    const db = await freshDatabase(drivers[0] ?? 'embedded', { empty: true });
    try {
      const r = await run(process.execPath, [FIXTURE, join(dir, 'package/src/index.js'), ...target(db.url)], { env: cleanEnv(), timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("TypeError: Cannot read properties of null (reading 'write')");
      expect(r.stderr).toContain('at Immediate.nextWrite');
    } finally {
      await db.drop();
    }
  }, 90_000);
});

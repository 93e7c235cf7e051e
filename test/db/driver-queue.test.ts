/**
 * postgres.js's connection queue, patched (patches/postgres-3.4.9-queue.patch, in the vendored
 * vendor/postgres-3.4.9-patched.tgz that package.json installs): the published one grows by a slot
 * per query under steady load and scans all of them per query. Here: the installed driver is the
 * patched one; the tarball is exactly the registry's 3.4.9 with the patch, made by
 * scripts/vendor-postgres.mjs, which refuses a patch that does not apply; the queue still behaves as
 * a queue and its array stays bounded; and a server on an unpatched driver says so at start.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { drivers, freshDatabase } from '../helpers/databases.js';
import { cleanEnv, ROOT, run, runOk, scratchDir, startServer } from '../helpers/process.js';

const MARKER = 'task-api patch: patches/postgres-3.4.9-queue.patch';
const SCRIPT = join(ROOT, 'scripts/vendor-postgres.mjs');

interface Queue<T> {
  readonly length: number;
  readonly capacity: number;
  push(x: T): T;
  shift(): T | undefined;
  remove(x: T): T | null;
}

async function loadQueue(dir: string): Promise<<T>(initial?: T[]) => Queue<T>> {
  return ((await import(pathToFileURL(join(ROOT, 'node_modules/postgres', dir, 'queue.js')).href)) as { default: <T>(initial?: T[]) => Queue<T> }).default;
}

describe("postgres.js's connection queue (a vendored, patched tarball)", () => {
  it('package.json installs the vendored tarball, and the files Node loads (ESM, CommonJS, workers) are patched', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.dependencies.postgres).toBe('file:vendor/postgres-3.4.9-patched.tgz');
    expect(Object.keys(pkg.scripts).filter((s) => /install/.test(s))).toEqual([]);
    for (const dir of ['src', 'cjs/src', 'cf/src']) {
      expect(readFileSync(join(ROOT, 'node_modules/postgres', dir, 'queue.js'), 'utf8')).toContain(MARKER);
    }
  });

  it("the tarball is the registry's postgres 3.4.9 with the patch; a patch that does not apply writes nothing and says so", async () => {
    const check = await run(process.execPath, [SCRIPT, '--check'], { env: cleanEnv(), timeoutMs: 60_000 });
    expect({ code: check.code, stdout: check.stdout, stderr: check.stderr }).toEqual({
      code: 0,
      stdout: "vendor/postgres-3.4.9-patched.tgz: the registry's postgres@3.4.9 with patches/postgres-3.4.9-closed-connection.patch, patches/postgres-3.4.9-queue.patch\n",
      stderr: '',
    });

    const dir = scratchDir('task-api-vendor-');
    const stale = join(dir, 'stale.patch');
    // What a patch written for another version looks like: a context line that is not there.
    writeFileSync(stale, readFileSync(join(ROOT, 'patches/postgres-3.4.9-queue.patch'), 'utf8').replace(' function Queue(initial = []) {', ' function Queue(initial = [], more) {'));
    const out = join(dir, 'out.tgz');
    // Its temp folder in a folder of the test's own (npm keeps a compile cache there too): a refusal
    // leaves no folder of the script's behind.
    const temp = join(dir, 'tmp');
    mkdirSync(temp);
    const bad = await run(process.execPath, [SCRIPT, '--patch', stale, '--out', out], { env: cleanEnv({ TMPDIR: temp }), timeoutMs: 60_000 });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^vendor-postgres: the patch .*stale\.patch does not apply to postgres@3\.4\.9; nothing written\. patch failed:\n/);
    expect(bad.stderr).toContain('FAILED');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(temp).filter((f) => f.startsWith('vendor-postgres-'))).toEqual([]);
  }, 90_000);

  it('keeps order, removes what is there (and nothing else), and holds a bounded array under steady use', async () => {
    const Queue = await loadQueue('src');
    const q = Queue<string>(['a']);
    q.push('b');
    q.push('c');
    expect(q.shift()).toBe('a');
    expect(q.remove('a')).toBeNull(); // already shifted out
    expect(q.remove('c')).toBe('c');
    expect([q.length, q.shift(), q.length]).toEqual([1, 'b', 0]);

    // What the idle-connection queue of a busy pool does: never empty, a shift and a push per query.
    const idle = Queue<object>();
    const conns = Array.from({ length: 10 }, () => ({}));
    for (const c of conns) idle.push(c);
    for (let i = 0; i < 100_000; i++) {
      const c = idle.shift() as object;
      expect(idle.remove(c)).toBeNull(); // move(c, busy) looks for it where it was
      idle.push(c);
    }
    expect(idle.length).toBe(10);
    expect(idle.capacity).toBeLessThan(200); // the published queue: 100,010
  });
});

describe.each(drivers)('a server on an unpatched driver [%s]', (driver) => {
  it('warns at start, naming the fix, and serves', async () => {
    // A copy of the build whose node_modules has the registry's postgres 3.4.9, everything else linked.
    const dir = scratchDir('task-api-unpatched-');
    cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'drizzle'), join(dir, 'drizzle'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), readFileSync(join(ROOT, 'package.json')));
    mkdirSync(join(dir, 'node_modules'));
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      if (name !== 'postgres' && !name.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
    }
    await runOk('npm', ['pack', 'postgres@3.4.9', '--prefer-offline', '--silent'], { cwd: dir, env: cleanEnv(), timeoutMs: 60_000 });
    await runOk('tar', ['-xzf', 'postgres-3.4.9.tgz'], { cwd: dir });
    cpSync(join(dir, 'package'), join(dir, 'node_modules/postgres'), { recursive: true });

    const db = await freshDatabase(driver);
    const server = await startServer(dir, cleanEnv({ DATABASE_URL: db.url, BETTER_AUTH_SECRET: 'unpatched-driver-secret-0123456789abcdef' }), 30_000, {
      script: join(dir, 'dist/src/server.js'),
    }).catch(async (err: unknown) => {
      await db.drop();
      throw err;
    });
    try {
      expect(server.logLines().filter((l) => l.level === 40).map((l) => l.msg)).toContain(
        "postgres.js is not the patched one (node_modules/postgres is not vendor/postgres-3.4.9-patched.tgz, which package.json names): the server slows down under steady load and can crash when the database restarts; run npm ci",
      );
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    } finally {
      await server.stop('SIGTERM');
      await db.drop();
    }
  }, 90_000);
});

/**
 * The production recipe, as a container build or a buildpack runs it, on a copy of this tree (its
 * files as they are now, and the dist/ the suite built) in a scratch folder:
 *
 *   npm install                              leaves package.json and package-lock.json as they were
 *   npm prune --omit=dev; npm start          TypeScript gone, dist/ still up to date: serves
 *   npm ci --omit=dev --ignore-scripts;      no install script, no devDependency, the embedded
 *   npm run start:prod                         database by default: serves, SIGTERM exits 0 (its
 *                                              command, node dist/src/server.js, run as a
 *                                              container runs it: npm does not pass SIGTERM on)
 *   a source edited; NODE_ENV=production     one line saying what to run, no stack trace
 *   npm start
 *
 * The full install is this project's node_modules hard-linked (npm only unlinks what it removes,
 * and the one file it rewrites in place, node_modules/.package-lock.json, is a copy), or, across
 * file systems, `npm ci`. Packages come from npm's cache when it has them.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { cleanEnv, freePort, ROOT, run, runOk, scratchDir, sleep, spawnProcess, type Proc } from '../helpers/process.js';

const SECRET = 'production-recipe-secret-0123456789abcdef';
const NPM_QUIET = ['--no-audit', '--no-fund', '--prefer-offline'];
/** The external PostgreSQL when the suite has one, else a database on the embedded test server. */
const DRIVER = drivers[drivers.length - 1] ?? 'embedded';

/** The tree as git sees it now (tracked and new files, edits included), what the build hashes, and dist/. */
function copyTree(): string {
  const dir = join(scratchDir('task-api-production-'), 'app');
  mkdirSync(dir);
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0');
  for (const file of files) {
    if (file === '' || !existsSync(join(ROOT, file))) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  // Everything the build hash reads, ignored files included (bench results, say), and the build.
  for (const d of ['src', 'bench', 'test/helpers', 'dist']) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
  return dir;
}

const npm = (cwd: string, args: string[], timeoutMs = 120_000) => runOk('npm', args, { cwd, env: cleanEnv(), timeoutMs });

/** Starts `command` in its own process group and waits for the server's "task API ready". */
async function start(cwd: string, command: string[], env: Record<string, string>): Promise<Proc & { url: string }> {
  const port = await freePort();
  const proc = spawnProcess({ command, cwd, env: cleanEnv({ ...env, PORT: String(port) }), detached: true });
  const started = Date.now();
  while (!proc.stdout().includes('task API ready')) {
    if (proc.hasExited) throw new Error(`${command.join(' ')} exited ${JSON.stringify(await proc.exited)} before it was ready:\n${proc.output()}`);
    if (Date.now() - started > 60_000) {
      await proc.stop('SIGKILL');
      throw new Error(`${command.join(' ')}: not ready in 60 s:\n${proc.output()}`);
    }
    await sleep(50);
  }
  return Object.assign(proc, { url: `http://127.0.0.1:${port}` });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function ready(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}/ready`);
  return { status: res.status, body: await res.json() };
}

describe('the production recipe on a copy of this tree', () => {
  let app = '';
  let db: TestDatabase | undefined;
  let lock = '';
  let manifest = '';

  beforeAll(async () => {
    const fresh = await run(process.execPath, [join(ROOT, 'scripts/build-if-stale.mjs'), '--check'], { cwd: ROOT, env: cleanEnv() });
    expect(fresh.code, `${fresh.stderr}run npm run build first (npm test does): the copy must start from a dist/ that is up to date`).toBe(0);
    app = copyTree();
    lock = readFileSync(join(app, 'package-lock.json'), 'utf8');
    manifest = readFileSync(join(app, 'package.json'), 'utf8');
    db = await freshDatabase(DRIVER);
  }, 60_000);
  afterAll(async () => {
    await db?.drop();
    if (app !== '') rmSync(dirname(app), { recursive: true, force: true });
  });

  it('npm install changes nothing; after npm prune --omit=dev, npm start serves the built dist/ (no TypeScript)', async () => {
    const linked = await run('cp', ['-al', join(ROOT, 'node_modules'), join(app, 'node_modules')]);
    if (linked.code === 0) {
      rmSync(join(app, 'node_modules/.package-lock.json'), { force: true });
      copyFileSync(join(ROOT, 'node_modules/.package-lock.json'), join(app, 'node_modules/.package-lock.json'));
    } else {
      rmSync(join(app, 'node_modules'), { recursive: true, force: true });
      await npm(app, ['ci', '--ignore-scripts', ...NPM_QUIET]);
    }
    await npm(app, ['install', '--ignore-scripts', ...NPM_QUIET]);
    expect(readFileSync(join(app, 'package-lock.json'), 'utf8')).toBe(lock);
    expect(readFileSync(join(app, 'package.json'), 'utf8')).toBe(manifest);

    await npm(app, ['prune', '--omit=dev', '--ignore-scripts', ...NPM_QUIET]);
    expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false);
    expect(readFileSync(join(app, 'package-lock.json'), 'utf8')).toBe(lock);

    const server = await start(app, ['npm', 'start'], { NODE_ENV: 'production', BETTER_AUTH_SECRET: SECRET, DATABASE_URL: (db as TestDatabase).url });
    const pid = server.logLines()[0]?.pid as number;
    try {
      expect(server.stderr()).not.toContain('compiling');
      expect(await ready(server.url)).toEqual({ status: 200, body: { status: 'ready' } });
    } finally {
      // As Ctrl-C in a terminal does: the signal goes to the whole group, npm's and the server's.
      await server.stop('SIGTERM');
    }
    expect(server.logLines().find((l) => l.signal === 'SIGTERM')?.msg).toBe('shutting down: finishing in-flight requests');
    for (let i = 0; i < 50 && alive(pid); i++) await sleep(100); // reaped by init: npm exited first
    expect(alive(pid)).toBe(false);
  }, 180_000);

  it('after npm ci --omit=dev --ignore-scripts, npm run start:prod serves on the embedded database; SIGTERM exits 0', async () => {
    const scripts = (JSON.parse(manifest) as { scripts: Record<string, string> }).scripts;
    expect(scripts['start:prod']).toBe('node dist/src/server.js');
    await npm(app, ['ci', '--omit=dev', '--ignore-scripts', ...NPM_QUIET]);
    expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/fastify'))).toBe(true);
    expect(readFileSync(join(app, 'package-lock.json'), 'utf8')).toBe(lock);
    // The driver installed is the vendored one, its queue patched, though no script ran.
    expect(readFileSync(join(app, 'node_modules/postgres/src/queue.js'), 'utf8')).toContain('task-api patch: patches/postgres-3.4.9-queue.patch');

    const server = await start(app, ['node', 'dist/src/server.js'], { NODE_ENV: 'production', BETTER_AUTH_SECRET: SECRET, DATA_DIR: join(dirname(app), 'data') });
    let exit;
    try {
      expect(server.logLines().filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
        expect.stringMatching(/^NODE_ENV=production on the EMBEDDED database in /),
        expect.stringMatching(/^Web Push is off: VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are not set/),
      ]);
      expect(await ready(server.url)).toEqual({ status: 200, body: { status: 'ready' } });
    } finally {
      exit = await server.stop('SIGTERM');
    }
    expect(exit).toEqual({ code: 0, signal: null });
  }, 180_000);

  it('NODE_ENV=production npm start on a stale dist/ without TypeScript: one line saying what to run', async () => {
    writeFileSync(join(app, 'src/server.ts'), `${readFileSync(join(app, 'src/server.ts'), 'utf8')}\n// edited\n`);
    // Its own process group: were a server started after all, stop() ends it with npm.
    const proc = spawnProcess({
      command: ['npm', 'start', '--silent'],
      cwd: app,
      env: cleanEnv({ NODE_ENV: 'production', BETTER_AUTH_SECRET: SECRET, PORT: String(await freePort()) }),
      detached: true,
    });
    const { code } = await Promise.race([proc.exited, sleep(30_000).then(() => proc.stop('SIGKILL'))]);
    expect({ code, stdout: proc.stdout(), stderr: proc.stderr() }).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'cannot compile dist/ (sources changed since the last build): TypeScript is not installed (a production install, --omit=dev); build where it is (npm ci && npm run build), then npm run start:prod\n',
    });
  }, 60_000);
});

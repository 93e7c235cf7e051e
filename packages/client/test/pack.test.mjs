// `npm pack`, install the tarball into a scratch project (with openapi-fetch from the registry, as a
// user would get it), type-check a usage file under strict settings, and import the package at run time.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const scratch = mkdtempSync(join(tmpdir(), 'task-client-pack-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const USAGE = `
import {
  ApiError, Outbox, cachedToken, createTaskClient, isApiError, memoryStorage, optimistic,
  type Conflict, type FlushReport, type OptimisticTask, type QueuedCreate,
  type Change, type ErrorCode, type ListQuery, type Task, type TaskCreate, type TaskPage, type Unsubscribe,
} from '@task-api/client';
import type { paths } from '@task-api/client/schema';

const authClient = { token: async () => ({ data: { token: 'jwt' } as { token: string } | null }) };
const client = createTaskClient({
  baseUrl: 'http://127.0.0.1:8000',
  userId: 'user-1',
  token: cachedToken(async () => (await authClient.token()).data?.token),
  onUnauthorized: () => { /* location.assign('/sign-in') */ },
  onRetry: ({ delayMs }) => void delayMs,
});

export async function use(): Promise<void> {
  const input: TaskCreate = { title: 'Buy milk', priority: 'high', tags: ['errands'], due_at: '2026-12-24T17:00:00Z' };
  const task: Task = await client.tasks.create(input);
  const id: number = task.id;
  const version: number = task.version;
  const query: ListQuery = { q: 'milk', priority: ['high', 'medium'], tag: 'errands', sort: '-due_at', limit: 20 };
  const page: TaskPage = await client.tasks.list(query);
  const next: string | null = page.nextCursor;
  const polled: TaskPage | null = await client.tasks.list(query, { ifNoneMatch: page.etag });
  // @ts-expect-error with ifNoneMatch the answer is null while the list is unchanged
  const notNull: TaskPage = await client.tasks.list(query, { ifNoneMatch: page.etag });
  const errorCode: ErrorCode = 'PRECONDITION_FAILED';
  for await (const p of client.tasks.pages({ status: 'pending', limit: 50 })) void p.tasks.length;
  for await (const t of client.tasks.all()) void t.title;
  const result = await client.tasks.updateIfUnchanged(task, { title: 'Buy oat milk' });
  const shown: Task | null = result.ok ? result.task : result.current;
  await client.tasks.update(id, { completed: true }, { ifMatch: task });
  await client.tasks.toggle(id);
  await client.tasks.delete(id, { ifMatch: version });
  const replica = client.replica();
  await replica.sync();
  const copy: Map<number, Task> = replica.tasks;
  const stopLive: Unsubscribe = replica.live({ onStateChange: (s) => void s });
  const unsubscribe: Unsubscribe = client.events.subscribe({
    onChange: (change: Change) => { if (change.type === 'delete') void change.id; else void change.task.title; },
  });
  const outbox = new Outbox(client, { storage: memoryStorage(), replica });
  outbox.on('conflict', (c: Conflict) => void outbox.resolve(c, c.theirs ? 'theirs' : 'mine'));
  outbox.on('rejected', (r) => void r.error.detail);
  const queued: QueuedCreate = await outbox.create({ title: 'offline', priority: 'high' });
  await outbox.update(queued.uid, { description: 'by uid' });
  await outbox.update(id, { title: 'based on a version' }, version);
  await outbox.complete(id, { completed: true, occurrence: '2026-12-24T17:00:00Z' });
  await outbox.move(id, { list_id: 7, after_id: null });
  await outbox.delete(queued.uid);
  const optimisticView: OptimisticTask[] = optimistic(replica.tasks.values(), await outbox.pending());
  const report: FlushReport = await outbox.flush();
  const stopOutbox: () => void = outbox.start({ baseMs: 500 });
  // @ts-expect-error a conflict is resolved 'mine' or 'theirs'
  await outbox.resolve('conflict-id', 'both');
  const { data } = await client.raw.GET('/api/{user_id}/tasks/{id}', { params: { path: { user_id: 'user-1', id } } });
  void data?.data.title;
  type Generated = keyof paths;
  const health: Generated = '/health';
  try { await client.tasks.get(1); } catch (e) {
    if (isApiError(e, 'NOT_FOUND')) { const s: number = e.status; const d: string = e.detail; void s; void d; }
    if (e instanceof ApiError) { const r: number | null = e.retryAfter; const c: string = e.code; void r; void c; }
  }
  // @ts-expect-error priority is one of none, low, medium, high
  await client.tasks.create({ title: 'x', priority: 'urgent' });
  // @ts-expect-error title is required
  await client.tasks.create({ description: 'no title' });
  // @ts-expect-error sort takes the documented keys only
  await client.tasks.list({ sort: 'colour' });
  void [next, polled, notNull, errorCode, shown, copy, stopLive, unsubscribe, health, optimisticView, report.applied, stopOutbox];
}
`;

// The snippet of docs/FRONTEND.md ("The typed client"), as it is there; its ./auth-client is step 1's
// createAuthClient({ plugins: [jwtClient()] }), declared here with the one method it uses.
const frontendGuide = readFileSync(new URL('../../../docs/FRONTEND.md', import.meta.url), 'utf8');
const guideSection = frontendGuide.slice(frontendGuide.indexOf('\n## The typed client'));
const GUIDE_SNIPPET = guideSection.slice(guideSection.indexOf('```ts\n') + 6, guideSection.indexOf('\n```\n'));
const AUTH_CLIENT = `export declare const authClient: { token(): Promise<{ data: { token: string } | null }> };\n`;

it('packs, installs into a scratch project, type-checks a usage file and imports', () => {
  const out = npm(['pack', '--pack-destination', scratch, '--json'], pkgDir);
  const [{ filename, files }] = JSON.parse(out.slice(out.indexOf('[')));
  const paths = files.map((f) => f.path);
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/schema.d.ts', 'package.json']) assert.ok(paths.includes(f), `${f} in the tarball`);
  assert.ok(!paths.some((p) => p.startsWith('test/') || p.startsWith('node_modules/')), 'no tests or node_modules in the tarball');

  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  npm(['install', '--no-audit', '--no-fund', '--ignore-scripts', join(scratch, filename)], scratch);
  const installed = JSON.parse(npm(['ls', '--json', '--all'], scratch));
  const deps = installed.dependencies['@task-api/client'].dependencies ?? {};
  assert.deepEqual(Object.keys(deps), ['openapi-fetch'], 'openapi-fetch is the only runtime dependency');

  writeFileSync(join(scratch, 'usage.ts'), USAGE);
  writeFileSync(join(scratch, 'frontend-guide.ts'), GUIDE_SNIPPET);
  writeFileSync(join(scratch, 'auth-client.ts'), AUTH_CLIENT);
  writeFileSync(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: [],
        strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, verbatimModuleSyntax: true,
        skipLibCheck: false, noEmit: true,
      },
      files: ['usage.ts'],
    }),
  );
  try {
    execFileSync(process.execPath, [tsc, '-p', scratch], { cwd: scratch, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    assert.fail(`tsc on the usage file failed:\n${err.stdout}${err.stderr}`);
  }
  // The guide's snippet as a Next.js app compiles it: bundler resolution (./auth-client, no extension).
  writeFileSync(
    join(scratch, 'tsconfig.guide.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: [],
        strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, verbatimModuleSyntax: true,
        skipLibCheck: false, noEmit: true,
      },
      files: ['frontend-guide.ts', 'auth-client.ts'],
    }),
  );
  try {
    execFileSync(process.execPath, [tsc, '-p', join(scratch, 'tsconfig.guide.json')], { cwd: scratch, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    assert.fail(`tsc on the snippet of docs/FRONTEND.md failed:\n${err.stdout}${err.stderr}`);
  }

  const runtime = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', "const m = await import('@task-api/client'); console.log(Object.keys(m).sort().join(','))"],
    { cwd: scratch, encoding: 'utf8' },
  );
  for (const name of ['ApiError', 'Outbox', 'TaskClient', 'TaskReplica', 'cachedToken', 'createTaskClient', 'indexedDbStorage', 'isApiError', 'memoryStorage', 'newIdempotencyKey', 'optimistic']) {
    assert.ok(runtime.trim().split(',').includes(name), `${name} exported`);
  }
  assert.ok(readdirSync(join(scratch, 'node_modules/@task-api/client/dist')).includes('index.js'));
});

// From a checkout of the repository, after a build (`npm run build -w packages/client` at its root):
// --install-links copies the folder as `npm pack` would (not a symlink into the checkout) and installs
// openapi-fetch from the registry. The way docs/FRONTEND.md gives besides the tarball.
it('installs from the repository folder with npm install --install-links', () => {
  const app = join(scratch, 'from-folder');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'from-folder', private: true, type: 'module' }));
  npm(['install', '--no-audit', '--no-fund', '--install-links', pkgDir], app);
  const installed = join(app, 'node_modules/@task-api/client');
  assert.ok(!lstatSync(installed).isSymbolicLink(), 'a copy, not a link into the checkout');
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  assert.equal(manifest.version, JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version);
  assert.ok(!readdirSync(installed).includes('test') && !readdirSync(installed).includes('node_modules'), 'only the files of the package');
  const runtime = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', "const m = await import('@task-api/client'); console.log(typeof m.createTaskClient)"],
    { cwd: app, encoding: 'utf8' },
  );
  assert.equal(runtime.trim(), 'function');
});

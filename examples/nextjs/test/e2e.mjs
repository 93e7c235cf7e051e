#!/usr/bin/env node
/**
 * The example in a real browser: `next build`, `next start` on a free port, the real Task API
 * (dist/src/server.js of the repository, its embedded PostgreSQL) on another free port with
 * BETTER_AUTH_URL and CORS_ORIGINS set to the example's origin, real Better Auth (SQLite in a
 * temporary folder), and Debian's Chromium driven by playwright-core (never a downloaded browser).
 *
 *   npm run test:example            (in examples/nextjs)
 *
 * Environment: TASK_API_DIR (the API checkout, default the repository root), SKIP_BUILD=1 (reuse
 * .next), SKIP_API_BUILD=1 (reuse the API's dist/), CHROMIUM (default /usr/bin/chromium),
 * TEST_ARTIFACTS (screenshots and logs, default <repository>/test-artifacts/example-nextjs),
 * E2E_DEBUG=1 (print every API request and browser console line with a timestamp),
 * E2E_FEATURES=a,b (run only these feature suites of test/features/, and none of the core steps).
 *
 * Feature suites: every test/features/<name>.mjs exports `async function run(kit)`; they run in name
 * order after the core steps, in the same browser against the same API and app. Each makes its own
 * users (`kit.signUp`) so that it depends on no other suite; `kit` is built in main() below.
 *
 * Every step is run and reported, pass or fail, with its time; the exit code is 1 if any failed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

import { chromium } from 'playwright-core';

const EXAMPLE = fileURLToPath(new URL('..', import.meta.url));
const REPO = resolve(EXAMPLE, '../..');
const API_DIR = resolve(process.env.TASK_API_DIR ?? REPO);
const ARTIFACTS = resolve(process.env.TEST_ARTIFACTS ?? join(REPO, 'test-artifacts', 'example-nextjs'));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const LIVE_MS = 1000; // a second tab must see each change within this
const FEATURES_DIR = join(EXAMPLE, 'test', 'features');
const ONLY = (process.env.E2E_FEATURES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const FEATURES = (existsSync(FEATURES_DIR) ? readdirSync(FEATURES_DIR) : [])
  .filter((f) => f.endsWith('.mjs'))
  .sort()
  .filter((f) => !ONLY.length || ONLY.includes(f.replace(/\.mjs$/, '')));

/** A datetime-local value (the browser runs in UTC) `days` from now at `hh:mm`, and how the list shows it. */
function dueIn(days, hhmm) {
  const d = new Date(Date.now() + days * 86_400_000);
  const day = d.toISOString().slice(0, 10);
  return { input: `${day}T${hhmm}`, shown: `Due ${day} ${hhmm}` };
}
const MILK_DUE = dueIn(3, '17:00'); // within the next 7 days
const TAXES_DUE = dueIn(-30, '12:00'); // overdue

// ---------------------------------------------------------------- processes

const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function run(cmd, args, cwd, env = {}) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed:\n${r.stdout}\n${r.stderr}`);
  return Date.now() - started;
}

function start(name, cmd, args, cwd, env) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { name, child, log: '' };
  child.stdout.on('data', (d) => (entry.log += d));
  child.stderr.on('data', (d) => (entry.log += d));
  children.push(entry);
  return entry;
}

/** SIGTERM to the process (by its pid), SIGKILL after 10 s. */
async function stopOne({ child }) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  if ((await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])) === false) child.kill('SIGKILL');
}

async function stopAll() {
  for (const entry of children.slice().reverse()) await stopOne(entry);
}

async function waitHttp(url, entry, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (entry.child.exitCode !== null) throw new Error(`${entry.name} exited (${entry.child.exitCode}):\n${entry.log}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${entry.name} did not answer ${url} within ${ms} ms:\n${entry.log}`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------- steps and assertions

const results = [];
let shotNo = 0;
const pagesToShoot = [];

async function screenshot(page, name) {
  try {
    await page.screenshot({ path: join(ARTIFACTS, `${String(++shotNo).padStart(2, '0')}-${name}.png`), fullPage: true });
  } catch {
    // a closed page: nothing to keep
  }
}

/** The core steps: skipped, all of them, when E2E_FEATURES names the suites to run alone. */
async function coreStep(name, fn) {
  if (ONLY.length) return;
  await step(name, fn);
}

async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - started });
    console.log(`  ok    ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split('\n').slice(0, 6).join('\n        ');
    results.push({ name, ok: false, error: message, ms: Date.now() - started });
    console.log(`  FAIL  ${name}\n        ${message}`);
    for (const [label, page] of pagesToShoot) await screenshot(page, `FAIL-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}-${label}`);
  }
}

function assertEqual(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** Polls `read` until it equals `expected`; throws with the last value after `ms`. */
async function eventually(read, expected, what, ms = 5000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await read();
    if (isDeepStrictEqual(last, expected)) return Date.now();
    if (Date.now() > deadline) throw new Error(`${what}: expected ${JSON.stringify(expected)} within ${ms} ms, got ${JSON.stringify(last)}`);
    await sleep(25);
  }
}

const titles = (page) => page.locator('[data-testid=task-title]').allTextContents();
const text = async (page, testid) => {
  const l = page.locator(`[data-testid=${testid}]`);
  return (await l.count()) ? (await l.first().textContent())?.trim() : null;
};
const taskItem = (page, id) => page.locator(`li[data-testid=task][data-id="${id}"]`);
/** data-completed of a task's item, or null while the page does not show it. */
const completedOf = async (page, id) => {
  const item = taskItem(page, id);
  return (await item.count()) ? item.getAttribute('data-completed') : null;
};
const DEBUG = process.env.E2E_DEBUG === '1';
const mark = (what) => DEBUG && console.log(`        ${new Date().toISOString().slice(17, 23)} ${what}`);

/** Records every answer of the API seen by a page: method, path (with query), status. */
function recordApi(page, apiUrl) {
  const seen = [];
  if (DEBUG) page.on('request', (req) => req.url().startsWith(apiUrl) && mark(`-> ${req.method()} ${req.url().slice(apiUrl.length)}`));
  if (DEBUG) page.on('console', (msg) => mark(`console: ${msg.text()}`));
  page.on('response', (res) => {
    if (!res.url().startsWith(apiUrl)) return;
    const req = res.request();
    if (req.method() === 'OPTIONS') return;
    const u = new URL(res.url());
    seen.push({ method: req.method(), path: u.pathname, query: u.search, status: res.status(), at: Date.now() });
  });
  return seen;
}

/** Does `action`, waits for the API answer matching method and path, asserts its status. */
async function apiCall(page, apiUrl, method, pathRe, status, action) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(apiUrl) && r.request().method() === method && pathRe.test(new URL(r.url()).pathname), {
      timeout: 10_000,
    }),
    action(),
  ]);
  assertEqual(res.status(), status, `${method} ${new URL(res.url()).pathname} status`);
  const body = await res.json().catch(() => null);
  return { res, body, at: Date.now() };
}

/** After a change answered at `at` in one tab, the other tab must show it within LIVE_MS. */
async function seenWithin(page, at, read, expected, what) {
  const remaining = Math.max(0, at + LIVE_MS - Date.now());
  const seenAt = await eventually(read, expected, `${what} (second tab, within ${LIVE_MS} ms)`, remaining);
  return seenAt - at;
}

// ---------------------------------------------------------------- the run

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (browsers are never downloaded)`);
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'task-example-e2e-'));
  chmodSync(tmp, 0o711);

  if (process.env.SKIP_API_BUILD !== '1') {
    console.log(`building the API in ${API_DIR}`);
    run('npm', ['run', '--silent', 'build'], API_DIR);
  }
  if (process.env.SKIP_BUILD !== '1') {
    console.log('next build');
    const ms = run('npm', ['run', '--silent', 'build'], EXAMPLE);
    console.log(`  built in ${ms} ms`);
  }

  const apiPort = await freePort();
  const appPort = await freePort();
  const origin = `http://127.0.0.1:${appPort}`;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const apiData = join(tmp, 'api');
  mkdirSync(apiData, { mode: 0o711 });
  chmodSync(apiData, 0o711);

  const apiEnv = {
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    DATA_DIR: apiData,
    BETTER_AUTH_URL: origin,
    CORS_ORIGINS: origin,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'development',
    WEBHOOKS_ALLOW_PRIVATE: 'true', // webhooks to a receiver on loopback (test/features/settings.mjs)
  };
  const api = start('API', process.execPath, [join(API_DIR, 'dist/src/server.js')], API_DIR, apiEnv);
  const app = start('Next.js', process.execPath, [fileURLToPath(import.meta.resolve('next/dist/bin/next')), 'start', '-p', String(appPort), '-H', '127.0.0.1'], EXAMPLE, {
    NEXT_TELEMETRY_DISABLED: '1',
    BETTER_AUTH_URL: origin,
    BETTER_AUTH_SECRET: randomBytes(32).toString('base64url'),
    AUTH_SQLITE_PATH: join(tmp, 'auth.sqlite'),
    TASK_API_URL: apiUrl,
  });
  await Promise.all([waitHttp(`${apiUrl}/health`, api), waitHttp(`${origin}/sign-in`, app)]);
  console.log(`API ${apiUrl}, example ${origin}`);

  // Playwright starts Chromium with a fresh, temporary --user-data-dir of its own.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const contextOptions = { timezoneId: 'UTC', locale: 'en-US', viewport: { width: 1100, height: 900 } };
  const ctxA = await browser.newContext(contextOptions);
  const tab1 = await ctxA.newPage();
  const api1 = recordApi(tab1, apiUrl);
  pagesToShoot.push(['tab1', tab1]);
  let tab2;
  let api2 = [];
  const password = 'correct horse battery staple';
  const emailA = `alice-${Date.now()}@example.com`;
  const emailB = `bob-${Date.now()}@example.com`;
  let userA = null;
  const ids = {};

  try {
    await coreStep('signed out, /tasks sends to /sign-in', async () => {
      await tab1.goto(`${origin}/tasks`);
      assertEqual(new URL(tab1.url()).pathname, '/sign-in', 'path');
      assertEqual((await tab1.locator('h2').textContent())?.trim(), 'Sign in', 'heading');
    });

    await coreStep('sign up (email and password) lands on the task list', async () => {
      await tab1.getByRole('link', { name: 'Sign up' }).click();
      await tab1.waitForURL(`${origin}/sign-up`);
      await tab1.getByLabel('Name').fill('Alice');
      await tab1.getByLabel('Email').fill(emailA);
      await tab1.getByLabel('Password').fill(password);
      const list = apiCall(tab1, apiUrl, 'GET', /^\/api\/[^/]+\/tasks$/, 200, () => tab1.getByRole('button', { name: 'Sign up' }).click());
      const { res, body } = await list;
      await tab1.waitForURL(`${origin}/tasks`);
      assertEqual(await text(tab1, 'user-email'), emailA, 'signed-in email');
      await eventually(() => text(tab1, 'count'), 'No tasks yet', 'empty list text');
      assertEqual(body.data, [], 'first list data');
      assertEqual(body.message, 'Tasks retrieved successfully', 'first list message');
      // {user_id} of the API paths is Better Auth's session.user.id
      const session = await tab1.evaluate(async () => (await fetch('/api/auth/get-session')).json());
      userA = session.user;
      assertEqual(new URL(res.url()).pathname, `/api/${encodeURIComponent(userA.id)}/tasks`, 'list path');
      assertEqual(userA.email, emailA, 'session email');
      const token = await tab1.evaluate(async () => (await fetch('/api/auth/token')).json());
      const header = JSON.parse(Buffer.from(token.token.split('.')[0], 'base64url').toString());
      assertEqual(header.alg, 'EdDSA', 'JWT alg');
      await screenshot(tab1, 'signed-up-empty');
    });

    await coreStep('sign-up with a taken email shows Better Auth\'s message', async () => {
      const ctx = await browser.newContext(contextOptions);
      const p = await ctx.newPage();
      await p.goto(`${origin}/sign-up`);
      await p.getByLabel('Email').fill(emailA);
      await p.getByLabel('Password').fill(password);
      await p.getByRole('button', { name: 'Sign up' }).click();
      await eventually(() => text(p, 'auth-error'), 'User already exists. Use another email.', 'error text');
      assertEqual(new URL(p.url()).pathname, '/sign-up', 'stays on sign-up');
      await ctx.close();
    });

    await coreStep('a second tab of the same user opens the list', async () => {
      tab2 = await ctxA.newPage();
      api2 = recordApi(tab2, apiUrl);
      pagesToShoot.push(['tab2', tab2]);
      await tab2.goto(`${origin}/tasks`);
      await eventually(() => text(tab2, 'count'), 'No tasks yet', 'tab 2 empty list');
    });

    await coreStep('tab 1 in front, tab 2 in the background (as a real second tab)', async () => {
      await tab1.bringToFront();
      const states = [await tab1.evaluate(() => document.visibilityState), await tab2.evaluate(() => document.visibilityState)];
      console.log(`        (visibilityState: tab 1 ${states[0]}, tab 2 ${states[1]})`);
    });

    await coreStep('both tabs are connected to the event stream', async () => {
      await eventually(() => text(tab1, 'live'), 'Live updates: on', 'tab 1 live state');
      await eventually(() => text(tab2, 'live'), 'Live updates: on', 'tab 2 live state');
      const tickets = api1.filter((r) => r.method === 'POST' && r.path.endsWith('/tasks/events/ticket'));
      assertEqual(tickets.map((t) => t.status), [201], 'ticket statuses in tab 1');
    });

    const form = tab1.locator('[data-testid=create-form]');
    async function createTask({ title, description, priority, tags, due }) {
      mark(`create ${title}`);
      await form.getByLabel('Title').fill(title);
      mark('filled title');
      if (description) await form.getByLabel('Description').fill(description);
      if (priority) await form.getByLabel('Priority').selectOption(priority);
      if (tags) await form.getByLabel('Tags').fill(tags);
      if (due) await form.getByLabel('Due').fill(due);
      mark('filled all');
      const r = await apiCall(tab1, apiUrl, 'POST', /^\/api\/[^/]+\/tasks$/, 201, async () => {
        await form.getByRole('button', { name: 'Add task' }).click();
        mark('clicked');
      });
      assertEqual(r.body.message, 'Task created successfully', 'create message');
      assertEqual(r.body.data.title, title, 'created title');
      mark('created');
      return r;
    }

    let milkAt = 0;
    await coreStep('create "Buy milk" (description, priority High, tags, due date)', async () => {
      const r = await createTask({ title: 'Buy milk', description: 'Two litres', priority: 'high', tags: 'errands, home', due: MILK_DUE.input });
      ids.milk = r.body.data.id;
      milkAt = r.at;
      await eventually(() => titles(tab1), ['Buy milk'], 'tab 1 titles');
      assertEqual(await text(tab1, 'task-description'), 'Two litres', 'description');
      assertEqual(await text(tab1, 'count'), '1 task', 'count');
    });

    await coreStep('tab 2 sees the new task within 1 s', async () => {
      const ms = await seenWithin(tab2, milkAt, () => titles(tab2), ['Buy milk'], 'Buy milk');
      console.log(`        (after ${ms} ms)`);
    });

    await coreStep('the task shows priority, tags and due date', async () => {
      const item = taskItem(tab1, ids.milk);
      assertEqual((await item.locator('[data-testid=task-priority]').allTextContents()), ['High'], 'priority badge');
      assertEqual(await item.locator('[data-testid=task-tag]').allTextContents(), ['#errands', '#home'], 'tags');
      assertEqual(await item.locator('[data-testid=task-due]').allTextContents(), [MILK_DUE.shown], 'due');
      const created = api1.find((r) => r.method === 'POST' && r.path.endsWith('/tasks'));
      if (!created) throw new Error('no create seen');
    });

    await coreStep('create "Walk the dog" (Low, home) and "File taxes" (Medium, admin, due)', async () => {
      ids.dog = (await createTask({ title: 'Walk the dog', priority: 'low', tags: 'home' })).body.data.id;
      ids.taxes = (await createTask({ title: 'File taxes', priority: 'medium', tags: 'admin', due: TAXES_DUE.input })).body.data.id;
      await eventually(() => titles(tab1), ['File taxes', 'Walk the dog', 'Buy milk'], 'newest first');
      assertEqual(await text(tab1, 'count'), '3 tasks', 'count');
      await screenshot(tab1, 'three-tasks');
    });

    const filters = tab1.locator('[data-testid=filters]');
    const all3 = ['File taxes', 'Walk the dog', 'Buy milk'];
    await coreStep('search "milk"', async () => {
      try {
        await filters.getByLabel('Search').fill('milk');
        await eventually(() => titles(tab1), ['Buy milk'], 'search results');
        const last = api1.filter((r) => r.method === 'GET' && r.path.endsWith('/tasks')).at(-1);
        assertEqual(new URLSearchParams(last.query).get('q'), 'milk', 'q sent');
      } finally {
        await filters.getByLabel('Search').fill('');
        await eventually(() => titles(tab1), all3, 'search cleared');
      }
    });

    await coreStep('filter by priority High', async () => {
      try {
        await filters.getByLabel('Priority filter').selectOption('high');
        await eventually(() => titles(tab1), ['Buy milk'], 'priority high');
      } finally {
        await filters.getByLabel('Priority filter').selectOption('');
        await eventually(() => titles(tab1), all3, 'priority cleared');
      }
    });

    await coreStep('filter by tag "home"', async () => {
      try {
        await filters.getByLabel('Tag filter').fill('home');
        await eventually(() => titles(tab1), ['Walk the dog', 'Buy milk'], 'tag home');
      } finally {
        await filters.getByLabel('Tag filter').fill('');
        await eventually(() => titles(tab1), all3, 'tag cleared');
      }
    });

    await coreStep('the tag list counts tags', async () => {
      const tagCalls = api1.filter((r) => r.method === 'GET' && r.path.endsWith('/tags'));
      assertEqual(tagCalls.at(-1)?.status, 200, 'GET tags status');
      const options = await tab1.locator('#tag-options option').evaluateAll((os) => os.map((o) => o.textContent));
      assertEqual(options, ['home (2)', 'admin (1)', 'errands (1)'], 'tag options');
    });

    await coreStep('filter by due date: overdue, due in 7 days', async () => {
      try {
        await filters.getByLabel('Due filter').selectOption('overdue');
        await eventually(() => titles(tab1), ['File taxes'], 'overdue');
        const last = api1.filter((r) => r.method === 'GET' && r.path.endsWith('/tasks')).at(-1);
        if (!new URLSearchParams(last.query).get('due_before')) throw new Error('due_before was not sent');
        await filters.getByLabel('Due filter').selectOption('week');
        await eventually(() => titles(tab1), ['Buy milk'], 'due in 7 days');
      } finally {
        await filters.getByLabel('Due filter').selectOption('');
        await eventually(() => titles(tab1), all3, 'due filter cleared');
      }
    });

    await coreStep('sort by title, by due date, by priority', async () => {
      try {
        await filters.getByLabel('Sort').selectOption('title');
        await eventually(() => titles(tab1), ['Buy milk', 'File taxes', 'Walk the dog'], 'by title');
        await filters.getByLabel('Sort').selectOption('due_at');
        await eventually(() => titles(tab1), ['File taxes', 'Buy milk', 'Walk the dog'], 'by due date (none last)');
        await filters.getByLabel('Sort').selectOption('-priority');
        await eventually(() => titles(tab1), ['Buy milk', 'File taxes', 'Walk the dog'], 'by priority, high first');
      } finally {
        await filters.getByLabel('Sort').selectOption('-created_at');
        await eventually(() => titles(tab1), all3, 'default sort');
      }
    });

    await coreStep('pages of 2: next and previous', async () => {
      try {
        await filters.getByLabel('Per page').selectOption('2');
        await eventually(() => titles(tab1), ['File taxes', 'Walk the dog'], 'page 1');
        assertEqual(await text(tab1, 'count'), '2 tasks on page 1', 'page 1 count');
        await tab1.getByRole('button', { name: 'Next page' }).click();
        await eventually(() => titles(tab1), ['Buy milk'], 'page 2');
        assertEqual(await text(tab1, 'page'), 'Page 2', 'page label');
        assertEqual(await tab1.getByRole('button', { name: 'Next page' }).isDisabled(), true, 'no page 3');
        const last = api1.filter((r) => r.method === 'GET' && r.path.endsWith('/tasks')).at(-1);
        if (!new URLSearchParams(last.query).get('cursor')) throw new Error('page 2 was not asked with a cursor');
        await tab1.getByRole('button', { name: 'Previous page' }).click();
        await eventually(() => titles(tab1), ['File taxes', 'Walk the dog'], 'back on page 1');
      } finally {
        await filters.getByLabel('Per page').selectOption('10');
        await eventually(() => titles(tab1), all3, 'one page again');
      }
    });

    let toggledAt = 0;
    await coreStep('toggle "Buy milk" completed', async () => {
      const box = tab1.getByRole('checkbox', { name: 'Completed: Buy milk' });
      mark('toggle: click');
      const r = await apiCall(tab1, apiUrl, 'PATCH', new RegExp(`/tasks/${ids.milk}/complete$`), 200, async () => {
        await box.click();
        mark('toggle: clicked');
      });
      mark('toggle: answered');
      toggledAt = r.at;
      assertEqual(r.body.message, 'Task marked as completed', 'toggle message');
      await eventually(() => completedOf(tab1, ids.milk), 'true', 'tab 1 completed');
      assertEqual(await box.isChecked(), true, 'checkbox');
    });

    await coreStep('tab 2 sees the toggle within 1 s', async () => {
      await seenWithin(tab2, toggledAt, () => completedOf(tab2, ids.milk), 'true', 'completed');
    });

    await coreStep('filter by status: Completed, Pending, All', async () => {
      await filters.getByLabel('Status').selectOption('completed');
      await eventually(() => titles(tab1), ['Buy milk'], 'completed');
      await filters.getByLabel('Status').selectOption('pending');
      await eventually(() => titles(tab1), ['File taxes', 'Walk the dog'], 'pending');
      const last = api1.filter((r) => r.method === 'GET' && r.path.endsWith('/tasks')).at(-1);
      assertEqual(new URLSearchParams(last.query).get('status'), 'pending', 'status sent');
      await filters.getByLabel('Status').selectOption('all');
      await eventually(() => titles(tab1), all3, 'all');
    });

    let editedAt = 0;
    await coreStep('edit "Walk the dog"', async () => {
      await taskItem(tab1, ids.dog).getByRole('button', { name: 'Edit' }).click();
      const edit = tab1.getByRole('form', { name: 'Edit Walk the dog' });
      await edit.getByLabel('Title').fill('Walk the dog twice');
      await edit.getByLabel('Description').fill('Morning and evening');
      const r = await apiCall(tab1, apiUrl, 'PUT', new RegExp(`/tasks/${ids.dog}$`), 200, () => edit.getByRole('button', { name: 'Save' }).click());
      editedAt = r.at;
      assertEqual(r.body.message, 'Task updated successfully', 'update message');
      await eventually(() => titles(tab1), ['File taxes', 'Walk the dog twice', 'Buy milk'], 'edited title');
      assertEqual(await taskItem(tab1, ids.dog).locator('[data-testid=task-description]').textContent(), 'Morning and evening', 'edited description');
    });

    await coreStep('tab 2 sees the edit within 1 s', async () => {
      await seenWithin(tab2, editedAt, () => titles(tab2), ['File taxes', 'Walk the dog twice', 'Buy milk'], 'edited title');
    });

    await coreStep('a stale edit (412) shows the newer task instead of overwriting it', async () => {
      // Tab 2 opens the editor on "File taxes", tab 1 changes it, then tab 2 saves its stale copy.
      // (Tab 2 is reloaded first, so this step does not depend on the event stream.)
      await tab2.bringToFront();
      await tab2.reload();
      await eventually(() => titles(tab2), ['File taxes', 'Walk the dog twice', 'Buy milk'], 'tab 2 after reload');
      await taskItem(tab2, ids.taxes).getByRole('button', { name: 'Edit' }).click();
      const stale = tab2.getByRole('form', { name: 'Edit File taxes' });
      await stale.getByLabel('Title').fill('File taxes (stale edit)');
      await tab1.bringToFront();
      await taskItem(tab1, ids.taxes).getByRole('button', { name: 'Edit' }).click();
      const fresh = tab1.getByRole('form', { name: 'Edit File taxes' });
      await fresh.getByLabel('Title').fill('File taxes by Friday');
      await apiCall(tab1, apiUrl, 'PUT', new RegExp(`/tasks/${ids.taxes}$`), 200, () => fresh.getByRole('button', { name: 'Save' }).click());
      await tab2.bringToFront();
      const r = await apiCall(tab2, apiUrl, 'PUT', new RegExp(`/tasks/${ids.taxes}$`), 412, () => stale.getByRole('button', { name: 'Save' }).click());
      assertEqual(r.body?.code, 'PRECONDITION_FAILED', '412 code');
      await eventually(
        () => taskItem(tab2, ids.taxes).locator('[data-testid=conflict]').textContent(),
        'This task was changed elsewhere. Showing the newer version; your edit was not saved.',
        'conflict notice',
      );
      assertEqual(await taskItem(tab2, ids.taxes).locator('[data-testid=task-title]').textContent(), 'File taxes by Friday', 'tab 2 shows the newer title');
      await eventually(() => titles(tab1), ['File taxes by Friday', 'Walk the dog twice', 'Buy milk'], 'tab 1 keeps the newer title');
      await screenshot(tab2, 'stale-edit-412');
      await tab1.bringToFront();
    });

    let deletedAt = 0;
    await coreStep('delete "File taxes"', async () => {
      const r = await apiCall(tab1, apiUrl, 'DELETE', new RegExp(`/tasks/${ids.taxes}$`), 200, () =>
        taskItem(tab1, ids.taxes).getByRole('button', { name: 'Delete' }).click(),
      );
      deletedAt = r.at;
      assertEqual(r.body.message, 'Task deleted successfully', 'delete message');
      await eventually(() => titles(tab1), ['Walk the dog twice', 'Buy milk'], 'after delete');
      assertEqual(await text(tab1, 'count'), '2 tasks', 'count');
    });

    await coreStep('tab 2 sees the delete within 1 s', async () => {
      await seenWithin(tab2, deletedAt, () => titles(tab2), ['Walk the dog twice', 'Buy milk'], 'after delete');
      await screenshot(tab2, 'tab2-live');
    });

    await coreStep('503 with Retry-After while the database restarts: the list retries and loads', async () => {
      const pid = Number(readFileSync(join(apiData, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
      const before = api1.length;
      let sawNotice = false;
      const watch = (async () => {
        const deadline = Date.now() + 8000;
        while (!sawNotice && Date.now() < deadline) {
          if ((await text(tab1, 'notice')) === 'The API answered 503; retrying in 1 s…') sawNotice = true;
          else await sleep(20);
        }
      })();
      process.kill(pid, 'SIGKILL'); // the API answers 503 (Retry-After: 1) until it has restarted it
      await sleep(30);
      await filters.getByLabel('Status').selectOption('pending');
      await eventually(() => titles(tab1), ['Walk the dog twice'], 'pending after the restart', 10_000);
      await watch;
      const pendingLists = () => api1.slice(before).filter((r) => r.method === 'GET' && r.path.endsWith('/tasks') && r.query.includes('status=pending'));
      // The page may show its cached copy of this page at once (TanStack Query) while the request is retried.
      await eventually(() => pendingLists().at(-1)?.status, 200, 'the retried request answered', 10_000);
      const lists = pendingLists();
      assertEqual(lists[0]?.status, 503, 'first answer');
      assertEqual(lists.at(-1)?.status, 200, 'last answer');
      if (!sawNotice) throw new Error('the retry notice was not shown');
      await eventually(() => text(tab1, 'notice'), null, 'notice gone after success', 1000);
      await filters.getByLabel('Status').selectOption('all');
      await eventually(() => titles(tab1), ['Walk the dog twice', 'Buy milk'], 'all again');
    });

    await coreStep('a second user sees none of the first user\'s tasks (and the API refuses their path: 403)', async () => {
      const ctxB = await browser.newContext(contextOptions);
      const tabB = await ctxB.newPage();
      const apiB = recordApi(tabB, apiUrl);
      try {
        await tabB.goto(`${origin}/sign-up`);
        await tabB.getByLabel('Name').fill('Bob');
        await tabB.getByLabel('Email').fill(emailB);
        await tabB.getByLabel('Password').fill(password);
        await tabB.getByRole('button', { name: 'Sign up' }).click();
        await tabB.waitForURL(`${origin}/tasks`);
        await eventually(() => text(tabB, 'count'), 'No tasks yet', 'Bob\'s list');
        assertEqual(await titles(tabB), [], 'Bob\'s titles');
        // The first page came with the HTML (the server component); the browser then asks the API itself.
        await eventually(() => apiB.some((r) => r.method === 'GET' && r.path.endsWith('/tasks')), true, 'Bob\'s page asks the API');
        const list = apiB.find((r) => r.method === 'GET' && r.path.endsWith('/tasks'));
        assertEqual(list?.status, 200, 'Bob\'s list status');
        if (list.path.includes(encodeURIComponent(userA.id))) throw new Error('Bob asked for Alice\'s path');
        const probe = await tabB.evaluate(
          async ({ apiUrl, aliceId, taskId }) => {
            const { token } = await (await fetch('/api/auth/token')).json();
            const headers = { authorization: `Bearer ${token}` };
            const list = await fetch(`${apiUrl}/api/${encodeURIComponent(aliceId)}/tasks`, { headers });
            return { status: list.status, body: await list.json(), taskId };
          },
          { apiUrl, aliceId: userA.id, taskId: ids.milk },
        );
        assertEqual(probe.status, 403, 'Bob on Alice\'s path');
        assertEqual(probe.body.code, 'FORBIDDEN', 'code');
        await screenshot(tabB, 'second-user-empty');
      } finally {
        await ctxB.close();
      }
    });

    await coreStep('sign out: tab 1 goes to sign-in; tab 2\'s next API call is a 401 and sends it to sign-in', async () => {
      await tab1.getByRole('button', { name: 'Sign out' }).click();
      await tab1.waitForURL(`${origin}/sign-in?reason=signed-out`);
      await eventually(() => text(tab1, 'auth-reason'), 'You are signed out.', 'tab 1 notice');
      await tab2.waitForURL(`${origin}/sign-in?reason=session-expired`, { timeout: 10_000 });
      await eventually(() => text(tab2, 'auth-reason'), 'Your session has ended. Sign in again.', 'tab 2 notice');
      const last401 = api2.filter((r) => r.status === 401);
      if (last401.length === 0) throw new Error(`tab 2 saw no 401 from the API: ${JSON.stringify(api2.slice(-3))}`);
      await tab1.goto(`${origin}/tasks`);
      assertEqual(new URL(tab1.url()).pathname, '/sign-in', '/tasks after sign-out');
      await screenshot(tab2, 'tab2-sent-to-sign-in');
    });

    await coreStep('sign in: a wrong password is refused, the right one shows the tasks again', async () => {
      await tab1.getByLabel('Email').fill(emailA);
      await tab1.getByLabel('Password').fill('wrong password!');
      await tab1.getByRole('button', { name: 'Sign in' }).click();
      await eventually(() => text(tab1, 'auth-error'), 'Invalid email or password', 'error text');
      await tab1.getByLabel('Password').fill(password);
      await tab1.getByRole('button', { name: 'Sign in' }).click();
      await tab1.waitForURL(`${origin}/tasks`);
      await eventually(() => titles(tab1), ['Walk the dog twice', 'Buy milk'], 'tasks after sign-in');
      await screenshot(tab1, 'signed-in-again');
    });

    await coreStep('"Clear completed" (a server action calling the API with the user\'s JWT) deletes "Buy milk"', async () => {
      await tab1.getByRole('button', { name: 'Clear completed' }).click();
      await eventually(() => text(tab1, 'notice'), 'Cleared 1 completed task.', 'notice');
      assertEqual(await titles(tab1), ['Walk the dog twice'], 'titles');
    });

    await coreStep('sign out', async () => {
      await tab1.getByRole('button', { name: 'Sign out' }).click();
      await tab1.waitForURL(`${origin}/sign-in?reason=signed-out`);
      await eventually(() => text(tab1, 'auth-reason'), 'You are signed out.', 'notice');
      await screenshot(tab1, 'signed-out');
    });

    // ------------------------------------------------------------ feature suites (test/features/)
    let signUps = 0;
    // Better Auth allows 3 sign-ins/sign-ups per 10 s from one address (its production rate limit,
    // which `next start` keeps). `authTurn()` before each sign-in or sign-up click keeps the suites
    // under it: at most 2 in any 10.5 s (the core steps' last sign-ins count as just made).
    const authClicks = [Date.now(), Date.now()];
    async function authTurn() {
      for (;;) {
        const recent = authClicks.filter((t) => Date.now() - t < 10_500);
        if (recent.length < 2) break;
        await sleep(Math.min(...recent) + 10_500 - Date.now());
      }
      authClicks.push(Date.now());
    }
    /** A new user in a new browser context, signed up through the page, on /tasks. */
    async function signUp(name = 'User', options = {}) {
      const context = await browser.newContext({ ...contextOptions, ...options });
      const page = await context.newPage();
      const email = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${Date.now()}-${++signUps}@example.com`;
      await page.goto(`${origin}/sign-up`);
      await page.getByLabel('Name').fill(name);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(password);
      // authTurn() keeps under Better Auth's rate limit; a refusal all the same waits and tries again.
      for (let attempt = 1; ; attempt++) {
        await authTurn();
        await page.getByRole('button', { name: 'Sign up' }).click();
        const outcome = await Promise.race([
          page.waitForURL(`${origin}/tasks`, { timeout: 20_000 }).then(() => 'in'),
          page.locator('[data-testid=auth-error]').filter({ hasText: /too many/i }).waitFor({ timeout: 20_000 }).then(() => 'limited'),
        ]);
        if (outcome === 'in') break;
        if (attempt === 4) throw new Error(`sign-up of ${name}: still rate-limited after ${attempt} tries`);
        await sleep(11_000);
      }
      const session = await page.evaluate(async () => (await fetch('/api/auth/get-session')).json());
      pagesToShoot.push([`${name}-${signUps}`, page]);
      return { context, page, user: session.user, email, password, api: recordApi(page, apiUrl) };
    }
    const kit = {
      browser, contextOptions, origin, apiUrl, apiDataDir: apiData, password, signUp, authTurn,
      step, eventually, assertEqual, apiCall, seenWithin, screenshot, text, titles, taskItem, recordApi, mark, sleep,
      LIVE_MS,
    };
    for (const file of FEATURES) {
      console.log(`feature suite: ${file}`);
      const mod = await import(pathToFileURL(join(FEATURES_DIR, file)).href);
      await mod.run(kit);
    }
  } finally {
    await browser.close().catch(() => {});
    await stopAll();
    writeFileSync(join(ARTIFACTS, 'api.log'), api.log);
    writeFileSync(join(ARTIFACTS, 'next.log'), app.log);
    rmSync(tmp, { recursive: true, force: true });
  }

  const failed = results.filter((r) => !r.ok);
  writeFileSync(join(ARTIFACTS, 'results.json'), JSON.stringify({ results }, null, 2));
  console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
  for (const f of failed) console.log(`  failed: ${f.name}`);
  console.log(`screenshots and logs: ${ARTIFACTS}`);
  process.exitCode = failed.length ? 1 : 0;
}

main().catch(async (err) => {
  console.error(err instanceof Error ? err.stack : err);
  await stopAll();
  process.exitCode = 1;
});

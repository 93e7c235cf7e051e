/**
 * Browser end to end: a real Chromium, a real Better Auth server, the real API.
 *
 * A page on http://localhost:<free port> (the same node server as Better Auth, which is mounted at
 * /api/auth as in a Next.js app) signs up and in with fetch, gets a JWT from /api/auth/token,
 * then calls the API on http://127.0.0.1:<port>: another origin, so every call with an
 * Authorization header is preceded by a real CORS preflight. It writes each status and body into
 * the DOM; this test reads them back. A second page, on an origin the API does not allow, makes
 * the same call and the browser must refuse to hand over the answer.
 *
 * The pages' code (what a frontend writes) builds its URLs itself and is the subject here; what
 * the test does from Node goes through the test client (test/helpers/api.ts).
 *
 * Needs Debian's Chromium at /usr/bin/chromium (never downloaded by this project):
 *   apt-get install -y chromium
 * Without it the suite is skipped, unless REQUIRE_BROWSER=1 (CI), where it fails.
 * Every server here takes a free port (never 3000, where a developer's `next dev` runs); the API is
 * given that origin as CORS_ORIGINS and BETTER_AUTH_URL, as a deployment would be.
 */
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { decodeJwt } from 'jose';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { api as apiOf } from '../helpers/api.js';
import { authHeader, startApi } from '../helpers/app.js';
import { NEW_TASK_DEFAULTS } from '../helpers/task-json.js';
import { startBetterAuth, type BetterAuthServer } from '../support/better-auth-server.js';

const CHROMIUM = '/usr/bin/chromium';
/** The frontend's origin (Better Auth's baseURL), known once its server listens on a free port. */
let FRONTEND_ORIGIN = '';
const SCREENSHOT = fileURLToPath(new URL('../../test-artifacts/browser-e2e.png', import.meta.url));
const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Without these Chromium keeps calling Google services, which floods a closed network.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const hasChromium = existsSync(CHROMIUM);
const requireBrowser = process.env.REQUIRE_BROWSER === '1';
const missingBrowser =
  `${CHROMIUM} not found. Install Debian's Chromium (apt-get install -y chromium) to run the browser ` +
  'end-to-end test; playwright browsers are never downloaded.';
if (!hasChromium && !requireBrowser) console.warn(`[browser e2e] SKIPPED: ${missingBrowser}`);

type ApiResult = { status: number; body: unknown };
type Step = { step: string; request: string; status: string; body: string };

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/**
 * The "frontend": plain fetch calls, like a Next.js client component would make. Each step becomes
 * a table row with data-step and data-status and the exact response text.
 */
const FRONTEND_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tasks: browser end to end</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 20px; color: #222; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  p.meta { margin: 0 0 12px; color: #555; }
  table { border-collapse: collapse; width: 100%; table-layout: fixed; }
  th, td { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; text-align: left; overflow-wrap: anywhere; }
  th:nth-child(1) { width: 110px; } th:nth-child(2) { width: 330px; } th:nth-child(3) { width: 60px; }
  td.status { font-weight: bold; }
  td.ok { color: #070; } td.bad { color: #b00; }
  pre { margin: 0; white-space: pre-wrap; word-break: break-all; font-size: 11px; }
  ul#tasks li.done { text-decoration: line-through; color: #777; }
</style>
</head>
<body>
<h1>Task API, called from the browser</h1>
<p class="meta" id="meta"></p>
<table>
  <thead><tr><th>step</th><th>request</th><th>status</th><th>body</th></tr></thead>
  <tbody id="steps"></tbody>
</table>
<h2>Tasks after the run</h2>
<ul id="tasks"></ul>
<p id="done" hidden></p>
<script type="module">
  const q = new URLSearchParams(location.search);
  const api = q.get('api');
  const email = q.get('email');
  const password = q.get('password');
  document.getElementById('meta').textContent =
    'page origin ' + location.origin + ', Better Auth at ' + location.origin + '/api/auth, API at ' + api;

  function record(step, request, status, body) {
    const tr = document.createElement('tr');
    tr.dataset.step = step;
    tr.dataset.status = String(status);
    const cells = [step, request, String(status), body];
    cells.forEach((text, i) => {
      const td = document.createElement('td');
      if (i === 2) td.className = 'status ' + (typeof status === 'number' && status < 300 ? 'ok' : 'bad');
      if (i === 3) { const pre = document.createElement('pre'); pre.textContent = text; td.appendChild(pre); }
      else td.textContent = text;
      tr.appendChild(td);
    });
    document.getElementById('steps').appendChild(tr);
  }

  async function call(step, url, init = {}) {
    const request = (init.method || 'GET') + ' ' + url;
    let res;
    try {
      res = await fetch(url, init);
    } catch (err) {
      record(step, request, 'error', err.name + ': ' + err.message);
      throw err;
    }
    const text = await res.text();
    record(step, request, res.status, text);
    if (!res.ok) throw new Error(step + ' answered ' + res.status);
    return { res, json: text === '' ? null : JSON.parse(text) };
  }

  async function run() {
    const json = { 'content-type': 'application/json' };
    const signUp = await call('sign-up', '/api/auth/sign-up/email', {
      method: 'POST', headers: json, body: JSON.stringify({ email, password, name: 'Browser User' }),
    });
    record('set-auth-token', 'sign-up response header', signUp.res.status, signUp.res.headers.get('set-auth-token') || '');
    await call('sign-in', '/api/auth/sign-in/email', {
      method: 'POST', headers: json, body: JSON.stringify({ email, password }),
    });
    // The session cookie set by sign-in goes along (same origin): this is how a Next.js page gets a JWT.
    const { json: tokenBody } = await call('jwt', '/api/auth/token');
    const userId = signUp.json.user.id;
    const auth = { authorization: 'Bearer ' + tokenBody.token };
    const tasks = api + '/api/' + encodeURIComponent(userId) + '/tasks';

    const first = await call('create-1', tasks, {
      method: 'POST', headers: { ...auth, ...json },
      body: JSON.stringify({ title: 'Buy milk', description: 'Two litres, semi-skimmed' }),
    });
    const second = await call('create-2', tasks, {
      method: 'POST', headers: { ...auth, ...json }, body: JSON.stringify({ title: 'Walk the dog' }),
    });
    await call('list-1', tasks, { headers: auth });
    await call('toggle', tasks + '/' + first.json.data.id + '/complete', { method: 'PATCH', headers: auth });
    await call('delete', tasks + '/' + second.json.data.id, { method: 'DELETE', headers: auth });
    const last = await call('list-2', tasks, { headers: auth });

    for (const task of last.json.data) {
      const li = document.createElement('li');
      li.textContent = '#' + task.id + ' ' + task.title + (task.completed ? ' (done)' : '');
      if (task.completed) li.className = 'done';
      document.getElementById('tasks').appendChild(li);
    }
  }

  run().then(
    () => { document.getElementById('done').textContent = 'ok'; },
    (err) => { document.getElementById('done').textContent = 'failed: ' + err; },
  ).finally(() => { document.getElementById('done').hidden = false; });
</script>
</body>
</html>`;

/** A page on an origin the API does not allow: the same call must be refused by the browser. */
const FOREIGN_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Not an allowed origin</title></head>
<body>
<h1>Calling the API from a foreign origin</h1>
<ul id="results"></ul>
<script type="module">
  const q = new URLSearchParams(location.hash.slice(1));
  const url = q.get('api') + '/api/' + encodeURIComponent(q.get('user')) + '/tasks';
  async function attempt(name, init) {
    const li = document.createElement('li');
    li.dataset.attempt = name;
    try {
      const res = await fetch(url, init);
      li.dataset.outcome = 'answered';
      li.textContent = name + ': ' + res.status + ' ' + (await res.text());
    } catch (err) {
      li.dataset.outcome = 'rejected';
      li.dataset.error = err.name;
      li.textContent = name + ': ' + err.name + ': ' + err.message;
    }
    document.getElementById('results').appendChild(li);
  }
  // With Authorization: a preflight, which gets no Access-Control-Allow-Origin, so no request.
  await attempt('preflighted', { headers: { authorization: 'Bearer ' + q.get('token') } });
  // A simple GET (no preflight): the server answers, but the browser hides the answer.
  await attempt('simple', {});
  document.body.dataset.done = 'yes';
</script>
</body>
</html>`;

async function startStaticServer(html: string): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/' || req.url?.startsWith('/?') || req.url?.startsWith('/#')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe.runIf(!hasChromium && requireBrowser)('browser end to end (REQUIRE_BROWSER=1)', () => {
  it('needs Chromium', () => {
    throw new Error(missingBrowser);
  });
});

describe.skipIf(!hasChromium)('browser end to end: Better Auth + API + Chromium', () => {
  let ba: BetterAuthServer | undefined;
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  let foreign: Awaited<ReturnType<typeof startStaticServer>> | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  /** Requests Chromium's network stack reports, preflights included. */
  const network: Array<{ method: string; url: string; type: string | undefined }> = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ba = await startBetterAuth({ port: 0, host: 'localhost', pages: { '/': FRONTEND_PAGE } });
    FRONTEND_ORIGIN = ba.baseURL;
    expect(FRONTEND_ORIGIN).toMatch(/^http:\/\/localhost:\d+$/);
    expect(FRONTEND_ORIGIN).not.toBe('http://localhost:3000');
    api = await startApi({ betterAuthUrl: ba.baseURL, corsOrigins: [FRONTEND_ORIGIN] });
    foreign = await startStaticServer(FOREIGN_PAGE);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS, timeout: 20_000 });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const cdp = await page.context().newCDPSession(page);
    cdp.on('Network.requestWillBeSent', (e) => network.push({ method: e.request.method, url: e.request.url, type: e.type }));
    await cdp.send('Network.enable');
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.allSettled([api?.close(), ba?.close(), foreign?.close()]);
  }, 15_000);

  it('runs sign-up, sign-in, JWT and task CRUD across origins, and the DOM shows the exact answers', async () => {
    if (!page || !ba || !api) throw new Error('setup failed');
    const email = `browser-${Date.now()}@example.com`;
    const query = new URLSearchParams({ api: api.url, email, password: 'browser password 123' });
    await page.goto(`${FRONTEND_ORIGIN}/?${query}`);
    await page.locator('#done:not([hidden])').waitFor();
    const steps: Step[] = await page.$$eval('#steps tr', (rows) =>
      rows.map((row) => ({
        step: row.getAttribute('data-step') ?? '',
        request: row.children[1]?.textContent ?? '',
        status: row.getAttribute('data-status') ?? '',
        body: row.querySelector('pre')?.textContent ?? '',
      })),
    );
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    const statuses = steps.map((s) => `${s.step} ${s.status}`);
    const details = `the page showed:\n${steps.map((s) => `${s.step} ${s.request} -> ${s.status} ${s.body}`).join('\n')}`;
    expect(statuses, details).toEqual([
      'sign-up 200',
      'set-auth-token 200',
      'sign-in 200',
      'jwt 200',
      'create-1 201',
      'create-2 201',
      'list-1 200',
      'toggle 200',
      'delete 200',
      'list-2 200',
    ]);
    expect(await page.locator('#done').textContent()).toBe('ok');
    expect(pageErrors).toEqual([]);
    const result = (name: string): ApiResult => {
      const s = steps.find((x) => x.step === name);
      if (!s) throw new Error(`no step ${name} in the DOM`);
      return { status: Number(s.status), body: s.body.startsWith('{') ? (JSON.parse(s.body) as unknown) : s.body };
    };

    // Better Auth, same origin.
    const signUp = result('sign-up').body as { token: string; user: { id: string } };
    expect(signUp).toMatchObject({ token: expect.stringMatching(/^[A-Za-z0-9]{32}$/), user: { email, name: 'Browser User' } });
    const userId = signUp.user.id;
    expect(result('set-auth-token').body).toMatch(new RegExp(`^${signUp.token}\\.[A-Za-z0-9+/]{43}=$`));
    expect(result('sign-in').body).toMatchObject({ user: { id: userId, email } });
    const jwt = (result('jwt').body as { token: string }).token;
    expect(decodeJwt(jwt)).toMatchObject({ sub: userId, iss: FRONTEND_ORIGIN, aud: FRONTEND_ORIGIN });

    // The API, cross origin.
    const created1 = result('create-1');
    expect(created1).toEqual({
      status: 201,
      body: {
        data: {
          id: expect.any(Number),
          user_id: userId,
          title: 'Buy milk',
          description: 'Two litres, semi-skimmed',
          completed: false,
          ...NEW_TASK_DEFAULTS,
          created_at: expect.stringMatching(ISO_UTC),
          updated_at: expect.stringMatching(ISO_UTC),
        },
        message: 'Task created successfully',
      },
    });
    const task1 = (created1.body as { data: Record<string, unknown> }).data;
    expect(task1.updated_at).toBe(task1.created_at);

    const created2 = result('create-2');
    expect(created2).toEqual({
      status: 201,
      body: {
        data: {
          id: expect.any(Number),
          user_id: userId,
          title: 'Walk the dog',
          description: null,
          completed: false,
          ...NEW_TASK_DEFAULTS,
          created_at: expect.stringMatching(ISO_UTC),
          updated_at: expect.stringMatching(ISO_UTC),
        },
        message: 'Task created successfully',
      },
    });
    const task2 = (created2.body as { data: Record<string, unknown> }).data;
    expect(task2.id).not.toBe(task1.id);

    // Newest first.
    expect(result('list-1')).toEqual({ status: 200, body: { data: [task2, task1], message: 'Tasks retrieved successfully' } });

    const toggled = result('toggle');
    expect(toggled).toEqual({
      status: 200,
      body: {
        data: { ...task1, completed: true, completed_at: expect.stringMatching(ISO_UTC), version: 2, updated_at: expect.stringMatching(ISO_UTC) },
        message: 'Task marked as completed',
      },
    });
    const task1Done = (toggled.body as { data: { updated_at: string } }).data;
    expect(Date.parse(task1Done.updated_at)).toBeGreaterThanOrEqual(Date.parse(task1.created_at as string));

    expect(result('delete')).toEqual({ status: 200, body: { data: task2, message: 'Task deleted successfully' } });
    expect(result('list-2')).toEqual({ status: 200, body: { data: [task1Done], message: 'Tasks retrieved successfully' } });
    expect(await page.locator('#tasks li').allTextContents()).toEqual([`#${String(task1.id)} Buy milk (done)`]);

    // Chromium really sent CORS preflights to the API (the Authorization header is not "simple").
    // Chromium caches a preflight per URL for a few seconds, so each distinct URL has at least one.
    const apiUrl = api.url;
    const tasksUrl = `${apiUrl}/api/${encodeURIComponent(userId)}/tasks`;
    const preflighted = new Set(network.filter((r) => r.method === 'OPTIONS' && r.url.startsWith(apiUrl)).map((r) => r.url));
    expect([...preflighted].sort()).toEqual(
      [tasksUrl, `${tasksUrl}/${String(task1.id)}/complete`, `${tasksUrl}/${String(task2.id)}`].sort(),
    );
    expect(network.filter((r) => r.url.startsWith(apiUrl) && r.method !== 'OPTIONS').map((r) => r.method)).toEqual([
      'POST',
      'POST',
      'GET',
      'PATCH',
      'DELETE',
      'GET',
    ]);
  }, 30_000);

  it('refuses the same calls from an origin the API does not allow (fetch rejects with TypeError)', async () => {
    if (!browser || !api || !foreign || !ba) throw new Error('setup failed');
    // A valid JWT, so the only thing wrong with these calls is their origin.
    const user = await ba.signUp(`foreign-${Date.now()}@example.com`, 'foreign password 123', 'Foreign');
    const userId = user.userId;
    const jwt = await ba.getJwt(user.sessionToken);
    const foreignPage = await browser.newPage();
    try {
      const hash = new URLSearchParams({ api: api.url, user: userId, token: jwt });
      await foreignPage.goto(`${foreign.origin}/#${hash}`);
      await foreignPage.locator('body[data-done="yes"]').waitFor({ timeout: 10_000 });
      const attempts = await foreignPage.$$eval('#results li', (items) =>
        items.map((li) => ({
          attempt: li.getAttribute('data-attempt'),
          outcome: li.getAttribute('data-outcome'),
          error: li.getAttribute('data-error'),
        })),
      );
      expect(attempts).toEqual([
        { attempt: 'preflighted', outcome: 'rejected', error: 'TypeError' },
        { attempt: 'simple', outcome: 'rejected', error: 'TypeError' },
      ]);
    } finally {
      await foreignPage.close();
    }

    // It is the browser that refuses: the API itself answers that origin, without CORS headers.
    const tasksUrl = `${api.url}/api/${encodeURIComponent(userId)}/tasks`;
    const preflight = await fetch(tasksUrl, {
      method: 'OPTIONS',
      headers: {
        origin: foreign.origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.status).toBe(403);
    expect((await preflight.json()).code).toBe('FORBIDDEN');
    const direct = await fetch(tasksUrl, { headers: { origin: foreign.origin, authorization: `Bearer ${jwt}` } });
    expect(direct.status).toBe(200);
    expect(direct.headers.get('access-control-allow-origin')).toBeNull();
    // And the allowed origin gets its preflight answered with 204 and the CORS headers.
    const allowed = await fetch(tasksUrl, {
      method: 'OPTIONS',
      headers: {
        origin: FRONTEND_ORIGIN,
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(FRONTEND_ORIGIN);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
  }, 20_000);

  it('the docs page shows and reads /openapi.json, the one address of the document', async () => {
    if (!browser || !api) throw new Error('setup failed');
    const docs = await browser.newPage();
    try {
      const requested: string[] = [];
      docs.on('request', (r) => requested.push(new URL(r.url()).pathname));
      await docs.goto(`${api.url}/docs`);
      await docs.locator('.info .title').waitFor();
      // Swagger UI's own address bar (the top bar's input) and the link under the title.
      expect(await docs.locator('.topbar input').inputValue()).toBe(`${api.url}/openapi.json`);
      expect(await docs.locator('.info a.link').first().getAttribute('href')).toBe(`${api.url}/openapi.json`);
      expect(requested.filter((p) => p.endsWith('json'))).toEqual(['/openapi.json']);
      // Someone who types the plugin's old address ends up at the same one.
      await docs.goto(`${api.url}/docs/json`);
      expect(new URL(docs.url()).pathname).toBe('/openapi.json');
    } finally {
      await docs.close();
    }
  }, 20_000);

  it('the docs page runs a filtered, sorted, paged list with a token: Authorize, fill the parameters, Execute', async () => {
    if (!browser || !api) throw new Error('setup failed');
    const user = `docs-${Date.now()}`;
    const auth = await authHeader(user);
    const client = await apiOf(api.url, user);
    for (const task of [
      { title: 'Low one', priority: 'low' },
      { title: 'High one', priority: 'high' },
      { title: 'Medium one', priority: 'medium' },
    ] as const) {
      const res = await client.create(task);
      expect(res.statusCode).toBe(201);
    }
    const docs = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
    docs.setDefaultTimeout(10_000);
    try {
      await docs.goto(`${api.url}/docs`);
      await docs.locator('.info .title').waitFor();
      // Authorize: the bearer token, as a user pastes it.
      await docs.locator('button.authorize').first().click();
      await docs.locator('.modal-ux input').first().fill(auth.authorization!.slice('Bearer '.length));
      await docs.locator('.modal-ux button.authorize').first().click();
      await docs.locator('.modal-ux button.btn-done, .modal-ux .close-modal').first().click();
      // The list operation: open it, fill the path's user and three query parameters, Execute.
      const op = docs.locator('#operations-tasks-listTasks');
      await op.locator('.opblock-summary').click();
      const param = (name: string) => op.locator(`tr[data-param-name="${name}"]`);
      // The page fills every parameter with its example: clear the filters this query does not use.
      for (const name of ['q', 'due_before', 'due_after', 'cursor', 'if-none-match', 'list_id', 'parent_id', 'uid', 'assignee_id']) await param(name).locator('input').fill('');
      for (const name of ['priority', 'tag']) {
        const remove = param(name).locator('button.json-schema-form-item-remove');
        while ((await remove.count()) > 0) await remove.first().click();
      }
      await param('user_id').locator('input').fill(user);
      await param('status').locator('select').selectOption('pending');
      await param('sort').locator('select').selectOption('-priority');
      await param('limit').locator('input').fill('2');
      await op.locator('button.execute').click();
      const live = op.locator('.live-responses-table');
      const row = live.locator('tr.response');
      await row.locator('.response-col_status').waitFor();
      expect((await row.locator('.response-col_status').innerText()).trim()).toBe('200');
      const body = JSON.parse(await row.locator('.response-col_description .highlight-code pre').first().innerText()) as { data: { title: string }[]; next_cursor: string };
      expect(body.data.map((t) => t.title)).toEqual(['High one', 'Medium one']);
      expect(body.next_cursor).toMatch(/^[\w-]+$/);
      // The curl it shows is the same request, with the token.
      const curl = await op.locator('.curl-command').innerText();
      expect(curl).toContain(`/api/${user}/tasks?status=pending&sort=-priority&limit=2`);
      expect(curl).toContain('Authorization: Bearer ');
      await docs.screenshot({ path: SCREENSHOT.replace('browser-e2e.png', 'docs-try-it.png'), fullPage: false });
    } finally {
      await docs.close();
    }
  }, 30_000);
});

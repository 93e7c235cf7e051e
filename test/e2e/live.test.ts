/**
 * Live updates in a real browser: two pages of one user on the allowed origin (the Better Auth
 * server's, as a Next.js app would be), each with an EventSource opened with a ticket. A change
 * made in one page appears in the other within 1 s; an edit from the stale page with If-Match gets
 * 412, and the page shows the newer task instead of overwriting it.
 *
 * The pages' own code (what a frontend writes) builds its URLs itself; it is the subject here.
 *
 * Needs Debian's Chromium at /usr/bin/chromium (never downloaded); skipped without it unless
 * REQUIRE_BROWSER=1 (CI), where browser.test.ts fails for it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../helpers/app.js';
import { startBetterAuth, type BetterAuthServer } from '../support/better-auth-server.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('../../test-artifacts/browser-live.png', import.meta.url));
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * The page: signs in (or up), gets a JWT, keeps the user's tasks in a list fed by the event
 * stream (a ticket, then EventSource; resumed from the last id with a new ticket), and offers
 * create / edit-with-If-Match to the test through window functions.
 */
const LIVE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Live tasks</title>
<style>body{font:14px system-ui,sans-serif;margin:20px} li.stale{color:#b00}</style></head>
<body>
<h1>Live tasks <small id="who"></small></h1>
<p id="state">starting</p>
<ul id="tasks"></ul>
<p id="notice"></p>
<script type="module">
  const q = new URLSearchParams(location.search);
  const api = q.get('api');
  const json = { 'content-type': 'application/json' };
  const tasks = new Map();
  window.received = [];
  const render = () => {
    const ul = document.getElementById('tasks');
    ul.replaceChildren(...[...tasks.values()].sort((a, b) => a.id - b.id).map((t) => {
      const li = document.createElement('li');
      li.dataset.id = t.id; li.dataset.version = t.version;
      li.textContent = t.title + ' (v' + t.version + ')';
      return li;
    }));
  };
  async function session() {
    if (q.get('mode') === 'sign-up') {
      await fetch('/api/auth/sign-up/email', { method: 'POST', headers: json, body: JSON.stringify({ email: q.get('email'), password: q.get('password'), name: 'Live' }) });
    }
    const res = await fetch('/api/auth/sign-in/email', { method: 'POST', headers: json, body: JSON.stringify({ email: q.get('email'), password: q.get('password') }) });
    const user = (await res.json()).user;
    const token = (await (await fetch('/api/auth/token')).json()).token;
    return { userId: user.id, auth: { authorization: 'Bearer ' + token } };
  }
  const { userId, auth } = await session();
  document.getElementById('who').textContent = userId;
  const base = api + '/api/' + encodeURIComponent(userId) + '/tasks';
  let lastId;
  let source;
  let offline = false;
  async function connect() {
    if (offline) return;
    const ticket = (await (await fetch(base + '/events/ticket', { method: 'POST', headers: auth })).json()).data.ticket;
    const es = new EventSource(base + '/events?ticket=' + encodeURIComponent(ticket) + (lastId ? '&since=' + encodeURIComponent(lastId) : ''));
    source = es;
    es.addEventListener('ready', (e) => { lastId = e.lastEventId; document.getElementById('state').textContent = 'live'; });
    const apply = (e) => {
      lastId = e.lastEventId;
      const change = JSON.parse(e.data);
      window.received.push({ at: Date.now(), type: change.type, id: change.task ? change.task.id : change.id, title: change.task && change.task.title });
      if (change.type === 'upsert') tasks.set(change.task.id, change.task); else tasks.delete(change.id);
      render();
    };
    es.addEventListener('upsert', apply);
    es.addEventListener('delete', apply);
    // A ticket is single use: on an error, close and come back with a new one from the last id.
    es.onerror = () => { es.close(); document.getElementById('state').textContent = 'reconnecting'; setTimeout(connect, 200); };
  }
  const snapshot = await (await fetch(base + '?limit=200', { headers: auth })).json();
  for (const t of snapshot.data) tasks.set(t.id, t);
  render();
  await connect();
  window.createTask = async (title) => {
    const res = await fetch(base, { method: 'POST', headers: { ...auth, ...json, 'idempotency-key': 'create-' + title }, body: JSON.stringify({ title }) });
    return { status: res.status, at: Date.now(), body: await res.json() };
  };
  /** An edit as this page knows the task: If-Match its version; on 412, show the newer task. */
  window.editTask = async (id, title) => {
    const known = tasks.get(id);
    const res = await fetch(base + '/' + id, { method: 'PUT', headers: { ...auth, ...json, 'if-match': '"' + known.version + '"' }, body: JSON.stringify({ title }) });
    const body = await res.json();
    if (res.status === 412) {
      const current = await (await fetch(base + '/' + id, { headers: auth })).json();
      tasks.set(id, current.data);
      render();
      document.getElementById('notice').textContent = 'Someone changed this task: it now reads "' + current.data.title + '" (' + res.headers.get('etag') + ')';
    }
    return { status: res.status, body, etag: res.headers.get('etag') };
  };
  /** A tab that goes to sleep: no more live updates; its copy of the tasks gets old. */
  window.goOffline = () => { offline = true; source.close(); document.getElementById('state').textContent = 'offline'; };
</script>
</body></html>`;

const hasChromium = existsSync(CHROMIUM);

describe.skipIf(!hasChromium)('live updates in Chromium: two pages of one user', () => {
  let ba: BetterAuthServer | undefined;
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  let browser: Browser | undefined;
  const errors: string[] = [];

  beforeAll(async () => {
    ba = await startBetterAuth({ port: 0, host: 'localhost', pages: { '/': LIVE_PAGE } });
    api = await startApi({ betterAuthUrl: ba.baseURL, corsOrigins: [ba.baseURL] });
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS, timeout: 20_000 });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.allSettled([api?.close(), ba?.close()]);
  }, 15_000);

  async function open(mode: 'sign-up' | 'sign-in', email: string): Promise<Page> {
    const context = browser as Browser;
    const page = await context.newPage({ viewport: { width: 800, height: 500 } });
    page.on('pageerror', (err) => errors.push(err.message));
    const query = new URLSearchParams({ api: (api as { url: string }).url, email, password: 'live password 123', mode });
    await page.goto(`${(ba as BetterAuthServer).baseURL}/?${query}`);
    await page.locator('#state', { hasText: 'live' }).waitFor({ timeout: 15_000 });
    return page;
  }

  it('a change in one page appears in the other within 1 s; a stale edit gets 412 and shows the newer task', async () => {
    const email = `live-${Date.now()}@example.com`;
    const a = await open('sign-up', email);
    const b = await open('sign-in', email);

    // A creates: B sees it through its EventSource.
    const created = (await a.evaluate(() => (window as unknown as { createTask(t: string): Promise<{ status: number; at: number; body: { data: { id: number } } }> }).createTask('Buy milk'))) as {
      status: number;
      at: number;
      body: { data: { id: number } };
    };
    expect(created.status).toBe(201);
    const id = created.body.data.id;
    await b.locator(`#tasks li[data-id="${id}"]`).waitFor({ timeout: 1000 });
    const seenAt = await b.evaluate((taskId) => (window as unknown as { received: { at: number; id: number }[] }).received.find((r) => r.id === taskId)?.at, id);
    expect((seenAt as number) - created.at).toBeLessThan(1000);
    expect(await b.locator(`#tasks li[data-id="${id}"]`).textContent()).toBe('Buy milk (v1)');

    // B goes to sleep (no more live updates) holding version 1; A edits meanwhile.
    await b.evaluate(() => (window as unknown as { goOffline(): void }).goOffline());
    const aEdit = (await a.evaluate((taskId) => (window as unknown as { editTask(i: number, t: string): Promise<{ status: number }> }).editTask(taskId, 'Buy oat milk'), id)) as {
      status: number;
    };
    expect(aEdit.status).toBe(200);
    expect(await b.locator(`#tasks li[data-id="${id}"]`).textContent()).toBe('Buy milk (v1)');

    // B's edit from its stale copy: 412, nothing overwritten, and B shows the newer task.
    const bEdit = (await b.evaluate(
      (taskId) => (window as unknown as { editTask(i: number, t: string): Promise<{ status: number; body: { code: string }; etag: string }> }).editTask(taskId, 'Overwrite from a stale tab'),
      id,
    )) as { status: number; body: { code: string }; etag: string };
    expect(bEdit).toMatchObject({ status: 412, body: { code: 'PRECONDITION_FAILED' }, etag: '"2"' });
    expect(await b.locator(`#tasks li[data-id="${id}"]`).textContent()).toBe('Buy oat milk (v2)');
    expect(await b.locator('#notice').textContent()).toBe('Someone changed this task: it now reads "Buy oat milk" ("2")');
    // A never saw an overwrite: its live list still reads its own edit.
    await a.waitForTimeout(300);
    expect(await a.locator(`#tasks li[data-id="${id}"]`).textContent()).toBe('Buy oat milk (v2)');
    await b.screenshot({ path: SCREENSHOT.replace('.png', '-stale.png') });
    await a.screenshot({ path: SCREENSHOT });
    expect(errors).toEqual([]);
  }, 60_000);
});

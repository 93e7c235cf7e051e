/**
 * A frontend written for the original FastAPI backend, run unchanged against ours.
 *
 * Its API client is what such frontends do (`lib/api.ts` of a Next.js todo app): `Content-Type:
 * application/json` on every request, bodiless PATCH and DELETE included; `credentials: 'include'`;
 * the list filtered with `filter=` and the words of its Open/Done buttons; `data` taken as the task
 * or the list; errors shown as `body.detail || 'Request failed'`, FastAPI's `HTTPException` field;
 * an HS256 token signed with the shared secret, as the original verified. The same client code runs
 * in Node on each database and in Chromium from the allowed origin (a real CORS preflight and
 * credentials); the screen it would show is compared with what the original would show.
 *
 * That client code is the subject, so it keeps its own paths and fetch calls, not the test client's.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, signToken, startApi, uniqueUser, type RunningApi, type TestApp } from '../helpers/app.js';
import { drivers } from '../helpers/databases.js';

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const hasChromium = existsSync(CHROMIUM);
const requireBrowser = process.env.REQUIRE_BROWSER === '1';

/**
 * The frontend's client and one session of use, as a module: imported by Node from a data: URL,
 * and inlined in the browser page. It returns what the user would see, step by step.
 */
const FRONTEND = String.raw`
export function createApi({ apiUrl, getToken, fetchImpl = fetch }) {
  async function request(path, options = {}) {
    const res = await fetchImpl(apiUrl + path, {
      ...options,
      credentials: 'include',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + getToken(), ...(options.headers || {}) },
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const error = new Error((body && body.detail) || 'Request failed');
      error.status = res.status;
      error.raw = body;
      throw error;
    }
    return body;
  }
  return {
    list: (userId, filter) => request('/api/' + userId + '/tasks' + (filter ? '?filter=' + filter : '')).then((b) => b.data),
    get: (userId, id) => request('/api/' + userId + '/tasks/' + id).then((b) => b.data),
    create: (userId, task) => request('/api/' + userId + '/tasks', { method: 'POST', body: JSON.stringify(task) }).then((b) => b.data),
    update: (userId, id, task) => request('/api/' + userId + '/tasks/' + id, { method: 'PUT', body: JSON.stringify(task) }).then((b) => b.data),
    toggle: (userId, id) => request('/api/' + userId + '/tasks/' + id + '/complete', { method: 'PATCH' }).then((b) => ({ task: b.data, message: b.message })),
    remove: (userId, id) => request('/api/' + userId + '/tasks/' + id, { method: 'DELETE' }).then((b) => b.message),
  };
}

/** One session: what the screen shows after each action (a list of titles, a toast, an error). */
export async function session({ apiUrl, token, userId, otherUserId, fetchImpl }) {
  let current = token;
  const api = createApi({ apiUrl, getToken: () => current, fetchImpl });
  const screen = [];
  const show = async (step, action) => {
    try {
      screen.push({ step, ok: true, shows: await action() });
    } catch (err) {
      screen.push({ step, ok: false, status: err.status, shows: err.message, error: err.raw && err.raw.error });
    }
  };
  const titles = (tasks) => tasks.map((t) => t.title + (t.completed ? ' [x]' : ' [ ]'));
  let milk, dog;
  await show('add milk', async () => { milk = await api.create(userId, { title: 'Buy milk', description: '2 litres' }); return milk.title; });
  await show('add dog', async () => { dog = await api.create(userId, { title: 'Walk the dog' }); return dog.title; });
  await show('all', async () => titles(await api.list(userId)).sort());
  await show('tick milk', async () => { const r = await api.toggle(userId, milk.id); return r.message + ': ' + r.task.completed; });
  for (const filter of ['open', 'done', 'active', 'todo', 'incomplete', 'complete', 'pending', 'completed', 'all']) {
    await show('filter ' + filter, async () => titles(await api.list(userId, filter)).sort());
  }
  await show('open milk', async () => { const t = await api.get(userId, milk.id); return [t.title, t.description, t.completed, typeof t.id]; });
  await show('rename dog', async () => (await api.update(userId, dog.id, { title: 'Walk the dog twice' })).title);
  await show('untick milk', async () => { const r = await api.toggle(userId, milk.id); return r.message + ': ' + r.task.completed; });
  await show('delete dog', () => api.remove(userId, dog.id));
  await show('open dog', () => api.get(userId, dog.id));
  await show("someone else's list", () => api.list(otherUserId));
  current = 'not-a-token';
  await show('signed out', () => api.list(userId));
  return screen;
}
`;

/** What the same session shows on the original backend (reference-fastapi's README), where it differs. */
const ON_THE_ORIGINAL: Record<string, unknown> = {
  // The original only knew status=pending|completed and ignored `filter`: every filter listed all.
  'filter open': ['Buy milk [x]', 'Walk the dog [ ]'],
  "someone else's list": 'Access denied',
  'signed out': 'Invalid token',
};

function expectScreen(screen: Array<Record<string, unknown>>): void {
  const byStep = Object.fromEntries(screen.map((s) => [s.step, s]));
  const shows = (step: string) => (byStep[step] as { shows: unknown } | undefined)?.shows;
  expect(screen.filter((s) => s.ok === false).map((s) => s.step)).toEqual(['open dog', "someone else's list", 'signed out']);
  expect(shows('add milk')).toBe('Buy milk');
  expect(shows('all')).toEqual(['Buy milk [ ]', 'Walk the dog [ ]']);
  expect(shows('tick milk')).toBe('Task marked as completed: true');
  for (const f of ['open', 'active', 'todo', 'incomplete', 'pending']) expect(shows(`filter ${f}`), f).toEqual(['Walk the dog [ ]']);
  for (const f of ['done', 'complete', 'completed']) expect(shows(`filter ${f}`), f).toEqual(['Buy milk [x]']);
  expect(shows('filter all')).toEqual(['Buy milk [x]', 'Walk the dog [ ]']);
  expect(shows('open milk')).toEqual(['Buy milk', '2 litres', true, 'number']);
  expect(shows('rename dog')).toBe('Walk the dog twice');
  expect(shows('untick milk')).toBe('Task marked as pending: false');
  expect(shows('delete dog')).toBe('Task deleted successfully');
  // Errors: the frontend shows `detail`, never its fallback; the same words as the original for a 404.
  expect(byStep['open dog']).toEqual({ step: 'open dog', ok: false, status: 404, shows: 'Task not found', error: 'Task not found' });
  for (const step of ["someone else's list", 'signed out']) {
    const s = byStep[step] as { status: number; shows: string; error: string };
    expect(s.shows, step).not.toBe('Request failed');
    expect(s.shows, step).toBe(s.error);
  }
  expect((byStep["someone else's list"] as { status: number }).status).toBe(403);
  expect((byStep['signed out'] as { status: number }).status).toBe(401);
  expect(Object.keys(ON_THE_ORIGINAL).every((k) => k in byStep)).toBe(true);
}

const loadFrontend = () =>
  import(`data:text/javascript;base64,${Buffer.from(FRONTEND).toString('base64')}`) as Promise<{
    session(o: { apiUrl: string; token: string; userId: string; otherUserId: string; fetchImpl?: typeof fetch }): Promise<Array<Record<string, unknown>>>;
  }>;

describe.each(drivers)('a frontend written for the FastAPI backend, unchanged [%s]', (driver) => {
  let t: TestApp;
  let url: string;
  beforeAll(async () => {
    t = await buildTestApp(driver);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => t?.close());

  it('works: detail in errors, Content-Type on bodiless PATCH and DELETE, filter= with the UI words, data as the task or the list', async () => {
    const userId = uniqueUser('compat');
    const { session } = await loadFrontend();
    const screen = await session({ apiUrl: url, token: await signToken(userId), userId, otherUserId: uniqueUser('other') });
    expectScreen(screen);
  });
});

describe.runIf(!hasChromium && requireBrowser)('the FastAPI frontend in Chromium (REQUIRE_BROWSER=1)', () => {
  it('needs Chromium', () => {
    throw new Error(`${CHROMIUM} not found: apt-get install -y chromium`);
  });
});

describe.skipIf(!hasChromium)('the FastAPI frontend in Chromium, from the allowed origin, with credentials', () => {
  let api: RunningApi | undefined;
  let page: http.Server | undefined;
  let browser: Browser | undefined;
  let origin = '';
  const html = `<!doctype html><meta charset="utf-8"><title>todo</title><pre id="screen"></pre>
<script type="module">
${FRONTEND}
const q = new URLSearchParams(location.hash.slice(1));
session({ apiUrl: q.get('api'), token: q.get('token'), userId: q.get('user'), otherUserId: q.get('other') }).then(
  (screen) => { document.getElementById('screen').textContent = JSON.stringify(screen); document.body.dataset.done = 'ok'; },
  (err) => { document.getElementById('screen').textContent = String(err); document.body.dataset.done = 'failed'; },
);
</script>`;

  beforeAll(async () => {
    page = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    });
    await new Promise<void>((resolve) => page!.listen(0, '127.0.0.1', resolve));
    origin = `http://localhost:${(page.address() as AddressInfo).port}`;
    api = await startApi({ corsOrigins: [origin], betterAuthUrl: origin });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS, timeout: 20_000 });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    page?.closeAllConnections();
    await new Promise<void>((resolve) => (page ? page.close(() => resolve()) : resolve()));
  });

  it('shows the same screens as in Node; every request was preflighted and carried Content-Type and credentials', async () => {
    if (!browser || !api) throw new Error('setup failed');
    const userId = uniqueUser('compat');
    const tab = await browser.newPage();
    const sent: Array<{ method: string; contentType: string | undefined }> = [];
    tab.on('request', (r) => {
      if (r.url().startsWith(api!.url)) sent.push({ method: r.method(), contentType: r.headers()['content-type'] });
    });
    const allowCredentials: Array<string | undefined> = [];
    tab.on('response', (r) => {
      if (r.url().startsWith(api!.url) && r.request().method() !== 'OPTIONS') allowCredentials.push(r.headers()['access-control-allow-credentials']);
    });
    const cdp = await tab.context().newCDPSession(tab);
    const preflights: string[] = [];
    cdp.on('Network.requestWillBeSent', (e) => {
      if (e.request.method === 'OPTIONS' && e.request.url.startsWith(api!.url)) preflights.push(e.request.url);
    });
    await cdp.send('Network.enable');
    const hash = new URLSearchParams({ api: api.url, token: await signToken(userId), user: userId, other: uniqueUser('other') });
    await tab.goto(`${origin}/#${hash}`);
    await tab.locator('body[data-done]').waitFor({ timeout: 15_000 });
    const text = (await tab.locator('#screen').textContent()) ?? '';
    expect(await tab.locator('body').getAttribute('data-done'), text).toBe('ok');
    expectScreen(JSON.parse(text) as Array<Record<string, unknown>>);
    const methods = sent.map((s) => s.method);
    expect(methods).toContain('PATCH');
    expect(methods).toContain('DELETE');
    expect(sent.every((s) => s.contentType === 'application/json'), JSON.stringify(sent)).toBe(true);
    expect(preflights.length).toBeGreaterThan(0);
    // credentials: 'include' is only honoured with Access-Control-Allow-Credentials: true.
    expect(allowCredentials.length).toBe(sent.filter((r) => r.method !== 'OPTIONS').length);
    expect(new Set(allowCredentials)).toEqual(new Set(['true']));
    await tab.close();
  }, 30_000);
});

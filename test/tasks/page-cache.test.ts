/**
 * The per-process cache of serialized lists (src/tasks/list-cache.ts): an answer given again is
 * byte for byte the answer the list query gives, headers included, and it is never stale: a change
 * through another instance (another process, with no way to tell this one) shows on the next list.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PageCache } from '../../src/tasks/page-cache.js';
import { drivers } from '../helpers/databases.js';
import { api } from '../helpers/api.js';
import { anotherInstance, buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';

describe.each(drivers)('the list cache [%s]', (driver) => {
  let cached: TestApp;
  let other: TestApp;
  let uncached: TestApp;
  beforeAll(async () => {
    cached = await buildTestApp(driver);
    other = await anotherInstance(cached);
    uncached = await anotherInstance(cached, { pageCacheBytes: 0 });
  });
  afterAll(async () => {
    await uncached?.close();
    await other?.close();
    await cached?.close();
  });

  async function as(user = uniqueUser()) {
    return { cached: await api(cached.app, user), other: await api(other.app, user), uncached: await api(uncached.app, user) };
  }
  const answer = (res: LightMyRequestResponse) => ({
    status: res.statusCode,
    body: res.body,
    type: res.headers['content-type'],
    etag: res.headers.etag,
    link: res.headers.link,
  });

  it('a list given again is the answer the query gives: same bytes, type, ETag and Link, for whole lists and pages', async () => {
    const api = await as();
    for (let i = 1; i <= 5; i++) expect((await api.cached.create({ title: `Task ${i}` })).statusCode).toBe(201);
    for (const url of ['', '?limit=2', '?status=pending&sort=title&limit=3', '?q=task%203']) {
      const first = answer(await api.cached.list(url));
      const again = answer(await api.cached.list(url));
      const fromQuery = answer(await api.uncached.list(url));
      expect(first.status, url).toBe(200);
      expect(again, url).toEqual(first);
      expect(fromQuery, url).toEqual(first);
    }
    const page = answer(await api.cached.list('?limit=2'));
    expect(page.link).toMatch(/^<\/api\/[^>]+\/tasks\?limit=2&cursor=[\w-]+>; rel="next"$/);
    expect(JSON.parse(page.body).data.map((t: { title: string }) => t.title)).toEqual(['Task 5', 'Task 4']);
  });

  it('never stale: a create, an edit and a delete through another instance show on the next list here', async () => {
    const api = await as();
    const id = (await api.cached.create({ title: 'First' })).json().data.id as number;
    const titles = async () => (await api.cached.list()).json().data.map((t: { title: string }) => t.title);
    expect(await titles()).toEqual(['First']);
    expect(await titles()).toEqual(['First']); // now cached
    expect((await api.other.create({ title: 'Second' })).statusCode).toBe(201);
    expect(await titles()).toEqual(['Second', 'First']);
    expect((await api.other.put(id, { title: 'First, edited' })).statusCode).toBe(200);
    expect(await titles()).toEqual(['Second', 'First, edited']);
    expect((await api.other.del(id)).statusCode).toBe(200);
    expect(await titles()).toEqual(['Second']);
  });

  it('each user has answers of their own: the same query of two users never shares one', async () => {
    const alice = await as();
    const bob = await as();
    await alice.cached.create({ title: 'Alice only' });
    expect((await alice.cached.list()).json().data).toHaveLength(1);
    expect((await bob.cached.list()).json().data).toEqual([]);
    expect((await alice.cached.list()).json().data).toHaveLength(1);
  });

  it('a poll with the ETag of a cached answer is a 304; after a change elsewhere, a 200 with the new list', async () => {
    const api = await as();
    await api.cached.create({ title: 'One' });
    const first = await api.cached.list();
    const etag = first.headers.etag as string;
    expect((await api.cached.list(undefined, { 'if-none-match': etag })).statusCode).toBe(304);
    await api.other.create({ title: 'Two' });
    const after = await api.cached.list(undefined, { 'if-none-match': etag });
    expect(after.statusCode).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
    expect(after.json().data.map((t: { title: string }) => t.title)).toEqual(['Two', 'One']);
  });
});

describe('PageCache bounds', () => {
  const entry = (seq: number, chars: number) => ({ seq, body: 'x'.repeat(chars), link: undefined });

  it('keeps at most its bytes, dropping the least recently used first, and never one list of more than an eighth of them', () => {
    const cache = new PageCache(100_000);
    for (let i = 0; i < 20; i++) cache.set(`/api/u/tasks?i=${i}`, entry(1, 4000));
    expect(cache.stats().bytes).toBeLessThanOrEqual(100_000);
    expect(cache.get('/api/u/tasks?i=0', 1)).toBeUndefined(); // the oldest went first
    expect(cache.get('/api/u/tasks?i=19', 1)?.body).toHaveLength(4000);
    cache.set('/api/u/tasks?big', entry(1, 7000)); // 14 kB of 100 kB: more than an eighth
    expect(cache.get('/api/u/tasks?big', 1)).toBeUndefined();
  });

  it('gives an answer only for the counter it was made at, and forgets it on the first miss', () => {
    const cache = new PageCache(100_000);
    cache.set('/api/u/tasks', entry(7, 10));
    expect(cache.get('/api/u/tasks', 8)).toBeUndefined();
    expect(cache.get('/api/u/tasks', 7)).toBeUndefined();
    expect(cache.stats()).toEqual({ entries: 0, bytes: 0, maxBytes: 100_000 });
  });

  it('is off at 0 bytes', () => {
    expect(new PageCache(0).enabled).toBe(false);
  });
});

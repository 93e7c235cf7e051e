/**
 * The test client (test/helpers/api.ts) answers alike in process and over HTTP: the same status,
 * body and headers for the same calls, bodiless answers (304, 401) included, so a test may move
 * from one to the other without changing an assertion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, publicApi, type ApiReply } from '../helpers/api.js';
import { buildTestApp, listen, uniqueUser, type TestApp } from '../helpers/app.js';
import { drivers } from '../helpers/databases.js';

describe.each(drivers)('the test client, in process and over HTTP [%s]', (driver) => {
  let t: TestApp;
  let url: string;
  beforeAll(async () => {
    t = await buildTestApp(driver);
    url = await listen(t.app);
  });
  afterAll(async () => t?.close());

  /** What tests assert on, without what differs by transport (request ids, dates, connection). */
  const seen = (r: ApiReply) => ({
    status: r.statusCode,
    body: r.body,
    type: r.headers['content-type'],
    etag: r.headers.etag,
    link: r.headers.link,
    replayed: r.headers['idempotent-replayed'],
    challenge: r.headers['www-authenticate'],
  });

  it('gives the same answers to the same calls', async () => {
    const [inProcess, overHttp] = [await api(t.app, uniqueUser()), await api(url, uniqueUser())];
    const run = async (as: typeof inProcess | typeof overHttp) => {
      const answers: ApiReply[] = [];
      const created = await as.create({ title: 'Same', tags: ['x'] }, { 'idempotency-key': 'k1' });
      answers.push(created, await as.create({ title: 'Same', tags: ['x'] }, { 'idempotency-key': 'k1' }));
      const id = created.json().data.id as number;
      const list = await as.list({ limit: 1 });
      answers.push(list, await as.list('?limit=1', { 'if-none-match': list.headers.etag as string }));
      answers.push(await as.get(id), await as.put(id, { title: 'Changed' }, { 'if-match': '"7"' }));
      answers.push(await as.complete(id), await as.tags(), await as.del(id), await as.get(id));
      return answers.map((a) => {
        const s = seen(a);
        // The two users' ids, task ids and times differ; the rest must not.
        return { ...s, body: s.body.replace(/"(id|user_id|list_id|uid|created_at|updated_at|completed_at)":("[^"]*"|\d+)/g, '"$1":_'), etag: s.etag === undefined ? undefined : 'etag', link: s.link === undefined ? undefined : 'link' };
      });
    };
    const here = await run(inProcess);
    expect(here.map((a) => a.status)).toEqual([201, 201, 200, 304, 200, 412, 200, 200, 200, 404]);
    expect(await run(overHttp)).toEqual(here);

    const anonymous = [await api(t.app, 'alice', { token: null }), await api(url, 'alice', { token: null })];
    const refused = await Promise.all(anonymous.map(async (as) => seen(await as.list())));
    expect(refused[1]).toEqual(refused[0]);
    expect(refused[0]?.status).toBe(401);
    expect((await publicApi(url).health()).json()).toEqual((await publicApi(t.app).health()).json());
  });
});

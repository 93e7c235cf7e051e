/**
 * Well-formed calls go through the test client (test/helpers/api.ts). Raw inject, at the paths of
 * `routes`, for what a typed client cannot send: malformed or mistyped bodies, raw bytes, a URL
 * that does not decode, unknown routes, and methods a route does not have (405).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, publicApi, routes, type Api } from '../helpers/api.js';
import { authHeader, buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';
import { ApiError } from '../../src/errors.js';

describe.each(drivers)('bad input answers in the contract format and writes nothing [%s]', (driver) => {
  let t: TestApp;
  let user: string;
  let headers: Record<string, string>;
  let base: string;
  let as: Api;
  let taskId: number;

  beforeAll(async () => {
    t = await buildTestApp(driver);
    user = uniqueUser();
    headers = await authHeader(user);
    base = routes.tasks(user);
    as = await api(t.app, user);
    taskId = (await as.create({ title: 'original' })).json().data.id;
  });
  afterAll(async () => t?.close());

  /** The user's tasks are exactly the one made in beforeAll, unchanged. */
  async function expectUnchanged() {
    const list = (await as.list()).json().data;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: taskId, title: 'original', description: null, completed: false });
  }

  const post = (payload: string, contentType = 'application/json') =>
    t.app.inject({ method: 'POST', url: base, headers: { ...headers, 'content-type': contentType }, payload });
  const put = (payload: string) =>
    t.app.inject({ method: 'PUT', url: routes.task(user, taskId), headers: { ...headers, 'content-type': 'application/json' }, payload });

  it.each([
    ['malformed JSON', '{"title":', 'Request body is not valid JSON'],
    ['no body', '', 'body must be a JSON object'],
    ['a JSON array', '[{"title":"x"}]', 'body must be a JSON object'],
    ['a JSON string', '"title"', 'body must be a JSON object'],
    ['missing title', '{}', 'title is required'],
    ['title null', '{"title":null}', 'title must be a string'],
    ['title a number', '{"title":123}', 'title must be a string'],
    ['blank title', '{"title":"   "}', 'title must not be empty'],
    ['empty title', '{"title":""}', 'title must not be empty'],
    ['201-character title', JSON.stringify({ title: 'x'.repeat(201) }), 'title must be at most 200 characters'],
    ['1001-character description', JSON.stringify({ title: 'x', description: 'd'.repeat(1001) }), 'description must be at most 1000 characters'],
    ['description a number', '{"title":"x","description":5}', 'description must be a string'],
    ['a NUL in the title', '{"title":"a\\u0000b"}', 'title must be text without NUL or unpaired surrogate characters'],
    ['an unpaired surrogate in the description', '{"title":"x","description":"\\ud800"}', 'description must be text without NUL or unpaired surrogate characters'],
  ])('POST with %s: 400 VALIDATION_ERROR', async (_name, payload, message) => {
    expectError(await post(payload), 400, 'VALIDATION_ERROR', message);
    await expectUnchanged();
  });

  it.each([
    ['completed "yes"', '{"completed":"yes"}', 'completed must be a boolean'],
    ['completed 1', '{"completed":1}', 'completed must be a boolean'],
    ['completed null', '{"completed":null}', 'completed must be a boolean'],
    ['title null', '{"title":null}', 'title must be a string'],
    ['blank title', '{"title":" "}', 'title must not be empty'],
    ['201-character title', JSON.stringify({ title: 'y'.repeat(201) }), 'title must be at most 200 characters'],
    ['malformed JSON', '{"completed":tru}', 'Request body is not valid JSON'],
  ])('PUT with %s: 400 VALIDATION_ERROR', async (_name, payload, message) => {
    expectError(await put(payload), 400, 'VALIDATION_ERROR', message);
    await expectUnchanged();
  });

  it('a body that is not JSON: 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    expectError(await post('title=x', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await post('title', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectUnchanged();
  });

  const postBytes = (payload: Buffer, contentType = 'application/json') =>
    t.app.inject({ method: 'POST', url: base, headers: { ...headers, 'content-type': contentType }, payload });

  it.each([
    ['a Latin-1 é', Buffer.from('{"title":"caf\xe9"}', 'latin1')],
    ['a lone continuation byte', Buffer.concat([Buffer.from('{"title":"a'), Buffer.from([0x80]), Buffer.from('b"}')])],
    ['a truncated 3-byte sequence', Buffer.concat([Buffer.from('{"title":"a'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')])],
    ['an overlong encoding of /', Buffer.concat([Buffer.from('{"title":"a'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])],
    ['an encoded surrogate (CESU-8)', Buffer.concat([Buffer.from('{"title":"a'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])],
    ['0xFF', Buffer.concat([Buffer.from('{"title":"a'), Buffer.from([0xff]), Buffer.from('"}')])],
  ])('a body with %s (invalid UTF-8): 400, never stored as U+FFFD', async (_name, payload) => {
    expectError(await postBytes(payload), 400, 'VALIDATION_ERROR', 'Request body is not valid UTF-8');
    expectError(await t.app.inject({ method: 'PUT', url: routes.task(user, taskId), headers: { ...headers, 'content-type': 'application/json' }, payload }), 400, 'VALIDATION_ERROR', 'Request body is not valid UTF-8');
    await expectUnchanged();
  });

  it('a charset other than UTF-8: 415; charset=utf-8 in any spelling is fine', async () => {
    for (const type of ['application/json; charset=latin1', 'application/json;charset=ISO-8859-1', 'application/json; charset="utf-16"', 'application/json; charset=windows-1252']) {
      expectError(await postBytes(Buffer.from('{"title":"x"}'), type), 415, 'UNSUPPORTED_MEDIA_TYPE', 'Request body must be JSON in UTF-8 (Content-Type: application/json; charset=utf-8)');
    }
    await expectUnchanged();
    for (const type of ['application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/json; charset="utf-8"', 'application/json; charset=utf8']) {
      const res = await postBytes(Buffer.from('{"title":"café ☕ 𝄞"}'), type);
      expect(res.statusCode, type).toBe(201);
      expect(res.json().data.title).toBe('café ☕ 𝄞');
      await as.del(res.json().data.id);
    }
    await expectUnchanged();
  });

  it('a body over 64 KiB: 413 PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ title: 'x', description: 'd'.repeat(70 * 1024) });
    expectError(await post(big), 413, 'PAYLOAD_TOO_LARGE', 'Request body is too large');
    await expectUnchanged();
  });

  it.each(['abc', '0', '-1', '99999999999999999999', '2147483648', '1.5', '1e3x'])(
    'task id %s: 400 naming the id, on every id route',
    async (id) => {
      for (const call of [() => as.get(id), () => as.put(id, { title: 'x' }), () => as.del(id), () => as.complete(id)]) {
        const res = await call();
        expectError(res, 400, 'VALIDATION_ERROR', 'id must be a positive integer no larger than 2147483647');
      }
      await expectUnchanged();
    },
  );

  it('a URL that does not decode, or a path segment over the limit: 400 in the contract format', async () => {
    expectError(await t.app.inject({ method: 'GET', url: '/api/%ff/tasks', headers }), 400, 'VALIDATION_ERROR', 'The URL is not valid');
    const long = await t.app.inject({ method: 'GET', url: routes.tasks('a'.repeat(400)), headers });
    expectError(long, 400, 'VALIDATION_ERROR', 'A path segment is too long');
    expect(long.body).not.toContain('aaaa');
  });

  it('an unknown route: 404 NOT_FOUND', async () => {
    expectError(await t.app.inject({ method: 'GET', url: '/nope' }), 404, 'NOT_FOUND', 'Route GET /nope not found');
    expectError(await t.app.inject({ method: 'GET', url: `/api/${user}/other`, headers }), 404, 'NOT_FOUND');
    expectError(await t.app.inject({ method: 'GET', url: `${routes.task(user, 1)}/2/3`, headers }), 404, 'NOT_FOUND');
  });

  it.each([
    ['DELETE', routes.tasks('u'), 'GET, HEAD, POST'],
    ['PUT', routes.tasks('u'), 'GET, HEAD, POST'],
    ['POST', routes.task('u', 1), 'GET, HEAD, PUT, DELETE'],
    ['PATCH', routes.task('u', 1), 'GET, HEAD, PUT, DELETE'],
    ['GET', routes.complete('u', 1), 'PATCH'],
    ['POST', routes.health, 'GET, HEAD'],
    ['DELETE', routes.ready, 'GET, HEAD'],
  ] as const)('%s %s: 405 with Allow: %s', async (method, url, allow) => {
    const res = await t.app.inject({ method, url });
    expectError(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toBe(allow);
    await expectUnchanged();
  });
});

describe('unexpected errors', () => {
  it('a fault is 500 INTERNAL_ERROR with no stack, SQL or secret in the body', async () => {
    const t = await buildTestApp('embedded', {}, {
      verifier: {
        cached: () => undefined,
        verify: async () => {
          throw new Error('select * from secret_table where password = hunter2');
        },
        close: async () => {},
      },
    });
    try {
      const res = await (await api(t.app, 'u', { token: 'x' })).list();
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: 'Internal server error', code: 'INTERNAL_ERROR', detail: 'Internal server error' });
      expect(res.body).not.toMatch(/secret|hunter2|select|at /);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await t.close();
    }
  });

  it('an unreachable database is 503 SERVICE_UNAVAILABLE and /ready says so', async () => {
    const t = await buildTestApp('embedded');
    const as = await api(t.app, 'u');
    await t.database.close();
    expectError(await as.list(), 503, 'SERVICE_UNAVAILABLE');
    expectError(await publicApi(t.app).ready(), 503, 'SERVICE_UNAVAILABLE');
    expect(await publicApi(t.app).health().then((r) => r.json())).toEqual({ status: 'healthy' });
    await t.app.close();
  });

  it('ApiError carries its status', () => {
    expect(new ApiError('RATE_LIMITED', 'x').statusCode).toBe(429);
  });
});

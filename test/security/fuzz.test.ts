/**
 * Hostile input, generated: thousands of requests with random paths (encoded bytes, traversal,
 * very long segments, other users' ids), methods, headers (content types, malformed and forged
 * tokens: expired, alg none, wrong secret, tampered), and bodies (random JSON, Unicode, near the
 * size limit, deeply nested, not JSON). On every answer:
 *   - never a 5xx;
 *   - every error is exactly {error, code}, the code one of the contract's, with its status;
 *   - 401 carries WWW-Authenticate, 405 carries Allow, a redirect never leaves the site;
 *   - no user's rows reach anyone else (each user's seeded titles carry a marker);
 *   - a bad token never gets a 2xx from /api;
 *   - reads agree with a model built from the 2xx answers alone;
 * and after the run the database holds exactly what the 2xx answers said.
 *
 * Reproduce a failure with FUZZ_SEED=<seed> (printed on failure); FUZZ_RUNS sets runs per driver.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { buildTestApp, signToken, TEST_SECRET, type TestApp } from '../helpers/app.js';
import { contractErrorProblem, startStubAuthServer } from '../faults/support.js';
import type { TaskJson } from '../helpers/task-json.js';

/** What the model compares: the stored fields, not the change timestamps. */
type Task = Omit<TaskJson, 'created_at' | 'updated_at' | 'completed_at'> & { completed_at: boolean };

const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** Wall-clock bound per driver; fast-check stops generating after it. */
const TIME_LIMIT_MS = 20_000;
const BODY_LIMIT = 64 * 1024;


interface Identity {
  name: string;
  sub: string;
  token: string;
  marker: string | undefined;
}

interface AuthChoice {
  label: string;
  header: string | undefined;
  /** Whether this header must be refused (null), is a valid one, or may be either ('maybe'). */
  as: string | null | 'maybe';
  /** The only user whose data this header may ever see. */
  owner: Identity | undefined;
}

interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
  auth: AuthChoice;
}

const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

/**
 * Instants at both ends of the range the API takes (0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z
 * in UTC, offsets up to ±15:59) and just beyond (API.md, "The task, grown"): the ones beyond, or
 * with a leap second, are never taken.
 */
const INSTANTS_AT_THE_ENDS = [
  '0001-01-01T00:00:00Z',
  '0001-01-01T15:59:00+15:59',
  '0000-12-31T23:59:00-00:01',
  '9999-12-31T23:59:59.999Z',
  '9999-12-31T08:00:59.999-15:59',
  '2026-06-30T12:00:00+15:59',
  '2026-06-30T12:00:00-15:59',
];
const INSTANTS_BEYOND = [
  '0000-12-31T23:59:59.999Z',
  '0001-01-01T00:30:00+01:00',
  '9999-12-31T23:59:59.9991Z',
  '9999-12-31T23:30:00-01:00',
  '10000-01-01T00:00:00Z',
  '2026-06-30T12:00:00+16:00',
  '2026-06-30T12:00:00-16:00',
  '2026-12-31T23:59:60Z',
  '2026-06-30T23:59:60Z',
];

/** Percent-encodes what a real client could not put raw on the wire (non-ASCII, space, controls), keeping '%' as is. */
function toWire(path: string): string {
  let out = '';
  for (const ch of path) {
    const c = ch.codePointAt(0) as number;
    out += c > 0x20 && c < 0x7f && ch !== '#' ? ch : encodeURIComponent(ch).replace(/%25/g, '%');
  }
  return out;
}

/** Header values a real HTTP parser would deliver: tab, visible ASCII, space, obs-text. */
const headerValue = (maxLength: number) =>
  fc
    .array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constant(0x09), fc.integer({ min: 0x80, max: 0xff })), { maxLength })
    .map((codes) => String.fromCharCode(...codes).trim());

function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

describe.each(drivers)('fuzzed requests [%s]', (driver) => {
  let t: TestApp;
  let auth: Awaited<ReturnType<typeof startStubAuthServer>> | undefined;
  const model = new Map<number, Task>();
  const users: Identity[] = [];
  const stamp = `${process.pid}${Date.now().toString(36)}`;

  beforeAll(async () => {
    // Better Auth is up (and knows none of the fuzzed tokens): unverifiable tokens are 401, not 503.
    auth = await startStubAuthServer();
    t = await buildTestApp(driver, {
      betterAuthUrl: auth.url,
      jwksUrl: `${auth.url}/api/auth/jwks`,
      jwtIssuer: auth.url,
      jwtAudience: auth.url,
    });
    const subs: [string, string, boolean][] = [
      ['A', `fa_${stamp}`, true],
      ['B', `fb_${stamp}`, true],
      ['C', `c ü/%41?#${stamp}`, true], // URL-unsafe characters: must round-trip through encoding
      ['Long', `l${'x'.repeat(299)}`, false], // longer than the path's 255 limit
      ['Dots', '..', false],
      ['Unicode', `日本語-🙂-${stamp}`, false],
      ['Nul', `n\u0000${stamp}`, false], // a NUL byte, which PostgreSQL text cannot hold
    ];
    for (const [name, sub, seeded] of subs) {
      const marker = seeded ? `MK${randomBytes(6).toString('hex')}` : undefined;
      users.push({ name, sub, token: await signToken(sub), marker });
    }
    // Seed: A, B and C each own a few tasks whose titles carry their marker.
    for (const u of users.filter((x) => x.marker !== undefined)) {
      for (let i = 0; i < 3; i++) {
        const res = await t.app.inject({
          method: 'POST',
          url: `/api/${encodeURIComponent(u.sub)}/tasks`,
          headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json' },
          payload: JSON.stringify({ title: `${u.marker} seed ${i}`, description: i === 0 ? null : `${u.marker} secret ${i}` }),
        });
        expect(res.statusCode, res.body).toBe(201);
        const d = res.json().data as Task;
        model.set(d.id, pick(d));
      }
    }
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await auth?.close();
  });

  /** The stored fields of an answer's task (completed_at as "is set": its instant is the server's). */
  function pick(d: TaskJson | Task): Task {
    return {
      id: d.id,
      user_id: d.user_id,
      title: d.title,
      description: d.description,
      completed: d.completed,
      priority: d.priority,
      tags: d.tags,
      due_at: d.due_at,
      completed_at: typeof d.completed_at === 'boolean' ? d.completed_at : d.completed_at !== null,
      version: d.version,
    };
  }

  it('never a 5xx, always the contract, never another user\'s data, and the database matches the answers', async () => {
    const [A, B, C] = users as [Identity, Identity, Identity];
    const now = Math.floor(Date.now() / 1000);
    const header = (alg: string) => b64url(JSON.stringify({ alg, typ: 'JWT' }));
    const payload = (sub: string, extra: object = {}) => b64url(JSON.stringify({ sub, iat: now, exp: now + 3600, ...extra }));
    const [aSig] = A.token.split('.').slice(2);
    const auths: AuthChoice[] = [
      { label: 'none', header: undefined, as: null, owner: undefined },
      ...users.map((u) => ({ label: `valid ${u.name}`, header: `Bearer ${u.token}`, as: u.sub, owner: u })),
      ...users.slice(0, 3).map((u) => ({ label: `valid ${u.name}`, header: `Bearer ${u.token}`, as: u.sub, owner: u })), // weight A, B, C up
      { label: 'lowercase scheme A', header: `bearer ${A.token}`, as: 'maybe', owner: A },
      { label: 'spaced A', header: `Bearer    ${A.token}   `, as: 'maybe', owner: A },
      { label: 'HS512 B', header: `Bearer ${await signToken(B.sub, { alg: 'HS512' })}`, as: 'maybe', owner: B },
      { label: 'expired A', header: `Bearer ${await signToken(A.sub, { expiresIn: -120 })}`, as: null, owner: undefined },
      { label: 'wrong secret A', header: `Bearer ${await signToken(A.sub, { secret: 'another-secret-another-secret-0123456789' })}`, as: null, owner: undefined },
      { label: 'no sub', header: `Bearer ${await signToken(A.sub, { noSub: true })}`, as: null, owner: undefined },
      { label: 'alg none A', header: `Bearer ${header('none')}.${payload(A.sub)}.`, as: null, owner: undefined },
      { label: 'alg none B, no dot', header: `Bearer ${header('none')}.${payload(B.sub)}`, as: null, owner: undefined },
      { label: 'tampered sub (A signature, B payload)', header: `Bearer ${header('HS256')}.${payload(B.sub)}.${aSig}`, as: null, owner: undefined },
      { label: 'RS256 header on HMAC', header: `Bearer ${header('RS256')}.${payload(A.sub)}.${aSig}`, as: null, owner: undefined },
      { label: 'two tokens', header: `Bearer ${A.token},Bearer ${B.token}`, as: null, owner: undefined },
      { label: 'two tokens spaced', header: `Bearer ${A.token} ${B.token}`, as: null, owner: undefined },
      { label: 'Basic', header: `Basic ${b64url(`${A.sub}:password`)}`, as: null, owner: undefined },
      { label: 'Bearer only', header: 'Bearer', as: null, owner: undefined },
      { label: 'Bearer space', header: 'Bearer ', as: null, owner: undefined },
      { label: 'garbage', header: 'Bearer !!!.???.###', as: null, owner: undefined },
      { label: 'jwt of nulls', header: `Bearer ${b64url('null')}.${b64url('null')}.${b64url('null')}`, as: null, owner: undefined },
      { label: 'huge', header: `Bearer ${'a'.repeat(8000)}.${'b'.repeat(8000)}.c`, as: null, owner: undefined },
      { label: 'secret as token', header: `Bearer ${TEST_SECRET}`, as: null, owner: undefined },
    ];
    const authArb = fc.oneof(
      { weight: 7, arbitrary: fc.constantFrom(...auths) },
      {
        weight: 1,
        arbitrary: headerValue(120).map((v): AuthChoice => ({ label: 'random', header: v, as: null, owner: undefined })),
      },
    );

    const junkSegment = fc.oneof(
      fc.constantFrom('', '.', '..', '%2e%2e', '%2E%2E%2F', '..%2f..%2f', '%00', '%ff', '%c0%ae', '%', '%zz', '%u002e', '~', ';', ';x=1', '*', 'tasks', 'complete', '\\..\\', '%5c..%5c', 'null', 'undefined', '__proto__', 'constructor', 'prototype', 'NaN', 'Infinity'),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
      fc.string({ maxLength: 12, unit: 'grapheme' }),
      fc.string({ maxLength: 12, unit: 'binary' }).map(encodeURIComponent),
      fc.integer({ min: 250, max: 1200 }).map((n) => 'z'.repeat(n)),
    );
    const userSeg = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...users).map((u) => encodeURIComponent(u.sub)) },
      { weight: 1, arbitrary: fc.constantFrom(...users).map((u) => u.sub) }, // raw: '/', '?', '#', '%' unencoded
      { weight: 1, arbitrary: fc.constantFrom(...users).map((u) => encodeURIComponent(u.sub).toUpperCase()) },
      { weight: 2, arbitrary: junkSegment },
    );
    const idSeg = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1, max: 40 }).map(String) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 400 }).map(String) },
      {
        weight: 2,
        arbitrary: fc.constantFrom('0', '-1', '-0', '2147483647', '2147483648', '4294967297', '9007199254740993', '1e3', '1e400', '0x10', '0b1', '01', '%201', '1%20', '1.0', '1.5', '+1', '١', '%31', '1;', "1'", "1' OR '1'='1", '1 OR 1=1', '1)--', 'NaN', 'Infinity', 'true', '[1]', '{"id":1}'),
      },
      { weight: 1, arbitrary: fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String) },
      { weight: 2, arbitrary: junkSegment },
    );
    const query = fc.oneof(
      { weight: 10, arbitrary: fc.constant('') },
      { weight: 2, arbitrary: fc.constantFrom('all', 'pending', 'completed', 'ALL', '', 'bogus', '%00', 'completed%00').map((s) => `?status=${s}`) },
      { weight: 1, arbitrary: fc.constantFrom('pending', 'completed', 'x', 'done', 'todo').map((s) => `?filter=${s}`) },
      {
        weight: 3,
        arbitrary: fc
          .tuple(
            fc.constantFrom('q', 'priority', 'tag', 'due_before', 'due_after', 'sort', 'limit', 'cursor'),
            fc.oneof(
              fc.constantFrom('', '%', '_', '\\', '%25', 'high,low', 'high,,low', 'HIGH', '-title', 'title', '--title', '0', '201', '-1', '1e2', '0x10', '2026-12-24', '2026-12-24T17:00:00Z', '2026-12-24T17:00:00%2B01:00', 'WyJ4IiwxLDFd', 'null', '%00', '%ff', 'a'.repeat(300)),
              fc.string({ maxLength: 20 }).map(encodeURIComponent),
              fc.constantFrom(...INSTANTS_AT_THE_ENDS, ...INSTANTS_BEYOND).map(encodeURIComponent),
            ),
          )
          .map(([k, v]) => `?${k}=${v}`),
      },
      { weight: 1, arbitrary: fc.constantFrom('?tag=a&tag=b&tag=A', '?limit=2&cursor=abc', '?sort=due_at&limit=1', '?priority=high&priority=low', '?q=a&q=b') },
      {
        weight: 1,
        arbitrary: fc.constantFrom('?status=all&status=pending', '?status[]=all', '?status[x]=1', '?__proto__[completed]=true', '?constructor[prototype][polluted]=1', '?status', '?&&&', '?a=%ff', `?q=${'q'.repeat(3000)}`, '?token=x&access_token=y'),
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s) => `?${encodeURIComponent(s)}=${encodeURIComponent(s)}`) },
    );
    const path = fc.oneof(
      { weight: 5, arbitrary: fc.tuple(userSeg, query).map(([u, q]) => `/api/${u}/tasks${q}`) },
      { weight: 1, arbitrary: fc.tuple(userSeg, query).map(([u, q]) => `/api/${u}/tasks/${q}`) },
      { weight: 6, arbitrary: fc.tuple(userSeg, idSeg).map(([u, id]) => `/api/${u}/tasks/${id}`) },
      { weight: 4, arbitrary: fc.tuple(userSeg, idSeg).map(([u, id]) => `/api/${u}/tasks/${id}/complete`) },
      { weight: 1, arbitrary: fc.tuple(userSeg, idSeg, junkSegment).map(([u, id, j]) => `/api/${u}/tasks/${id}/${j}`) },
      { weight: 1, arbitrary: fc.tuple(userSeg, junkSegment).map(([u, j]) => `/api/${u}/${j}`) },
      { weight: 1, arbitrary: fc.tuple(userSeg).map(([u]) => `/api/${u}/tasks/../../${encodeURIComponent(B.sub)}/tasks`) },
      { weight: 1, arbitrary: fc.tuple(userSeg).map(([u]) => `/api/${encodeURIComponent(A.sub)}/tasks/%2e%2e/%2e%2e/${u}/tasks`) },
      { weight: 1, arbitrary: fc.array(junkSegment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('/', '//', '/api', '/api/', '//api//x//tasks', '/health', '/health/', '/ready', '/openapi.json', '/docs', '/docs/', '/docs/json', '/docs/static/index.html', '/docs/..%2f..%2fpackage.json', '/docs/static/..%2f..%2f..%2fpackage.json', '//evil.example/docs', '/docs//evil.example', '/API/x/TASKS', '/api/%2F/tasks', '/api/%252F/tasks', `/api/${encodeURIComponent(A.sub)}%2Ftasks`, '/%2e%2e/%2e%2e/etc/passwd', '/..;/api'),
      },
    );
    const method = fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE') },
      { weight: 2, arbitrary: fc.constantFrom('HEAD', 'OPTIONS') },
      { weight: 1, arbitrary: fc.constantFrom('TRACE', 'PROPFIND', 'SEARCH', 'MKCOL', 'LOCK', 'COPY', 'MOVE') },
    );
    const contentType = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
      { weight: 2, arbitrary: fc.constant(undefined) },
      {
        weight: 3,
        arbitrary: fc.constantFrom('Application/JSON', 'application/json;charset=UTF-16', 'application/json; charset=latin1', 'text/plain', 'text/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/vnd.api+json', 'application/jsonp', 'application/json, text/plain', '', ';', '*/*', 'application/*', 'application/xml', 'application/json; boundary=--'),
      },
    );

    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ maxLength: 40, unit: 'grapheme' }),
      fc.string({ maxLength: 40, unit: 'binary' }),
      fc.constantFrom('', ' ', '\t\n', '\u0000', '\u200b', '\ufeff', '\ud800', 'a\u0000b', '<script>alert(1)</script>', "'; drop table tasks; --", '${7*7}', '{{7*7}}', '%s%n', '\u202e'),
      fc.integer({ min: 195, max: 205 }).map((n) => '🙂'.repeat(n)),
      fc.integer({ min: 195, max: 205 }).map((n) => 'é'.repeat(n)),
      fc.integer({ min: 995, max: 1005 }).map((n) => 'd'.repeat(n)),
    );
    const jsonValue = fc.oneof(text, fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }));
    const taskBody = fc
      .record(
        {
          title: fc.oneof({ weight: 4, arbitrary: text }, { weight: 1, arbitrary: jsonValue }),
          description: fc.oneof({ weight: 3, arbitrary: text }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: jsonValue }),
          completed: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: jsonValue }),
          priority: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('none', 'low', 'medium', 'high') }, { weight: 1, arbitrary: fc.constantFrom('High', 'urgent', '', null) }, { weight: 1, arbitrary: jsonValue }),
          tags: fc.oneof(
            { weight: 3, arbitrary: fc.array(fc.oneof(text, fc.constantFrom('home', 'HOME', ' home ', 'a\tb')), { maxLength: 25 }) },
            { weight: 1, arbitrary: jsonValue },
          ),
          due_at: fc.oneof(
            { weight: 2, arbitrary: fc.constantFrom('2026-12-24T17:00:00Z', '2026-12-24T18:00:00+01:00', '1999-01-01T00:00:00.5Z', null) },
            { weight: 1, arbitrary: fc.constantFrom('2026-12-24', 'tomorrow', '2026-13-40T25:61:61Z', '', '0000-00-00T00:00:00Z') },
            { weight: 2, arbitrary: fc.constantFrom(...INSTANTS_AT_THE_ENDS, ...INSTANTS_BEYOND) },
            { weight: 1, arbitrary: jsonValue },
          ),
          version: fc.integer(),
          completed_at: fc.constantFrom('2026-01-01T00:00:00Z', null, 'x'),
          id: fc.integer(),
          user_id: fc.constantFrom(A.sub, B.sub),
          created_at: fc.constant('1970-01-01T00:00:00.000Z'),
        },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o));
    const nested = fc.integer({ min: 1, max: 4 }).chain((k) => {
      const depth = [50, 1000, 10_000, 30_000][k - 1] as number;
      return fc.constantFrom(
        `${'['.repeat(depth)}${']'.repeat(depth)}`,
        `{"title":${'['.repeat(depth)}"x"${']'.repeat(depth)}}`,
        `${'{"a":'.repeat(Math.min(depth, 10_000))}1${'}'.repeat(Math.min(depth, 10_000))}`,
        `{"title":"x","description":${'{"d":'.repeat(Math.min(depth, 10_000))}null${'}'.repeat(Math.min(depth, 10_000))}}`,
      );
    });
    const body = fc.oneof(
      { weight: 12, arbitrary: fc.constant(undefined) },
      { weight: 30, arbitrary: taskBody },
      { weight: 6, arbitrary: fc.json({ maxDepth: 3 }) },
      {
        weight: 6,
        arbitrary: fc.constantFrom(
          '',
          'null',
          '""',
          '0',
          'true',
          '[]',
          '{}',
          '{"completed":true}',
          '{"completed":"true"}',
          '{"title":"x"',
          '{"title":"dup","title":"licate"}',
          '{"__proto__":{"completed":true,"polluted":1},"title":"proto"}',
          '{"constructor":{"prototype":{"polluted":1}},"title":"ctor"}',
          '\ufeff{"title":"bom"}',
          '{"title":"\\ud800"}',
          '{"title":"\\u0000"}',
          'title=x&description=y',
          '<task><title>x</title></task>',
        ),
      },
      { weight: 3, arbitrary: fc.string({ maxLength: 200 }) },
      { weight: 3, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
      { weight: 2, arbitrary: fc.string({ maxLength: 60 }).map((s) => Buffer.from(s, 'utf16le')) },
      { weight: 3, arbitrary: nested },
      {
        weight: 3,
        arbitrary: fc.integer({ min: -200, max: 200 }).map((d) => JSON.stringify({ title: 'big', description: 'x'.repeat(BODY_LIMIT - 40 + d) })),
      },
      { weight: 1, arbitrary: fc.constant(JSON.stringify({ title: 'x'.repeat(BODY_LIMIT * 2) })) },
    );
    const extraHeaders = fc.record(
      {
        cookie: fc.oneof(headerValue(60), fc.constant(`session=${A.token}`)),
        'x-request-id': fc.oneof(headerValue(80), fc.constant('x'.repeat(2000))),
        origin: fc.constantFrom('http://localhost:3000', 'https://evil.example', 'null', ''),
        'x-forwarded-for': fc.constantFrom('1.2.3.4', '127.0.0.1, 10.0.0.1', 'garbage', ''),
        'content-encoding': fc.constantFrom('gzip', 'br', 'identity', 'deflate, gzip'),
        accept: fc.constantFrom('application/json', 'text/html', '*/*', 'application/xml;q=0.9', ''),
        'access-control-request-method': fc.constantFrom('PUT', 'DELETE', 'TRACE'),
        'user-id': fc.constant(B.sub),
      },
      { requiredKeys: [] },
    );

    const chaos = fc.record({ method, path, auth: authArb, contentType, body, extra: extraHeaders }).map(({ method: m, path: p, auth, contentType: ct, body: b, extra }): FuzzRequest => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== '') headers[k] = v;
      if (auth.header !== undefined) headers.authorization = auth.header;
      if (ct !== undefined) headers['content-type'] = ct;
      return { method: m, url: toWire(p), headers, body: b, auth };
    });

    // Well-formed traffic of A, B and C (so writes happen and the model has something to say), with
    // some of it aimed at another user's path or ids: what a curious or malicious client does.
    const validTitle = fc.oneof(
      fc.string({ minLength: 1, maxLength: 60 }),
      fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }),
      fc.integer({ min: 1, max: 200 }).map((n) => '🙂'.repeat(n)),
      fc.constantFrom('  padded  ', '<b>x</b>', "O'Reilly", '\u0000', '日本語'),
    ).filter((x) => x.trim() !== '');
    const coherent = fc
      .record({
        who: fc.constantFrom(A, B, C),
        pathUser: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(A, B, C) }),
        op: fc.constantFrom('list', 'list', 'create', 'create', 'create', 'get', 'get', 'put', 'toggle', 'set', 'delete'),
        id: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 600 }) }),
        title: validTitle,
        description: fc.oneof(fc.constant(undefined), fc.constant(null), text),
        completed: fc.oneof(fc.constant(undefined), fc.boolean()),
        priority: fc.oneof(fc.constant(undefined), fc.constantFrom('none', 'low', 'medium', 'high')),
        tags: fc.oneof(fc.constant(undefined), fc.array(fc.constantFrom('home', 'Home', 'work', 'errands', ' trip '), { maxLength: 4 })),
        due_at: fc.oneof(
          { weight: 3, arbitrary: fc.oneof(fc.constant(undefined), fc.constantFrom('2026-12-24T17:00:00Z', '2027-01-01T09:30:00+02:00', null)) },
          { weight: 1, arbitrary: fc.constantFrom(...INSTANTS_AT_THE_ENDS, ...INSTANTS_BEYOND) },
        ),
        query: fc.constantFrom('', '', '', '?status=pending', '?status=completed', '?filter=all', '?status=bogus', '?priority=high,low', '?tag=home', '?tag=HOME&tag=work', '?q=a', '?sort=title&limit=3', '?sort=-due_at', '?due_before=2026-12-25T00:00:00Z', '?filter=done&sort=priority'),
        ct: fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', undefined),
      })
      .map(({ who, pathUser, op, id, title, description, completed, priority, tags, due_at, query: q, ct }): FuzzRequest => {
        const v2 = { ...(priority === undefined ? {} : { priority }), ...(tags === undefined ? {} : { tags }), ...(due_at === undefined ? {} : { due_at }) };
        const base = `/api/${encodeURIComponent((pathUser ?? who).sub)}/tasks`;
        const headers: Record<string, string> = { authorization: `Bearer ${who.token}` };
        const auth: AuthChoice = { label: `valid ${who.name}`, header: headers.authorization as string, as: who.sub, owner: who };
        const json = (o: object) => {
          if (ct !== undefined) headers['content-type'] = ct;
          return JSON.stringify(o);
        };
        const r = (m: string, url: string, b?: string): FuzzRequest => ({ method: m, url, headers, body: b, auth });
        switch (op) {
          case 'list':
            return r('GET', `${base}${q}`);
          case 'create':
            return r('POST', base, json({ title, ...(description === undefined ? {} : { description }), ...v2 }));
          case 'get':
            return r('GET', `${base}/${id}`);
          case 'put':
            return r('PUT', `${base}/${id}`, json({ title, ...(description === undefined ? {} : { description }), ...(completed === undefined ? {} : { completed }), ...v2 }));
          case 'toggle':
            return r('PATCH', `${base}/${id}/complete`);
          case 'set':
            return r('PATCH', `${base}/${id}/complete`, json({ completed: completed ?? true }));
          default:
            return r('DELETE', `${base}/${id}`);
        }
      });
    const request = fc.oneof({ weight: 2, arbitrary: coherent }, { weight: 3, arbitrary: chaos });

    const counts = { runs: 0, byStatus: new Map<number, number>(), writes: 0 };
    const started = performance.now();

    const check = async (req: FuzzRequest) => {
      counts.runs++;
      let res: LightMyRequestResponse;
      try {
        res = await t.app.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, ...(req.body === undefined ? {} : { payload: req.body }) });
      } catch (err) {
        // light-my-request refuses some inputs outright (an unknown method): not a server answer.
        if (/method|invalid/i.test(String(err))) return;
        throw err;
      }
      const status = res.statusCode;
      counts.byStatus.set(status, (counts.byStatus.get(status) ?? 0) + 1);
      const what = `${req.method} ${req.url.slice(0, 300)} [auth: ${req.auth.label}, content-type: ${req.headers['content-type'] ?? '-'}, body: ${req.body === undefined ? '-' : JSON.stringify(String(req.body).slice(0, 120))}] -> ${status} ${res.body.slice(0, 300)}`;
      const fail = (why: string) => {
        throw new Error(`${why}\n  ${what}`);
      };

      if (status >= 500) fail('a 5xx');
      if (res.body.includes(TEST_SECRET)) fail('the secret is in the body');
      if (/node_modules|\n\s+at .+:\d+:\d+/.test(res.body)) fail('a stack trace is in the body');
      if (status >= 300 && status < 400) {
        const location = String(res.headers.location ?? '');
        if (/^\s*(\/\/|\\\\|[a-z][a-z0-9+.-]*:)/i.test(location) || /^\/[\\/]/.test(location)) fail(`a redirect off the site: ${location}`);
      } else if ((status < 200 || status > 299) && req.method !== 'HEAD') {
        const problem = contractErrorProblem(status, res.body);
        if (problem) fail(`not a contract error: ${problem}`);
      }
      if (status === 401 && !/^Bearer\b/.test(String(res.headers['www-authenticate'] ?? ''))) fail('401 without a WWW-Authenticate: Bearer challenge');
      if (status === 405 && !res.headers.allow) fail('405 without Allow');
      // An instant beyond the range (or a leap second) is never taken: not as a create's or an
      // edit's due_at, not as a list's due_before or due_after.
      if (status >= 200 && status < 300) {
        const [pathPart, search = ''] = req.url.split('?', 2) as [string, string?];
        const edit = (req.method === 'POST' || req.method === 'PUT') && !pathPart.endsWith('/complete');
        const list = req.method === 'GET' && /\/tasks\/?$/.test(pathPart);
        const params = new URLSearchParams(search);
        const taken = INSTANTS_BEYOND.find(
          (x) => (edit && String(req.body ?? '').includes(`"due_at":"${x}"`)) || (list && (params.get('due_before') === x || params.get('due_after') === x)),
        );
        if (taken !== undefined) fail(`the instant ${taken} was taken`);
      }

      // Nobody sees rows that are not theirs: a marker may appear only with its owner's token.
      for (const u of users) {
        if (u.marker !== undefined && res.body.includes(u.marker) && req.auth.owner !== u) {
          fail(`${u.name}'s data reached a request without ${u.name}'s token`);
        }
      }
      const onApi = req.url.toLowerCase().startsWith('/api/');
      if (req.auth.as === null && onApi && status >= 200 && status < 300 && req.method !== 'OPTIONS') fail('a refused token got a 2xx');

      // The model: only 2xx answers change it; reads must agree with it.
      if (status < 200 || status > 299 || req.method === 'HEAD' || req.method === 'OPTIONS' || res.body === '') return;
      if (!String(res.headers['content-type'] ?? '').startsWith('application/json')) return; // /docs
      const owner = req.auth.owner;
      const json = res.json() as { data?: Task | Task[] };
      if (json.data === undefined) return; // /health, /ready, /openapi.json
      const items = Array.isArray(json.data) ? json.data : [json.data];
      for (const d of items) {
        if (owner === undefined || d.user_id !== owner.sub) fail(`an answer carries user ${JSON.stringify(d.user_id)}'s task for token ${owner?.name ?? 'unknown'}`);
      }
      if (Array.isArray(json.data)) {
        for (const d of json.data) if (JSON.stringify(pick(d)) !== JSON.stringify(model.get(d.id))) fail(`a listed task differs from the model: ${JSON.stringify(model.get(d.id))}`);
        const listed = json.data as unknown as TaskJson[];
        const params = new URLSearchParams(req.url.split('?')[1] ?? '');
        // Every listed task meets the query's filters.
        // priority=high,low and priority=high&priority=low mean the same (docs/API.md).
        const priorities = params.has('priority') ? params.getAll('priority').flatMap((p) => p.split(',')) : undefined;
        const wanted = params.getAll('tag').map((x) => x.trim().toLowerCase());
        const q = params.get('q')?.toLowerCase();
        const before = params.get('due_before');
        for (const d of listed) {
          if (priorities && !priorities.includes(d.priority)) fail(`a task of priority ${d.priority} in a list of ${priorities.join(',')}`);
          if (!wanted.every((w) => d.tags.some((x) => x.toLowerCase() === w))) fail(`a task without every tag of ${wanted.join(',')}`);
          if (q !== undefined && !/^[a-z]+$/.test(q)) continue;
          if (q !== undefined && !`${d.title}`.toLowerCase().includes(q) && !`${d.description ?? ''}`.toLowerCase().includes(q)) fail(`a task without "${q}"`);
          if (before && (d.due_at === null || !(Date.parse(d.due_at) < Date.parse(before)))) fail(`a task due ${d.due_at} listed as due before ${before}`);
        }
        if (!req.url.includes('?') && owner !== undefined) {
          const expected = [...model.values()].filter((x) => x.user_id === owner.sub).map((x) => x.id).sort((a, b) => b - a);
          const got = json.data.map((d) => d.id);
          if (JSON.stringify(got) !== JSON.stringify(expected)) fail(`the list is ${JSON.stringify(got)}, the model says ${JSON.stringify(expected)}`);
        }
        return;
      }
      const d = json.data;
      if (req.method === 'GET') {
        if (JSON.stringify(pick(d)) !== JSON.stringify(model.get(d.id))) fail(`a read differs from the model: ${JSON.stringify(model.get(d.id))}`);
      } else if (req.method === 'POST') {
        if (status !== 201 || model.has(d.id)) fail('a create that is not a new 201');
        model.set(d.id, pick(d));
        counts.writes++;
      } else if (req.method === 'PUT' || req.method === 'PATCH') {
        if (!model.has(d.id)) fail('an update of a task the model does not have');
        model.set(d.id, pick(d));
        counts.writes++;
      } else if (req.method === 'DELETE') {
        if (JSON.stringify(pick(d)) !== JSON.stringify(model.get(d.id))) fail(`a delete answered a task that differs from the model: ${JSON.stringify(model.get(d.id))}`);
        model.delete(d.id);
        counts.writes++;
      } else {
        fail(`a 2xx with data for ${req.method}`);
      }
    };

    await fc.assert(fc.asyncProperty(request, check), {
      numRuns: RUNS,
      interruptAfterTimeLimit: TIME_LIMIT_MS,
      markInterruptAsFailure: false,
      ...(SEED === undefined ? {} : { seed: SEED }),
    });

    // Nothing leaked into the prototypes.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).completed).toBeUndefined();

    // The database holds exactly what the 2xx answers said: no more, no less, no other values.
    const rows = rowsOf<Record<string, unknown>>(
      await t.database.db.execute(sql`select id, user_id, title, description, completed, priority, tags, due_at, completed_at, version from tasks order by id`),
    ).map((r) => pick({ ...r, id: Number(r.id), due_at: r.due_at === null ? null : new Date(r.due_at as string).toISOString() } as unknown as TaskJson));
    const expected = [...model.values()].sort((a, b) => a.id - b.id);
    expect(rows).toEqual(expected);

    const statuses = [...counts.byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' ');
    console.info(`fuzz [${driver}]: ${counts.runs} requests in ${((performance.now() - started) / 1000).toFixed(1)} s, ${counts.writes} writes, ${rows.length} rows; statuses ${statuses}`);
    expect(counts.runs, 'enough requests ran within the time bound').toBeGreaterThan(Math.min(RUNS, 300));
    expect(counts.writes, 'the fuzz reached the write paths').toBeGreaterThan(5);
  }, 60_000);
});

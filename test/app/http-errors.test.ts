/**
 * Requests Node's HTTP parser refuses before Fastify sees them (malformed HTTP, headers over the
 * limit), TRACE, and the client's X-Request-Id: every answer is in the contract's format, with the
 * security headers and a request id of ours.
 *
 * These are requests a client library would not send (raw bytes, TRACE, odd X-Request-Ids): they
 * stay raw, at the paths the test client's routes give; the one ordinary read goes through it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, routes } from '../helpers/api.js';
import { authHeader, buildTestApp, logCapture, uniqueUser, type TestApp } from '../helpers/app.js';
import { sleep } from '../helpers/process.js';
import { openSocket, parseAnswer, rawRequest } from '../helpers/raw-http.js';

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The answer to raw bytes on a fresh connection. */
const raw = (port: number, request: string | Buffer) => rawRequest(port, request);

describe('answers outside the router: malformed HTTP, 431, TRACE, X-Request-Id', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await buildTestApp('embedded');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(async () => t?.close());

  it.each([
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
    ['a header without a colon', 'GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n'],
    ['a bad Content-Length', `POST ${routes.tasks('alice')} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n`],
    ['two Content-Lengths', `POST ${routes.tasks('alice')} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab`],
    ['a control character in a header value', 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n'],
  ])('%s: 400 VALIDATION_ERROR in the contract format, security headers, our request id', async (_name, request) => {
    const res = await raw(port, request);
    expect({ status: res.status, body: res.body }).toEqual({
      status: 400,
      body: { error: 'The request is not valid HTTP', code: 'VALIDATION_ERROR', detail: 'The request is not valid HTTP' },
    });
    expect(res.headers).toMatchObject({ ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', connection: 'close' });
    expect(res.headers['x-request-id']).toMatch(UUID);
  });

  it('headers over the limit: 431 HEADERS_TOO_LARGE in the contract format, security headers, our request id', async () => {
    const res = await raw(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nX-Request-Id: mine\r\n\r\n`);
    const error = 'The request headers are too large';
    expect({ status: res.status, body: res.body }).toEqual({ status: 431, body: { error, code: 'HEADERS_TOO_LARGE', detail: error } });
    expect(res.headers).toMatchObject(SECURITY_HEADERS);
    expect(res.headers['x-request-id']).toMatch(UUID);
  });

  it.each([
    ['a URL that does not decode', `${routes.tasks('alice')}/%zz`, 'The URL is not valid'],
    ['a path segment over the limit', routes.task('alice', '9'.repeat(400)), 'A path segment is too long'],
  ])('%s: 400 in the contract format, security headers, a request id', async (_name, url, error) => {
    const res = await t.app.inject({ url, headers: { 'x-request-id': 'given-1' } });
    expect({ status: res.statusCode, body: res.json() }).toEqual({ status: 400, body: { error, code: 'VALIDATION_ERROR', detail: error } });
    expect(res.headers).toMatchObject({ ...SECURITY_HEADERS, 'x-request-id': 'given-1' });
  });

  it('TRACE on a known path is 405 with Allow; on an unknown path 404', async () => {
    const res = await t.app.inject({ method: 'TRACE', url: routes.tasks('alice') });
    expect({ status: res.statusCode, body: res.json(), allow: res.headers.allow }).toEqual({
      status: 405,
      body: { error: 'Method not allowed here; allowed: GET, HEAD, POST', code: 'METHOD_NOT_ALLOWED', detail: 'Method not allowed here; allowed: GET, HEAD, POST' },
      allow: 'GET, HEAD, POST',
    });
    expect((await t.app.inject({ method: 'TRACE', url: routes.health })).statusCode).toBe(405);
    expect((await t.app.inject({ method: 'TRACE', url: '/nowhere' })).statusCode).toBe(404);
  });

  it('a short, safe X-Request-Id is used; a long or unsafe one is replaced by our own', async () => {
    for (const id of ['trace-123', 'a'.repeat(128), '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'span.id_7:x']) {
      const res = await t.app.inject({ url: routes.health, headers: { 'x-request-id': id } });
      expect(res.headers['x-request-id'], id).toBe(id);
    }
    for (const id of ['a'.repeat(129), 'a'.repeat(16_000), 'with space', 'quote"', '<script>', 'semi;colon', 'Root=1-abc', 'ünïcode', '']) {
      const res = await t.app.inject({ url: routes.health, headers: { 'x-request-id': id } });
      expect(res.headers['x-request-id'], id.slice(0, 20)).toMatch(UUID);
    }
  });
});

describe('a client that aborts its upload', () => {
  const logs = logCapture();
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await buildTestApp('embedded', { logLevel: 'info' }, { logStream: logs.stream });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(async () => t?.close());

  it('is logged as a client abort (info), never as an error nor as the database being unavailable; nothing is written', async () => {
    const user = uniqueUser();
    const { authorization } = await authHeader(user);
    const before = logs.lines().length;
    const socket = await openSocket(port);
    socket.write(`POST ${routes.tasks(user)} HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"title":"half`);
    await sleep(200); // the body is being read
    socket.destroy();
    let lines = logs.lines().slice(before);
    for (let i = 0; i < 50 && !lines.some((l) => l.msg === 'client aborted the request'); i++) {
      await sleep(20);
      lines = logs.lines().slice(before);
    }
    await sleep(100); // and nothing else follows
    lines = logs.lines().slice(before);
    expect(lines.filter((l) => l.msg === 'client aborted the request').map((l) => l.level)).toEqual([30]);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    expect(JSON.stringify(lines)).not.toMatch(/database/i);
    const list = await (await api(t.app, user)).list();
    expect(list.json().data).toEqual([]);
  });
});

describe('the request timeout (30 s; here configured to 2 s)', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await buildTestApp('embedded', { requestTimeoutMs: 2000 });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(async () => t?.close());

  it('a body that trickles in (a byte every 200 ms) ends at the bound, within a second: 408 REQUEST_TIMEOUT in the contract format', async () => {
    const socket = await openSocket(port);
    const answer = new Promise<{ text: string; at: number }>((resolve) => {
      const chunks: Buffer[] = [];
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('error', () => {});
      socket.on('close', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), at: Date.now() - started }));
    });
    const { authorization } = await authHeader('alice');
    const started = Date.now();
    socket.write(`POST ${routes.tasks('alice')} HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    const drip = setInterval(() => socket.writable && socket.write(' '), 200);
    const { text, at } = await answer.finally(() => clearInterval(drip));
    const res = parseAnswer(text);
    expect({ status: res.status, body: res.body }).toEqual({
      status: 408,
      body: { error: 'The request did not arrive in time', code: 'REQUEST_TIMEOUT', detail: 'The request did not arrive in time' },
    });
    expect(at).toBeGreaterThanOrEqual(1900);
    expect(at).toBeLessThan(3300);
  });
});

/**
 * The server's own log (the process, LOG_LEVEL=info): no token and no cookie ever reaches it,
 * wherever the client put them (header, cookie, query string, body), and every request is one
 * structured line with its request id, user, route, status and latency.
 *
 * Secrets in query strings, cookies and malformed bodies are requests a typed client does not
 * send: they go raw (`send`), at the paths the test client's routes give.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../helpers/app.js';
import { describeExchange, FAULT_SECRET, faultToken, send, serverEnv, startServer, type Exchange, type Server } from '../faults/support.js';
import { routes } from '../helpers/api.js';
import type { LogLine } from '../helpers/process.js';

describe('request logs (server process, LOG_LEVEL=info)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'task-api-logs-'));
  let server: Server | undefined;
  const secrets = new Map<string, string>();
  const exchanges: { label: string; ex: Exchange; user?: string }[] = [];
  let lines: LogLine[] = [];
  let output = '';

  beforeAll(async () => {
    server = await startServer(dir, serverEnv({ DATA_DIR: dir, LOG_LEVEL: 'info', CORS_ORIGINS: 'http://localhost:3000' }));
    const s = server;
    const user = 'alice';
    const valid = await faultToken(user);
    const fresh = async (label: string) => {
      const tok = await faultToken(user, 3600 + secrets.size); // distinct token each time
      secrets.set(label, tok);
      return tok;
    };
    secrets.set('valid header token', valid);
    const wrongSecret = await signToken(user, { secret: 'not-the-server-secret-not-the-server-secret' });
    secrets.set('token signed with another secret', wrongSecret);
    const expired = await signToken(user, { secret: FAULT_SECRET, expiresIn: -3600 });
    secrets.set('expired token', expired);
    const cookie = 'c00kie-value-6d1f0e7a9b2c4d5e';
    const cookie2 = 'ba-session-token-3a9f1c7e5b';
    secrets.set('cookie value', cookie);
    secrets.set('Better Auth session cookie value', cookie2);
    secrets.set('the server secret', FAULT_SECRET);

    const auth = { authorization: `Bearer ${valid}` };
    const json = { ...auth, 'content-type': 'application/json' };
    const go = async (label: string, method: string, path: string, opts: Parameters<typeof send>[3] = {}, authenticated?: string) => {
      const ex = await send(s.url, method, path, opts);
      exchanges.push({ label, ex, ...(authenticated ? { user: authenticated } : {}) });
      return ex;
    };

    await go('list with a valid token', 'GET', `${routes.tasks(user)}`, { headers: auth }, user);
    await go('create with a valid token', 'POST', `${routes.tasks(user)}`, { headers: json, body: JSON.stringify({ title: 'log me not' }) }, user);
    await go('invalid token', 'GET', `${routes.tasks(user)}`, { headers: { authorization: `Bearer ${wrongSecret}` } });
    await go('expired token', 'GET', `${routes.tasks(user)}`, { headers: { authorization: `Bearer ${expired}` } });
    await go('a cookie header', 'GET', `${routes.tasks(user)}`, { headers: { ...auth, cookie: `sid=${cookie}; better-auth.session_token=${cookie2}` } }, user);
    await go('a cookie and no token', 'GET', `${routes.tasks(user)}`, { headers: { cookie: `better-auth.session_token=${cookie2}` } });
    const q1 = await fresh('token in a query string (authenticated)');
    await go('token in a query string, plus a valid header', 'GET', `${routes.tasks(user)}?token=${q1}&status=all`, { headers: auth }, user);
    const q2 = await fresh('token in a query string (only)');
    await go('token in a query string only', 'GET', `${routes.tasks(user)}?access_token=${q2}`);
    const q3 = await fresh('token in a query string (404)');
    await go('token in the query of an unknown route', 'GET', `/nowhere?access_token=${q3}`);
    const q4 = await fresh('token in the query of a 400');
    await go('token in the query of a bad request', 'GET', `${routes.tasks(user)}/not-a-number?token=${q4}`, { headers: auth }, user);
    const b1 = await fresh('token in a rejected body');
    await go('token in a rejected body', 'POST', `${routes.tasks(user)}`, { headers: json, body: JSON.stringify({ title: '', token: b1 }) }, user);
    const b2 = await fresh('token in malformed JSON');
    await go('token in malformed JSON', 'POST', `${routes.tasks(user)}`, { headers: json, body: `{"title": "${b2}"` }, user);
    // A request the server fails on (today a NUL byte, which PostgreSQL refuses, is a 500): the
    // error path logs too, and must not log the query string either.
    const q5 = await fresh('token in the query of a failing request');
    await go('token in the query of a failing request', 'POST', `${routes.tasks(user)}?access_token=${q5}`, { headers: json, body: '{"title":"nul \\u0000 byte"}' }, user);
    await go('a preflight with a cookie', 'OPTIONS', `${routes.tasks(user)}`, {
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST', cookie: `sid=${cookie}` },
    });
    await go('health', 'GET', '/health');

    const stopped = await s.stop('SIGTERM');
    expect(stopped).toEqual({ code: 0, signal: null });
    output = s.output();
    lines = s.logLines();
  }, 60_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('no token, cookie or secret appears anywhere in the output', () => {
    expect(exchanges.every((e) => e.ex.status !== undefined)).toBe(true);
    const found = [...secrets.entries()].filter(([, value]) => output.includes(value)).map(([label]) => label);
    expect(found, 'secrets found in the log').toEqual([]);
    // Nor a recognisable piece of one (a JWT's signature part, say).
    for (const [label, value] of secrets) {
      const parts = value.split('.');
      if (parts.length === 3) expect(output.includes(parts[2] as string), `${label}: its signature is in the log`).toBe(false);
    }
  });

  it('a refused token: its line says why (tokenRefused, info level), never the token', () => {
    const reasonOf = (label: string) => {
      const reqId = exchanges.find((e) => e.label === label)?.ex.headers?.['x-request-id'];
      const line = lines.find((l) => l.reqId === reqId && 'status' in l);
      return { level: line?.level, status: line?.status, tokenRefused: line?.tokenRefused };
    };
    expect(reasonOf('invalid token')).toEqual({ level: 30, status: 401, tokenRefused: 'bad_signature' });
    expect(reasonOf('expired token')).toEqual({ level: 30, status: 401, tokenRefused: 'expired' });
    expect(reasonOf('a cookie and no token')).toEqual({ level: 30, status: 401, tokenRefused: undefined });
    expect(reasonOf('list with a valid token')).toEqual({ level: 30, status: 200, tokenRefused: undefined });
  });

  it('every line is JSON', () => {
    const nonJson = output
      .split('\n')
      .filter((l) => l.trim() !== '')
      .filter((l) => {
        try {
          JSON.parse(l);
          return false;
        } catch {
          return true;
        }
      });
    expect(nonJson).toEqual([]);
  });

  it('each request has exactly one line: reqId, method, route, url (no query), status, ms, and userId when authenticated', () => {
    for (const { label, ex, user } of exchanges) {
      const reqId = ex.headers?.['x-request-id'];
      expect(typeof reqId, `${label}: x-request-id header`).toBe('string');
      const mine = lines.filter((l) => l.reqId === reqId && 'status' in l);
      expect(mine, `${label} (${describeExchange(ex)}): lines with its reqId and a status`).toHaveLength(1);
      const line = mine[0] as LogLine;
      expect(line.status, label).toBe(ex.status);
      expect(line.method, label).toBe(ex.method);
      expect(typeof line.ms, label).toBe('number');
      expect(line.ms as number, label).toBeGreaterThanOrEqual(0);
      expect('route' in line, `${label}: route`).toBe(true);
      if (ex.status !== 404) expect(typeof line.route, `${label}: route`).toBe('string');
      expect(String(line.url), label).toBe(ex.path.split('?')[0]);
      if (user) expect(line.userId, `${label}: userId`).toBe(user);
      else expect(line.userId, `${label}: userId`).toBeUndefined();
      expect(['request', 'request failed']).toContain(line.msg);
    }
  });
});

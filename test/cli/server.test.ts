import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, publicApi } from '../helpers/api.js';
import { cleanEnv, freePort, runNode, scratchDir, sleep, spawnProcess, startServer, TOKEN_JS, SERVER_JS, type Server } from '../helpers/process.js';

describe('npm start and npm run token on a fresh machine (no configuration)', () => {
  const cwd = scratchDir('task-api-fresh-');
  let server: Server;

  beforeAll(async () => {
    expect(existsSync(SERVER_JS), 'run `npm run build` first (npm test does)').toBe(true);
    server = await startServer(cwd, cleanEnv());
  });
  afterAll(async () => {
    await server?.stop('SIGTERM');
  });

  it('serves on the embedded PostgreSQL under ./.data with a generated dev secret, and warns about it', async () => {
    expect(existsSync(join(cwd, '.data', 'dev-secret'))).toBe(true);
    expect(existsSync(join(cwd, '.data', 'postgres', 'PG_VERSION'))).toBe(true);
    const lines = server.output().trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; database?: string });
    expect(lines.some((l) => l.level === 40 && /BETTER_AUTH_SECRET is not set/.test(l.msg))).toBe(true);
    const ready = server.logLines().find((l) => l.msg?.startsWith('task API ready'));
    const database = `embedded PostgreSQL in ${join(cwd, '.data')}`;
    // The start line says where (URL, docs), on what database, and which tokens it takes.
    expect(ready).toMatchObject({
      level: 30,
      url: server.url,
      docs: `${server.url}/docs`,
      database,
      tokens: ['shared-secret', 'jwks', 'session'],
      msg: `task API ready at ${server.url} (docs ${server.url}/docs; database: ${database}; tokens: shared-secret, jwks, session)`,
    });
    expect(server.logLines().filter((l) => typeof l.tokenMode === 'string').map((l) => l.tokenMode)).toEqual(['shared-secret', 'jwks', 'session']);
    const health = await publicApi(server.url).health();
    expect(health.json()).toEqual({ status: 'healthy' });
  });

  it('a token from `npm run token` works against it at once', async () => {
    const { code, stdout, stderr } = await runNode(TOKEN_JS, ['alice', '--email', 'alice@example.com', '--ttl', '10m'], cwd, cleanEnv());
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const token = stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const alice = await api(server.url, 'alice', { token });
    const created = await alice.create({ title: 'Buy milk' });
    expect(created.statusCode).toBe(201);
    const list = await alice.list();
    expect(list.json().data.map((t: { title: string }) => t.title)).toEqual(['Buy milk']);
  });

  it('the token CLI explains its usage', async () => {
    const none = await runNode(TOKEN_JS, [], cwd, cleanEnv());
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^usage: npm run token -- <user_id>/);
    // What npm hands the script for `npm run token alice --email a@b.example --ttl 2h` (no `--`):
    // the values as arguments, the options as its own config.
    const npmEnv = cleanEnv({ npm_lifecycle_event: 'token', npm_config_email: 'true', npm_config_ttl: 'true' });
    const noDashes = await runNode(TOKEN_JS, ['alice', 'a@b.example', '2h'], cwd, npmEnv);
    expect({ code: noDashes.code, stdout: noDashes.stdout, stderr: noDashes.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr: 'npm took --email, --ttl for itself: put -- between "token" and the token\'s arguments, e.g. npm run token -- alice --email ... --ttl ...\n',
    });
    const badTtl = await runNode(TOKEN_JS, ['alice', '--ttl', 'forever'], cwd, cleanEnv());
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr).toBe('--ttl must look like 3600, 30m, 1h or 7d (got "forever")\n');
  });

  it('keeps acknowledged writes across a SIGTERM restart, exiting 0', async () => {
    const token = (await runNode(TOKEN_JS, ['bob'], cwd, cleanEnv())).stdout.trim();
    const created = await (await api(server.url, 'bob', { token })).create({ title: 'persist me' });
    expect(created.statusCode).toBe(201);
    expect((await server.stop('SIGTERM')).code).toBe(0);
    server = await startServer(cwd, cleanEnv());
    const list = await (await api(server.url, 'bob', { token })).list();
    expect(list.json().data.map((t: { title: string }) => t.title)).toEqual(['persist me']);
  });

  it('a bad configuration stops the start with one clear line', async () => {
    const res = await runNode(SERVER_JS, [], cwd, cleanEnv({ PORT: 'eighty' }));
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('Configuration error: PORT must be a whole number from 0 to 65535 (got "eighty")\n');
  });
});

describe('what the start says', () => {
  it('in production: which token modes are on and why, one line each, and a loud warning on the embedded database', async () => {
    const cwd = scratchDir('task-api-prod-');
    const server = await startServer(cwd, cleanEnv({ NODE_ENV: 'production', BETTER_AUTH_URL: 'https://app.example.com' }));
    try {
      const lines = server.logLines();
      expect(lines.filter((l) => l.tokenMode !== undefined).map((l) => [l.level, l.on, l.msg])).toEqual([
        [30, false, "tokens: HS256/384/512 with the shared secret: off (BETTER_AUTH_SECRET is not set): a frontend's HS256 tokens get 401 INVALID_TOKEN"],
        [
          30,
          true,
          'tokens: Better Auth JWT plugin (EdDSA, ES256, RS256, PS256): on, keys from https://app.example.com/api/auth/jwks, iss https://app.example.com, aud https://app.example.com (BETTER_AUTH_URL is set)',
        ],
        [30, true, 'tokens: Better Auth session tokens: on, looked up at https://app.example.com/api/auth/get-session (AUTH_SESSION_TOKENS=false turns them off)'],
      ]);
      const warnings = lines.filter((l) => l.level === 40).map((l) => l.msg);
      expect(warnings).toEqual([
        expect.stringMatching(/^NODE_ENV=production on the EMBEDDED database in .*: no DATABASE_URL is set/),
        // No VAPID keys in production: Web Push is off, said once at start (docs/API.md, Web Push).
        expect.stringMatching(/^Web Push is off: VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are not set/),
      ]);
      expect(lines.find((l) => l.msg?.startsWith('task API ready'))?.tokens).toEqual(['jwks', 'session']);
    } finally {
      await server.stop('SIGTERM');
    }
  });

  it('in production without a secret or BETTER_AUTH_URL it refuses to start, with one line', async () => {
    const res = await runNode(SERVER_JS, [], scratchDir('task-api-prod-'), cleanEnv({ NODE_ENV: 'production' }));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^Configuration error: BETTER_AUTH_SECRET is required in production: without it, and without BETTER_AUTH_URL or JWKS_URL, no token a frontend has can be verified .*\n$/);
  });

  it('in a terminal in development the logs are readable (pino-pretty), not JSON', async () => {
    const cwd = scratchDir('task-api-tty-');
    const port = await freePort();
    // script(1) gives the server a real pseudo-terminal as its standard output.
    const proc = spawnProcess({
      command: ['script', '-qefc', `${process.execPath} ${SERVER_JS}`, '/dev/null'],
      cwd,
      env: cleanEnv({ PORT: String(port), TERM: 'dumb' }),
      detached: true,
    });
    try {
      const started = Date.now();
      while (!proc.output().includes('task API ready') && !proc.hasExited && Date.now() - started < 30_000) await sleep(50);
      // eslint-disable-next-line no-control-regex
      const text = proc.output().replace(/\u001b\[[0-9;]*m/g, '');
      expect(text).toMatch(new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\] INFO: task API ready at http://127\\.0\\.0\\.1:${port} \\(docs http://127\\.0\\.0\\.1:${port}/docs; `, 'm'));
      expect(text).toMatch(/^\[[\d:.]+\] WARN: BETTER_AUTH_SECRET is not set/m);
      expect(text).not.toContain('"level":');
    } finally {
      await proc.stop('SIGTERM');
    }
  });
});

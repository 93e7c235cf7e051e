import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runNode, scratchDir, startServer, TOKEN_JS, SERVER_JS, type Server } from '../helpers/process.js';

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
    expect(lines.find((l) => l.msg === 'task API ready')?.database).toBe(`embedded PostgreSQL in ${join(cwd, '.data')}`);
    const health = await fetch(`${server.url}/health`);
    expect(await health.json()).toEqual({ status: 'healthy' });
  });

  it('a token from `npm run token` works against it at once', async () => {
    const { code, stdout, stderr } = await runNode(TOKEN_JS, ['alice', '--email', 'alice@example.com', '--ttl', '10m'], cwd, cleanEnv());
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const token = stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await fetch(`${server.url}/api/alice/tasks`, { method: 'POST', headers, body: JSON.stringify({ title: 'Buy milk' }) });
    expect(created.status).toBe(201);
    const list = await fetch(`${server.url}/api/alice/tasks`, { headers });
    expect((await list.json()).data.map((t: { title: string }) => t.title)).toEqual(['Buy milk']);
  });

  it('the token CLI explains its usage', async () => {
    const none = await runNode(TOKEN_JS, [], cwd, cleanEnv());
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^usage: npm run token -- <user_id>/);
    const badTtl = await runNode(TOKEN_JS, ['alice', '--ttl', 'forever'], cwd, cleanEnv());
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr).toBe('--ttl must look like 3600, 30m, 1h or 7d (got "forever")\n');
  });

  it('keeps acknowledged writes across a SIGTERM restart, exiting 0', async () => {
    const token = (await runNode(TOKEN_JS, ['bob'], cwd, cleanEnv())).stdout.trim();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await fetch(`${server.url}/api/bob/tasks`, { method: 'POST', headers, body: JSON.stringify({ title: 'persist me' }) });
    expect(created.status).toBe(201);
    expect((await server.stop('SIGTERM')).code).toBe(0);
    server = await startServer(cwd, cleanEnv());
    const list = await fetch(`${server.url}/api/bob/tasks`, { headers });
    expect((await list.json()).data.map((t: { title: string }) => t.title)).toEqual(['persist me']);
  });

  it('a bad configuration stops the start with one clear line', async () => {
    const res = await runNode(SERVER_JS, [], cwd, cleanEnv({ PORT: 'eighty' }));
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('Configuration error: PORT must be a whole number from 0 to 65535 (got "eighty")\n');
  });
});

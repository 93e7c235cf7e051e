/**
 * The server runs its jobs in a process of its own (JOBS_PROCESS=separate, the default; issue 29,
 * "background work does not hurt the foreground"), at a lower OS priority (JOBS_NICE, 10 by
 * default). Proven on the server as a process (`node dist/src/server.js`), on both databases:
 * - the job process is the server's child, at the server's priority + JOBS_NICE, and a reminder it
 *   fires reaches the user's event stream (through the server) and the user's webhook;
 * - killed, it is started again (a warning says so) and the next reminder fires; the API answers
 *   throughout;
 * - SIGTERM stops both, exit 0; SIGKILL of the server leaves no job process behind;
 * - JOBS_PROCESS=inline runs no other process, and reminders fire.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../helpers/api.js';
import { drivers, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { scratchDir } from '../helpers/process.js';
import { openSse } from '../helpers/sse.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { faultToken, jsonOf, send, serverEnv, startServer, waitFor, type Server } from '../faults/support.js';

/** A process's parent and nice value, from /proc/<pid>/stat (fields after the command's closing parenthesis). */
function statOf(pid: number): { ppid: number; nice: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), nice: Number(fields[16]) };
  } catch {
    return undefined; // gone
  }
}

/** The processes whose parent is `pid`, with their nice value and command line. */
function childrenOf(pid: number): { pid: number; nice: number; cmd: string }[] {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statOf(Number(entry));
    if (stat?.ppid !== pid) continue;
    try {
      found.push({ pid: Number(entry), nice: stat.nice, cmd: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.each(drivers)('the job process [%s]', (driver) => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  const servers: Server[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    db = await freshDatabase(driver);
    receiver = await startWebhookReceiver();
  }, 60_000);
  afterAll(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await receiver?.close();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const start = async (extra: Record<string, string> = {}) => {
    const dir = scratchDir('task-api-jobs-');
    dirs.push(dir);
    const server = await startServer(dir, serverEnv({ DATABASE_URL: db.url, DATA_DIR: dir, WEBHOOKS_ALLOW_PRIVATE: 'true', JOBS_POLL_INTERVAL_MS: '200', ...extra }));
    servers.push(server);
    return server;
  };

  /** A user with a webhook on `task.reminder`; `remind()` makes a task with a reminder due in 1.5 s and waits for its delivery. */
  const user = async (server: Server, name: string) => {
    const id = `${name}_${Date.now().toString(36)}`;
    const auth = { authorization: `Bearer ${await faultToken(id)}`, 'content-type': 'application/json' };
    const hook = await send(server.url, 'POST', `/api/${id}/webhooks`, { headers: auth, body: JSON.stringify({ url: receiver.url(`/${id}`), events: ['task.reminder'] }) });
    expect(hook.status, hook.body).toBe(201);
    return {
      id,
      auth,
      async remind(title: string) {
        const fireAt = new Date(Date.now() + 1500).toISOString();
        const made = await send(server.url, 'POST', routes.tasks(id), { headers: auth, body: JSON.stringify({ title, reminders: [{ at: fireAt }] }) });
        expect(made.status, made.body).toBe(201);
        const task = (jsonOf(made) as { data: { id: number } }).data.id;
        await waitFor(`the reminder of "${title}"`, () => receiver.bodies(`/${id}`).some((b) => b.includes(`"title":"${title}"`)), 20_000);
        return task;
      },
    };
  };

  it('runs in a child of the server at JOBS_NICE lower; a reminder reaches the stream and the webhook', async () => {
    const server = await start({ JOBS_NICE: '7' });
    const [jobs, ...others] = childrenOf(server.pid);
    expect(others).toEqual([]);
    expect(jobs?.cmd).toMatch(/dist\/src\/jobs-main\.js$/);
    expect(jobs?.nice).toBe(Math.min(19, (statOf(server.pid)?.nice ?? 0) + 7));

    const me = await user(server, 'separate');
    const stream = await openSse(`${server.url}${routes.events(me.id)}`, { authorization: me.auth.authorization });
    expect(stream.status).toBe(200);
    const task = await me.remind('from the job process');
    const event = await stream.next((e) => e.event === 'reminder', 10_000);
    expect(JSON.parse(event.data)).toMatchObject({ type: 'reminder', task: { id: task, title: 'from the job process' } });
    stream.close();
  }, 60_000);

  it('killed, it is started again and the next reminder fires; the API answers meanwhile', async () => {
    const server = await start();
    const me = await user(server, 'restart');
    const [first] = childrenOf(server.pid);
    expect(first).toBeDefined();
    process.kill(first!.pid, 'SIGKILL');
    const read = await send(server.url, 'GET', routes.tasks(me.id), { headers: me.auth });
    expect(read.status).toBe(200);
    await waitFor('another job process', () => childrenOf(server.pid).some((c) => c.pid !== first!.pid && c.cmd.endsWith('jobs-main.js')), 15_000);
    expect(server.logLines().filter((l) => l.msg?.startsWith('jobs: the job process ended')).map((l) => [l.level, l.signal])).toEqual([[40, 'SIGKILL']]);
    await me.remind('after the restart');
  }, 60_000);

  it('SIGTERM stops the server and its job process (exit 0); SIGKILL of the server leaves none behind', async () => {
    const a = await start();
    const [jobsA] = childrenOf(a.pid);
    expect(jobsA).toBeDefined();
    expect(await a.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(alive(jobsA!.pid)).toBe(false);
    expect(a.logLines().filter((l) => (l.level ?? 0) >= 50 || ((l.level ?? 0) >= 40 && /^jobs/.test(l.msg ?? '')))).toEqual([]);

    const b = await start();
    const [jobsB] = childrenOf(b.pid);
    expect(jobsB).toBeDefined();
    expect(await b.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    await waitFor('the orphaned job process to end', () => !alive(jobsB!.pid), 10_000);
  }, 60_000);

  it('JOBS_PROCESS=inline: no other process, and reminders fire', async () => {
    const server = await start({ JOBS_PROCESS: 'inline' });
    expect(childrenOf(server.pid)).toEqual([]);
    await (await user(server, 'inline')).remind('in the server');
  }, 60_000);
});

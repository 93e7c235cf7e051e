import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { cleanEnv, ROOT, run, scratchDir, startServer, TOKEN_JS, type Server } from '../helpers/process.js';

/**
 * The README's minute tour, run through bash as it is written (only the port is another: a free
 * one), against a real server: each answer the README shows under a command is what that command
 * prints, `...` standing for what differs from run to run (ids, times, tokens).
 */

interface Step {
  /** The command as written, continuation lines included. */
  command: string;
  /** The output shown under it (the `# ` lines right after it), if any. */
  expected?: string;
}

/** The first fenced bash block after `heading` in `markdown`. */
function codeBlockAfter(markdown: string, heading: string): string {
  const at = markdown.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`README.md has no "${heading}" section`);
  const open = markdown.indexOf('\n```bash\n', at);
  const close = markdown.indexOf('\n```\n', open + 1);
  if (open < 0 || close < 0) throw new Error(`no bash block under "${heading}"`);
  return markdown.slice(open + '\n```bash\n'.length, close);
}

/**
 * Paragraphs are separated by blank lines; in each, leading comment lines explain, then come
 * commands (lines ending in `\` go on), each followed by the lines of its output as `# ...`.
 */
function parseSteps(block: string): Step[] {
  const steps: Step[] = [];
  for (const paragraph of block.split(/\n\s*\n/)) {
    const lines = paragraph.split('\n');
    let i = 0;
    while (i < lines.length && lines[i]!.startsWith('#')) i++;
    while (i < lines.length) {
      let command = lines[i++]!;
      while (command.endsWith('\\') && i < lines.length) command += `\n${lines[i++]!}`;
      const output: string[] = [];
      while (i < lines.length && lines[i]!.startsWith('# ')) output.push(lines[i++]!.slice(2));
      steps.push(output.length > 0 ? { command, expected: output.join('\n') } : { command });
    }
  }
  return steps;
}

/** `...` stands for anything; the rest is literal. */
function pattern(expected: string): RegExp {
  const parts = expected.split('...').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[\\s\\S]*?')}$`);
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const block = codeBlockAfter(readme, '## A minute tour');
const steps = parseSteps(block);

describe('the README', () => {
  it("'s minute tour shows what the brief of a tour needs, each with its answer", () => {
    const all = steps.map((s) => s.command).join('\n');
    // A token from the CLI, a create, the list, its ETag and a 304 with it, a page by cursor, a toggle.
    for (const part of ['npm run --silent token', '-X POST', '%header{etag}', 'If-None-Match: $ETAG', 'cursor=$CURSOR', '/complete']) {
      expect(all).toContain(part);
    }
    expect(steps.filter((s) => s.expected !== undefined).length).toBeGreaterThanOrEqual(6);
    expect(steps.map((s) => s.expected)).toContain('304');
    // Addresses only of the server `npm start` serves on, which the test replaces.
    expect(new Set([...block.matchAll(/https?:\/\/[^/\s"']+/g)].map((m) => m[0]))).toEqual(new Set(['http://127.0.0.1:8000']));
  });
});

describe.each(drivers)("the README's minute tour, run as written [%s]", (driver) => {
  const secret = randomBytes(24).toString('base64url');
  const cwd = scratchDir('task-api-readme-');
  let db: TestDatabase;
  let server: Server;

  beforeAll(async () => {
    db = await freshDatabase(driver);
    server = await startServer(cwd, cleanEnv({ DATABASE_URL: db.url, BETTER_AUTH_SECRET: secret, DATA_DIR: join(cwd, '.data') }));
  });
  afterAll(async () => {
    await server?.stop('SIGTERM');
    await db?.drop();
  });

  it('every command prints what the README shows under it', async () => {
    const marker = (i: number) => `@@step ${i}@@`;
    const script = steps
      .map((s, i) => `printf '\\n%s\\n' '${marker(i)}'\n${s.command.replaceAll('127.0.0.1:8000', `127.0.0.1:${server.port}`)}`)
      .join('\n');
    // From the project's folder, as the README says; the token command signs with the server's secret.
    const result = await run('bash', ['-c', script], {
      cwd: ROOT,
      env: cleanEnv({ BETTER_AUTH_SECRET: secret, DATA_DIR: join(cwd, '.data') }),
      timeoutMs: 30_000,
    });
    // `npm run token` compiles first when a source changed since the last build (npm test builds before).
    const stderr = result.stderr.replace(/^compiling TypeScript .*\n/m, '');
    expect({ code: result.code, stderr, timedOut: result.timedOut }).toEqual({ code: 0, stderr: '', timedOut: false });

    const printed = steps.map((_, i) => {
      const from = result.stdout.indexOf(`${marker(i)}\n`);
      const to = i + 1 < steps.length ? result.stdout.indexOf(`\n${marker(i + 1)}\n`) : result.stdout.length;
      expect(from, `step ${i} ran`).toBeGreaterThanOrEqual(0);
      return result.stdout.slice(from + marker(i).length + 1, to).trim();
    });
    for (const [i, step] of steps.entries()) {
      if (step.expected === undefined) expect(printed[i], step.command).toBe('');
      else expect(printed[i], step.command).toMatch(pattern(step.expected));
    }

    // And what the tour did is there: two tasks, the first one completed by the toggle.
    const token = (await run(process.execPath, [TOKEN_JS, 'alice'], { cwd, env: cleanEnv({ BETTER_AUTH_SECRET: secret }) })).stdout.trim();
    const list = await fetch(`${server.url}/api/alice/tasks`, { headers: { authorization: `Bearer ${token}` } });
    expect(list.status).toBe(200);
    const tasks = ((await list.json()) as { data: { title: string; completed: boolean; version: number }[] }).data;
    expect(tasks.map((t) => [t.title, t.completed, t.version])).toEqual([
      ['File taxes', false, 1],
      ['Buy milk', true, 2],
    ]);
  }, 40_000);
});

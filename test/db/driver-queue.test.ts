/**
 * postgres.js's connection queue, as `npm install` patches it (scripts/patch-postgres.mjs): the
 * published one grows by a slot per query under steady load and scans all of them per query.
 * Here: the patch is in place, the queue still behaves as a queue, and its array stays bounded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from '../helpers/process.js';

interface Queue<T> {
  readonly length: number;
  readonly capacity: number;
  push(x: T): T;
  shift(): T | undefined;
  remove(x: T): T | null;
}

async function loadQueue(dir: string): Promise<<T>(initial?: T[]) => Queue<T>> {
  return ((await import(pathToFileURL(join(ROOT, 'node_modules/postgres', dir, 'queue.js')).href)) as { default: <T>(initial?: T[]) => Queue<T> }).default;
}

describe("postgres.js's connection queue (patched at install)", () => {
  it('is patched in the files Node loads (ESM and CommonJS), and the check says so', async () => {
    for (const dir of ['src', 'cjs/src']) {
      expect(readFileSync(join(ROOT, 'node_modules/postgres', dir, 'queue.js'), 'utf8')).toContain('task-api patch: scripts/patch-postgres.mjs');
    }
    const check = await run(process.execPath, [join(ROOT, 'scripts/patch-postgres.mjs'), '--check']);
    expect(check.code).toBe(0);
  });

  it('keeps order, removes what is there (and nothing else), and holds a bounded array under steady use', async () => {
    const Queue = await loadQueue('src');
    const q = Queue<string>(['a']);
    q.push('b');
    q.push('c');
    expect(q.shift()).toBe('a');
    expect(q.remove('a')).toBeNull(); // already shifted out
    expect(q.remove('c')).toBe('c');
    expect([q.length, q.shift(), q.length]).toEqual([1, 'b', 0]);

    // What the idle-connection queue of a busy pool does: never empty, a shift and a push per query.
    const idle = Queue<object>();
    const conns = Array.from({ length: 10 }, () => ({}));
    for (const c of conns) idle.push(c);
    for (let i = 0; i < 100_000; i++) {
      const c = idle.shift() as object;
      expect(idle.remove(c)).toBeNull(); // move(c, busy) looks for it where it was
      idle.push(c);
    }
    expect(idle.length).toBe(10);
    expect(idle.capacity).toBeLessThan(200); // the published queue: 100,010
  });
});

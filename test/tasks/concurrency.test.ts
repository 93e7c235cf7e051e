import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyedLimit } from '../../src/lib/keyed-limit.js';
import { drivers } from '../helpers/databases.js';
import { api } from '../helpers/api.js';
import { buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';

describe.each(drivers)('concurrency [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  it('51 parallel toggles end completed, each answer a distinct step', async () => {
    const user = uniqueUser();
    const as = await api(t.app, user);
    const id = (await as.create({ title: 'race' })).json().data.id;
    const answers = await Promise.all(
      Array.from({ length: 51 }, () => as.complete(id)),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(51).fill(200));
    const states = answers.map((a) => a.json().data.completed as boolean);
    // Atomic toggles alternate: 26 answers saw true, 25 saw false, whatever the interleaving.
    expect(states.filter(Boolean)).toHaveLength(26);
    expect((await as.get(id)).json().data.completed).toBe(true);
  });

  it('parallel creates all land, with distinct ids', async () => {
    const user = uniqueUser();
    const as = await api(t.app, user);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => as.create({ title: `t${i}` })),
    );
    expect(answers.every((a) => a.statusCode === 201)).toBe(true);
    expect(new Set(answers.map((a) => a.json().data.id)).size).toBe(40);
    expect((await as.list()).json().data).toHaveLength(40);
  });

  it('failed writes do not hold up the user\'s next ones: 30 parallel 404s and 30 creates, then one more create', async () => {
    const user = uniqueUser();
    const as = await api(t.app, user);
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 2 === 0
          ? as.put(999999, { title: 'nope' })
          : as.create({ title: `t${i}` }),
      ),
    );
    expect(answers.map((a) => a.statusCode).sort()).toEqual([...Array(30).fill(201), ...Array(30).fill(404)]);
    expect((await as.create({ title: 'after' })).statusCode).toBe(201);
  });
});

describe('KeyedLimit (a user\'s writes in flight)', () => {
  it('runs at most `limit` tasks per key at once, in arrival order, other keys untouched, and forgets idle keys', async () => {
    const limit = new KeyedLimit(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const gate = (n: number) => async () => {
      running++;
      most = Math.max(most, running);
      order.push(n);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (n === 3) throw new Error('a failed task');
      return n;
    };
    const other = limit.run('bob', async () => 'bob ran');
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, n) => limit.run('alice', gate(n))));
    expect(await other).toBe('bob ran');
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(limit.size).toBe(0);
  });

  it('an arrival while a finishing task hands its slot to a waiter does not take that slot too (the bound holds for late arrivals)', async () => {
    const limit = new KeyedLimit(2);
    let running = 0;
    let most = 0;
    const late: Promise<void>[] = [];
    const task = (arrivals: boolean) => async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      // Requests reach the limit through chains of promises (hooks, handlers): some arrive while this
      // task's slot is being handed to the waiter it wakes. One chain of each depth covers the window.
      if (arrivals) {
        for (let depth = 0; depth < 12; depth++) {
          let chain: Promise<unknown> = Promise.resolve();
          for (let i = 0; i < depth; i++) chain = chain.then(() => undefined);
          late.push(chain.then(() => limit.run('alice', task(false))));
        }
      }
    };
    await Promise.all([limit.run('alice', task(true)), limit.run('alice', task(false)), limit.run('alice', task(false))]);
    await Promise.all(late);
    expect(most).toBe(2);
    expect(limit.size).toBe(0);
  });
});

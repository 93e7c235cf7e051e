/**
 * Writes racing the deletion of their list: a task created in (or moved to) a list deleted while it
 * waited is a 404 "List not found", never a 500, and nothing of it is left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api } from '../helpers/api.js';
import { buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';

describe.each(drivers)('writes racing a list deletion [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  it('20 creates and 5 moves into a list while it is deleted: each 201/200 or 404, none 5xx; nothing is left in it', async () => {
    for (let round = 0; round < 5; round++) {
      const me = await api(t.app, uniqueUser());
      const list = (await me.createList({ name: `Doomed ${round}` })).json().data;
      const movers = await Promise.all(Array.from({ length: 5 }, (_, i) => me.create({ title: `mover ${i}` })));
      const answers = await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => me.create({ title: `t${i}`, list_id: list.id })),
        ...movers.map((m) => me.move(m.json().data.id, { list_id: list.id })),
        me.delList(list.id),
      ]);
      const statuses = answers.map((a) => a.statusCode);
      expect(statuses.filter((s) => ![200, 201, 404].includes(s)), JSON.stringify(answers.filter((a) => a.statusCode >= 500).map((a) => a.body))).toEqual([]);
      for (const a of answers.filter((x) => x.statusCode === 404)) expect(a.json().error).toMatch(/not found/);
      const [left] = await t.database.rows<{ n: number }>('select count(*)::int as n from tasks where list_id = $1', [list.id]);
      expect(left?.n).toBe(0);
    }
  });
});

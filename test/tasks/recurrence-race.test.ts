/**
 * One occurrence of a recurring task completed at once from two instances (two devices, a retry and
 * its original, a batch and a toggle): it is completed once. One completion recorded, the due date
 * moved on by one occurrence, every answer a 200 with the task as it is; on both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/api.js';
import { anotherInstance, buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';
import { drivers } from '../helpers/databases.js';

describe.each(drivers)('a recurring occurrence completed at once on two instances [%s]', (driver) => {
  let t: TestApp;
  let t2: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
    t2 = await anotherInstance(t);
  }, 60_000);
  afterAll(async () => {
    await t2?.close();
    await t?.close();
  });

  it('completes it once: one completion, due_at one day on, every answer 200', async () => {
    const user = uniqueUser();
    const [a, b] = [await api(t.app, user), await api(t2.app, user)];
    const due = '2030-05-06T07:00:00.000Z';
    const task = (await a.create({ title: 'daily', due_at: due, recurrence: 'FREQ=DAILY' })).json().data as { id: number };
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).complete(task.id, { completed: true, occurrence: due })));
    expect(answers.map((r) => r.statusCode)).toEqual(Array.from({ length: 12 }, () => 200));
    const now = (await a.get(task.id)).json().data as { due_at: string; completed: boolean; version: number };
    expect([now.due_at, now.completed, now.version]).toEqual(['2030-05-07T07:00:00.000Z', false, 2]);
    const completions = (await b.completions(task.id)).json().data as { occurrence_due_at: string }[];
    expect(completions.map((c) => c.occurrence_due_at)).toEqual([due]);
  });
});

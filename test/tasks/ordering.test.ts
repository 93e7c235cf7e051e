/**
 * Each change of a task gets a strictly later `updated_at` than the one before (API.md), also
 * when changes race: 24 parallel PUTs on one task, 40 rounds. The order in which the writes were
 * applied is the order of their `updated_at`, so the write that stays (the task's final title)
 * holds the latest one, and no two writes share one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api } from '../helpers/api.js';
import { buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';
import type { TaskJson } from '../helpers/task-json.js';

const WRITERS = 24;
const ROUNDS = 40;

describe.each(drivers)('updated_at under racing writes [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  it(`${WRITERS} parallel PUTs on one task for ${ROUNDS} rounds: the last applied write holds the latest updated_at, all distinct`, async () => {
    const user = uniqueUser();
    const as = await api(t.app, user);
    const created: TaskJson = (await as.create({ title: 'race' })).json().data;
    let previous = created.updated_at;
    const badRounds: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const answers = await Promise.all(
        Array.from({ length: WRITERS }, (_, i) => as.put(created.id, { title: `r${round} w${i}` })),
      );
      expect(answers.map((a) => a.statusCode)).toEqual(Array(WRITERS).fill(200));
      const written = answers.map((a) => a.json().data as TaskJson);
      const final: TaskJson = (await as.get(created.id)).json().data;
      const last = written.find((w) => w.title === final.title) as TaskJson;
      const times = written.map((w) => Date.parse(w.updated_at));
      const latest = Math.max(...times);
      if (Date.parse(last.updated_at) !== latest || final.updated_at !== last.updated_at) {
        badRounds.push(`round ${round}: the last applied write has ${last.updated_at}, an earlier one ${new Date(latest).toISOString()}`);
      }
      if (new Set(times).size !== WRITERS) badRounds.push(`round ${round}: two writes share an updated_at`);
      if (Math.min(...times) <= Date.parse(previous)) badRounds.push(`round ${round}: a write is not later than the round before`);
      previous = final.updated_at;
    }
    expect(badRounds).toEqual([]);
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { authHeader, buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';

describe.each(drivers)('concurrency [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  it('51 parallel toggles end completed, each answer a distinct step', async () => {
    const user = uniqueUser();
    const headers = await authHeader(user);
    const base = `/api/${user}/tasks`;
    const id = (await t.app.inject({ method: 'POST', url: base, headers, payload: { title: 'race' } })).json().data.id;
    const answers = await Promise.all(
      Array.from({ length: 51 }, () => t.app.inject({ method: 'PATCH', url: `${base}/${id}/complete`, headers })),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(51).fill(200));
    const states = answers.map((a) => a.json().data.completed as boolean);
    // Atomic toggles alternate: 26 answers saw true, 25 saw false, whatever the interleaving.
    expect(states.filter(Boolean)).toHaveLength(26);
    expect((await t.app.inject({ method: 'GET', url: `${base}/${id}`, headers })).json().data.completed).toBe(true);
  });

  it('parallel creates all land, with distinct ids', async () => {
    const user = uniqueUser();
    const headers = await authHeader(user);
    const base = `/api/${user}/tasks`;
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => t.app.inject({ method: 'POST', url: base, headers, payload: { title: `t${i}` } })),
    );
    expect(answers.every((a) => a.statusCode === 201)).toBe(true);
    expect(new Set(answers.map((a) => a.json().data.id)).size).toBe(40);
    expect((await t.app.inject({ method: 'GET', url: base, headers })).json().data).toHaveLength(40);
  });
});

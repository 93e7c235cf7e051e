/**
 * `uid` (API.md, version 3, "Tasks in lists"): chosen by the client on POST (or generated, a UUID),
 * unique among all tasks, immutable. A POST with a uid in use is 409 CONFLICT naming uid and creates
 * nothing; an Idempotency-Key retry of the create that took it still replays its 201.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose } from '../helpers/api.js';
import { buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';
import type { TaskJson } from '../helpers/task-json.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const IN_USE = 'uid is already in use by another task: choose another (nothing was created)';

describe.each(drivers)('uid [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver, { maxTasksPerUser: 5 });
  });
  afterAll(async () => t?.close());

  const fresh = () => `c-${uniqueUser()}`;

  it('is generated (a UUID) when absent, kept as given otherwise, and finds the task with ?uid=', async () => {
    const as = await api(t.app, uniqueUser());
    const generated: TaskJson = (await as.create({ title: 'a' })).json().data;
    expect(generated.uid).toMatch(UUID);
    const uid = fresh();
    const res = await as.create({ title: 'b', uid });
    expect(res.statusCode).toBe(201);
    expect(res.json().data.uid).toBe(uid);
    const found = await as.list({ uid });
    expect(found.statusCode).toBe(200);
    expect(found.json().data.map((x: TaskJson) => x.id)).toEqual([res.json().data.id]);
    expect((await as.get(res.json().data.id)).json().data.uid).toBe(uid);
  });

  it.each([
    ['', 'uid must not be empty'],
    ['x'.repeat(65), 'uid must be at most 64 characters'],
    ['a b', 'uid must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -'],
    ['é', 'uid must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -'],
  ])('POST with uid %j: 400 naming uid, nothing created', async (uid, message) => {
    const as = await api(t.app, uniqueUser());
    expectError(await as.create({ title: 'x', uid }), 400, 'VALIDATION_ERROR', message);
    expect((await as.list()).json().data).toEqual([]);
  });

  it('a uid in use, by the caller or by anyone: 409 CONFLICT naming uid, nothing created', async () => {
    const [a, b] = [await api(t.app, uniqueUser()), await api(t.app, uniqueUser())];
    const uid = fresh();
    expect((await a.create({ title: 'first', uid })).statusCode).toBe(201);
    expectError(await a.create({ title: 'again', uid }), 409, 'CONFLICT', IN_USE);
    expectError(await b.create({ title: 'theirs', uid }), 409, 'CONFLICT', IN_USE);
    expect((await a.list()).json().data.map((x: TaskJson) => x.title)).toEqual(['first']);
    expect((await b.list()).json().data).toEqual([]);
    // Nothing of the refused creates reached the feed either.
    const changes = await b.changes();
    expect(changes.json().data.changes).toEqual([]);
  });

  it('Idempotency-Key: the retried create replays its 201 (not a 409); another key with the same uid is a 409', async () => {
    const as = await api(t.app, uniqueUser());
    const uid = fresh();
    const first = await as.create({ title: 'once', uid }, { 'idempotency-key': 'k1' });
    expect(first.statusCode).toBe(201);
    const again = await as.create({ title: 'once', uid }, { 'idempotency-key': 'k1' });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    const other = await as.create({ title: 'once', uid }, { 'idempotency-key': 'k2' });
    expectError(other, 409, 'CONFLICT', IN_USE);
    // The refusal is an answer too: kept for its key.
    const otherAgain = await as.create({ title: 'once', uid }, { 'idempotency-key': 'k2' });
    expect(otherAgain.statusCode).toBe(409);
    expect(otherAgain.headers['idempotent-replayed']).toBe('true');
    expect((await as.list()).json().data).toHaveLength(1);
  });

  it('racing creates with one uid: exactly one 201, the others 409, and the task limit counts one task', async () => {
    const as = await api(t.app, uniqueUser());
    const uid = fresh();
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => as.create({ title: `r${i}`, uid })));
    expect(answers.filter((a) => a.statusCode === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.statusCode === 409)).toHaveLength(11);
    // MAX_TASKS_PER_USER is 5 here: four more fit, the sixth does not.
    for (let i = 0; i < 4; i++) expect((await as.create({ title: `more ${i}` })).statusCode).toBe(201);
    expectError(await as.create({ title: 'one too many' }), 403, 'TASK_LIMIT_REACHED');
  });

  it('is immutable: a PUT repeating it is accepted, a PUT with another is a 400 naming uid and changes nothing', async () => {
    const as = await api(t.app, uniqueUser());
    const task: TaskJson = (await as.create({ title: 'x', uid: fresh() })).json().data;
    const same = await as.put(task.id, { uid: task.uid, title: 'y' });
    expect(same.statusCode).toBe(200);
    expect(same.json().data).toMatchObject({ uid: task.uid, title: 'y', version: 2 });
    expectError(await as.put(task.id, { uid: fresh(), title: 'z' }), 400, 'VALIDATION_ERROR', 'uid is immutable: it cannot be changed once the task exists');
    expect((await as.get(task.id)).json().data).toMatchObject({ uid: task.uid, title: 'y', version: 2 });
    expectError(await as.put(task.id, loose({ uid: 'a b' })), 400, 'VALIDATION_ERROR', 'uid must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -');
  });

  it('?uid= is validated: 400 naming uid', async () => {
    const as = await api(t.app, uniqueUser());
    expectError(await as.list('?uid=a%20b'), 400, 'VALIDATION_ERROR', 'uid must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -');
  });

  it('every task answer carries it: /changes entries too', async () => {
    const as = await api(t.app, uniqueUser());
    const uid = fresh();
    await as.create({ title: 'x', uid });
    const entries = (await as.changes()).json().data.changes;
    expect(entries).toEqual([{ type: 'upsert', task: expect.objectContaining({ uid, parent_id: null, position: 'a0', assignee_id: null, list_id: expect.any(Number) }) }]);
  });
});

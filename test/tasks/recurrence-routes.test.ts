/**
 * Occurrence-guarded completion, skip and the completions of a recurring task (API.md, version 3,
 * "Recurrence").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api } from '../helpers/api.js';
import { buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';

const DUE = '2027-01-01T09:00:00.000Z';

describe.each(drivers)('recurrence routes [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  it('a completion with occurrence happens once: a duplicate answers the task unchanged and never skips one', async () => {
    const user = uniqueUser();
    const as = await api(t.app, user);
    const task = (await as.create({ title: 'daily', due_at: DUE, recurrence: 'FREQ=DAILY' })).json().data;
    const first = await as.complete(task.id, { completed: true, occurrence: '2027-01-01T10:00:00+01:00' });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ data: expect.objectContaining({ due_at: '2027-01-02T09:00:00.000Z', completed: false, version: 2 }), message: 'Task marked as completed' });
    const again = await as.complete(task.id, { completed: true, occurrence: DUE });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ data: first.json().data, message: 'Task marked as completed' });
    expect(again.headers.etag).toBe('"2"');
    const done = (await as.completions(task.id)).json();
    expect(done).toEqual({ data: [{ occurrence_due_at: DUE, completed_at: first.json().data.updated_at, completed_by: user }], message: 'Completions retrieved successfully', next_cursor: null });
  });

  it('skip moves to the next occurrence without a completion; 400 when the task does not recur, 409 when the series has ended', async () => {
    const as = await api(t.app, uniqueUser());
    const task = (await as.create({ title: 'weekly', due_at: DUE, recurrence: 'FREQ=WEEKLY;COUNT=2' })).json().data;
    const res = await as.skip(task.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ data: expect.objectContaining({ due_at: '2027-01-08T09:00:00.000Z', completed: false, version: 2 }), message: 'Task skipped successfully' });
    expect((await as.completions(task.id)).json().data).toEqual([]);
    expectError(await as.skip(task.id), 409, 'CONFLICT', 'The series has no next occurrence (COUNT or UNTIL): complete or delete the task instead');
    const once = (await as.create({ title: 'once', due_at: DUE })).json().data;
    expectError(await as.skip(once.id), 400, 'VALIDATION_ERROR', 'The task does not recur: only a task with a recurrence can skip an occurrence');
    expectError(await as.skip(999_999_999), 404, 'NOT_FOUND', 'Task not found');
    // Missed occurrences collapse on skip too.
    const old = (await as.create({ title: 'old', due_at: '2026-01-01T09:00:00.000Z', recurrence: 'FREQ=DAILY' })).json().data;
    expect(Date.parse((await as.skip(old.id)).json().data.due_at)).toBeGreaterThan(Date.now());
  });

  it('completions: newest first, in pages; 404 for a task the caller cannot see', async () => {
    const user = uniqueUser();
    const as = await api(t.app, user);
    const task = (await as.create({ title: 'daily', due_at: DUE, recurrence: 'FREQ=DAILY' })).json().data;
    const dues: string[] = [];
    for (let i = 0; i < 5; i++) dues.push((await as.complete(task.id)).json().data.due_at);
    const occurrences = [DUE, ...dues.slice(0, 4)].reverse();
    const seen: string[] = [];
    let cursor: string | null | undefined;
    do {
      const page = await as.completions(task.id, cursor ? { limit: 2, cursor } : { limit: 2 });
      expect(page.statusCode, page.body).toBe(200);
      expect(page.json().data.length).toBeLessThanOrEqual(2);
      for (const c of page.json().data) {
        expect(c.completed_by).toBe(user);
        seen.push(c.occurrence_due_at);
      }
      cursor = page.json().next_cursor;
    } while (cursor);
    expect(seen).toEqual(occurrences);
    expectError(await as.completions(task.id, { cursor: 'nope' }), 400, 'VALIDATION_ERROR', 'cursor is not a cursor of this API (take next_cursor of the previous page)');
    const other = await api(t.app, uniqueUser());
    expectError(await other.completions(task.id), 404, 'NOT_FOUND', 'Task not found');
  });
});

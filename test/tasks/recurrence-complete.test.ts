/**
 * Completing a recurring task (API.md, version 3, "Recurrence"): while a next occurrence exists, a
 * completion is recorded, the task stays pending at the first occurrence after both the old due_at
 * and now (in its time zone, across daylight-saving changes), its subtasks reopen; when the series
 * has ended (COUNT, UNTIL) it completes as any other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api } from '../helpers/api.js';
import { buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';

const DAY = 86_400_000;

describe.each(drivers)('completing a recurring task [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  const completions = async (id: number) =>
    (
      await t.database.sql<{ occurrence_due_at: Date; completed_by: string }[]>`select occurrence_due_at, completed_by from task_completions where task_id = ${id} order by id`
    ).map((r) => [new Date(r.occurrence_due_at).toISOString(), r.completed_by]);

  it.each([
    ['Europe/Berlin', 'spring', '2027-03-22T08:00:00.000Z', '2027-03-29T07:00:00.000Z'],
    ['Europe/Berlin', 'autumn', '2027-10-25T07:00:00.000Z', '2027-11-01T08:00:00.000Z'],
    ['America/New_York', 'spring', '2027-03-08T14:00:00.000Z', '2027-03-15T13:00:00.000Z'],
    ['America/New_York', 'autumn', '2027-11-01T13:00:00.000Z', '2027-11-08T14:00:00.000Z'],
    // The southern hemisphere: summer time ends on 4 April and starts on 3 October 2027.
    ['Australia/Sydney', 'autumn (April)', '2027-03-28T22:00:00.000Z', '2027-04-04T23:00:00.000Z'],
    ['Australia/Sydney', 'spring (October)', '2027-09-26T23:00:00.000Z', '2027-10-03T22:00:00.000Z'],
    // No summer time at all, and an offset of half an hour.
    ['Asia/Kolkata', 'March (no)', '2027-03-22T03:30:00.000Z', '2027-03-29T03:30:00.000Z'],
  ])('every Monday 09:00 in %s stays 09:00 across the %s change', async (zone, _season, due, next) => {
    const user = uniqueUser();
    const as = await api(t.app, user);
    const task = (await as.create({ title: 'standup', due_at: due, recurrence: 'FREQ=WEEKLY;BYDAY=MO', time_zone: zone })).json().data;
    const res = await as.complete(task.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().message).toBe('Task marked as completed');
    expect(res.json().data).toMatchObject({ completed: false, completed_at: null, due_at: next, version: 2 });
    expect(await completions(task.id)).toEqual([[due, user]]);
  });

  it.each([
    ['Europe/Berlin', 'FREQ=MONTHLY;BYMONTHDAY=15', 'spring', '2027-03-15T08:00:00.000Z', '2027-04-15T07:00:00.000Z'],
    ['Europe/Berlin', 'FREQ=MONTHLY;BYMONTHDAY=15', 'autumn', '2027-10-15T07:00:00.000Z', '2027-11-15T08:00:00.000Z'],
    ['America/New_York', 'FREQ=MONTHLY;BYDAY=-1FR', 'spring', '2027-02-26T14:00:00.000Z', '2027-03-26T13:00:00.000Z'],
    ['America/New_York', 'FREQ=MONTHLY;BYDAY=-1FR', 'autumn', '2027-10-29T13:00:00.000Z', '2027-11-26T14:00:00.000Z'],
    ['Australia/Sydney', 'FREQ=MONTHLY;BYMONTHDAY=15', 'autumn (April)', '2027-03-14T22:00:00.000Z', '2027-04-14T23:00:00.000Z'],
    ['Australia/Sydney', 'FREQ=MONTHLY;BYMONTHDAY=15', 'spring (October)', '2027-09-14T23:00:00.000Z', '2027-10-14T22:00:00.000Z'],
  ])('monthly at 09:00 in %s (%s) stays 09:00 across the %s change', async (zone, rule, _season, due, next) => {
    const as = await api(t.app, uniqueUser());
    const task = (await as.create({ title: 'rent', due_at: due, recurrence: rule, time_zone: zone })).json().data;
    const res = await as.complete(task.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toMatchObject({ completed: false, due_at: next, version: 2 });
  });

  it('through POST /tasks/batch: a complete with its occurrence advances once; the same again in the batch changes nothing; each answered as the route', async () => {
    const user = uniqueUser();
    const as = await api(t.app, user);
    const due = '2027-03-22T08:00:00.000Z';
    const task = (await as.create({ title: 'standup', due_at: due, recurrence: 'FREQ=WEEKLY;BYDAY=MO', time_zone: 'Europe/Berlin' })).json().data;
    const op = { op: 'complete' as const, id: task.id, completed: true, occurrence: due };
    const res = await as.batch({ operations: [op, op] });
    expect(res.statusCode, res.body).toBe(200);
    const [first, second] = res.json().data.results;
    expect(first).toMatchObject({ status: 200, message: 'Task marked as completed', data: { completed: false, due_at: '2027-03-29T07:00:00.000Z', version: 2 } });
    expect(second).toMatchObject({ status: 200, message: 'Task marked as completed', data: { completed: false, due_at: '2027-03-29T07:00:00.000Z', version: 2 } });
    expect(await completions(task.id)).toEqual([[due, user]]);
  });

  it('a daily 02:30 in Europe/Berlin on the spring change (02:00 -> 03:00): 03:30 that day, the gap moved forward (RFC 5545); 02:30 the day after', async () => {
    const as = await api(t.app, uniqueUser());
    // Saturday 27 March 2027, 02:30 CET (01:30Z); on Sunday 02:30 does not exist.
    const task = (await as.create({ title: 'backup', due_at: '2027-03-27T01:30:00.000Z', recurrence: 'FREQ=DAILY', time_zone: 'Europe/Berlin' })).json().data;
    const sunday = await as.complete(task.id);
    expect(sunday.statusCode, sunday.body).toBe(200);
    // 02:30 CET read with the offset before the gap: 01:30Z, which is 03:30 CEST.
    expect(sunday.json().data).toMatchObject({ completed: false, due_at: '2027-03-28T01:30:00.000Z', version: 2 });
    // An edit that sends the due again unchanged (as an edit form does) keeps the series at 02:30.
    const same = await as.put(task.id, { title: 'nightly backup', due_at: '2027-03-28T01:30:00.000Z', recurrence: 'FREQ=DAILY', time_zone: 'Europe/Berlin' });
    expect(same.statusCode, same.body).toBe(200);
    const monday = await as.complete(task.id);
    // Monday 02:30 CEST: 00:30Z.
    expect(monday.json().data).toMatchObject({ completed: false, due_at: '2027-03-29T00:30:00.000Z', version: 4 });
  });

  it('skipping into the gap moves the same way; the due sent again unchanged keeps the series at 02:30, a due changed by the caller makes its own time the series\' time', async () => {
    const as = await api(t.app, uniqueUser());
    const task = (await as.create({ title: 'backup', due_at: '2027-03-27T01:30:00.000Z', recurrence: 'FREQ=DAILY', time_zone: 'Europe/Berlin' })).json().data;
    const skipped = await as.skip(task.id);
    expect(skipped.statusCode, skipped.body).toBe(200);
    expect(skipped.json().data).toMatchObject({ due_at: '2027-03-28T01:30:00.000Z', version: 2 });
    // The due sent again unchanged (the simple PUT path, no rule in the body) keeps the series at 02:30 ...
    const same = await as.put(task.id, { title: 'nightly backup', due_at: '2027-03-28T01:30:00.000Z' });
    expect(same.statusCode, same.body).toBe(200);
    // ... and a due set by the caller (Sunday 04:30 CEST) makes 04:30 the series' time: Monday 04:30 CEST.
    const moved = await as.put(task.id, { title: 'nightly backup', due_at: '2027-03-28T02:30:00.000Z' });
    expect(moved.statusCode, moved.body).toBe(200);
    const monday = await as.complete(task.id);
    expect(monday.json().data).toMatchObject({ completed: false, due_at: '2027-03-29T02:30:00.000Z', version: 5 });
  });

  it('missed occurrences collapse: the next due is the first after now', async () => {
    const as = await api(t.app, uniqueUser());
    const task = (await as.create({ title: 'daily', due_at: '2026-01-05T09:00:00.000Z', recurrence: 'FREQ=DAILY' })).json().data;
    const before = Date.now();
    const res = await as.complete(task.id, { completed: true });
    expect(res.statusCode, res.body).toBe(200);
    const due = Date.parse(res.json().data.due_at);
    const nine = new Date(before);
    nine.setUTCHours(9, 0, 0, 0);
    const expected = nine.getTime() > before ? nine.getTime() : nine.getTime() + DAY;
    expect(due).toBe(expected);
    expect(res.json().data.completed).toBe(false);
  });

  it('COUNT and UNTIL end the series: the last occurrence completes as any task', async () => {
    const as = await api(t.app, uniqueUser());
    for (const rule of ['FREQ=DAILY;COUNT=2', 'FREQ=DAILY;UNTIL=20270102T090000Z']) {
      const task = (await as.create({ title: rule, due_at: '2027-01-01T09:00:00.000Z', recurrence: rule })).json().data;
      const first = await as.complete(task.id);
      expect(first.json().data).toMatchObject({ completed: false, due_at: '2027-01-02T09:00:00.000Z', version: 2 });
      const second = await as.complete(task.id);
      expect(second.json().message).toBe('Task marked as completed');
      expect(second.json().data).toMatchObject({ completed: true, due_at: '2027-01-02T09:00:00.000Z', version: 3 });
      expect((await completions(task.id)).length).toBe(1);
    }
  });

  it('PUT with completed: true moves it on with its own message; the subtasks reopen, each its own change', async () => {
    const as = await api(t.app, uniqueUser());
    const parent = (await as.create({ title: 'clean', due_at: '2027-01-04T18:00:00.000Z', recurrence: 'FREQ=WEEKLY' })).json().data;
    const child = (await as.create({ title: 'kitchen', parent_id: parent.id })).json().data;
    const open = (await as.create({ title: 'bath', parent_id: parent.id })).json().data;
    await as.complete(child.id, { completed: true });
    const cursor = (await as.changes()).json().data.cursor as string;
    const res = await as.put(parent.id, { completed: true });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().message).toBe('Task updated successfully');
    expect(res.json().data).toMatchObject({ completed: false, due_at: '2027-01-11T18:00:00.000Z', version: 2 });
    expect((await as.get(child.id)).json().data).toMatchObject({ completed: false, completed_at: null, version: 3 });
    expect((await as.get(open.id)).json().data).toMatchObject({ completed: false, version: 1 });
    const changed = (await as.changes({ since: cursor })).json().data.changes as { task: { id: number } }[];
    expect(changed.map((c) => c.task.id).sort((a, b) => a - b)).toEqual([parent.id, child.id]);
  });

  it('repeat_from completion: the rule starts again on the day of completion at due_at\'s time', async () => {
    const as = await api(t.app, uniqueUser());
    const task = (await as.create({ title: 'water', due_at: '2026-01-05T09:00:00.000Z', recurrence: 'FREQ=DAILY;INTERVAL=3', repeat_from: 'completion' })).json().data;
    const today = new Date();
    today.setUTCHours(9, 0, 0, 0);
    const res = await as.complete(task.id);
    expect(res.json().data.due_at).toBe(new Date(today.getTime() + 3 * DAY).toISOString());
  });

  it('a task that does not recur, or is already completed, completes and reopens as before', async () => {
    const as = await api(t.app, uniqueUser());
    const task = (await as.create({ title: 'once', due_at: '2027-01-01T09:00:00.000Z' })).json().data;
    expect((await as.complete(task.id)).json().data).toMatchObject({ completed: true, due_at: '2027-01-01T09:00:00.000Z' });
    const series = (await as.create({ title: 'r', due_at: '2027-01-01T09:00:00.000Z', recurrence: 'FREQ=DAILY;COUNT=1' })).json().data;
    expect((await as.complete(series.id)).json().data).toMatchObject({ completed: true });
    const reopened = await as.complete(series.id);
    expect(reopened.json().message).toBe('Task marked as pending');
    expect(reopened.json().data).toMatchObject({ completed: false, due_at: '2027-01-01T09:00:00.000Z' });
  });
});

/**
 * The recurrence fields (API.md, version 3, "Recurrence"): `recurrence` (an RRULE value of the
 * supported parts), `repeat_from` and `time_zone`, on POST and PUT, in answers and in /changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose } from '../helpers/api.js';
import { buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';

const DUE = '2026-12-07T08:00:00.000Z';
const SUPPORTED = 'supported: FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS, COUNT, UNTIL, WKST';

describe.each(drivers)('recurrence fields [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  it('a new task does not recur; the fields are stored as given and answered', async () => {
    const as = await api(t.app, uniqueUser());
    const plain = (await as.create({ title: 'once' })).json().data;
    expect([plain.recurrence, plain.repeat_from, plain.time_zone]).toEqual([null, 'due', null]);
    const res = await as.create({ title: 'water', due_at: DUE, recurrence: 'FREQ=WEEKLY;BYDAY=MO,TH', repeat_from: 'completion', time_zone: 'Europe/Berlin' });
    expect(res.statusCode, res.body).toBe(201);
    const task = res.json().data;
    expect(task).toMatchObject({ due_at: DUE, recurrence: 'FREQ=WEEKLY;BYDAY=MO,TH', repeat_from: 'completion', time_zone: 'Europe/Berlin' });
    expect((await as.get(task.id)).json().data).toEqual(task);
    const changes = await as.changes();
    expect(changes.statusCode).toBe(200);
    const upserted = (changes.json().data.changes as { task?: { id: number } }[]).find((c) => c.task?.id === task.id);
    expect(upserted?.task).toEqual(task);
  });

  it.each([
    'FREQ=DAILY',
    'FREQ=DAILY;INTERVAL=3',
    'FREQ=WEEKLY;BYDAY=MO,TH;WKST=MO',
    'FREQ=MONTHLY;BYDAY=-1FR',
    'FREQ=MONTHLY;BYDAY=1MO,3MO',
    'FREQ=MONTHLY;BYMONTHDAY=1,15,-1',
    'FREQ=YEARLY;BYMONTH=3;BYDAY=2SU',
    'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1',
    'FREQ=WEEKLY;COUNT=10',
    'FREQ=DAILY;UNTIL=20270101T000000Z',
    'FREQ=DAILY;UNTIL=20270101',
  ])('takes %s', async (rule) => {
    const as = await api(t.app, uniqueUser());
    const res = await as.create({ title: 'r', due_at: DUE, recurrence: rule });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().data.recurrence).toBe(rule);
  });

  it.each([
    ['FREQ=HOURLY', 'recurrence part FREQ has a value that is not supported: "HOURLY"'],
    ['FREQ=MINUTELY', 'recurrence part FREQ has a value that is not supported: "MINUTELY"'],
    ['INTERVAL=2', 'recurrence part FREQ is required (DAILY, WEEKLY, MONTHLY or YEARLY)'],
    ['FREQ=DAILY;BYHOUR=9', `recurrence part "BYHOUR" is not supported (${SUPPORTED})`],
    ['FREQ=DAILY;BYMINUTE=0', `recurrence part "BYMINUTE" is not supported (${SUPPORTED})`],
    ['FREQ=YEARLY;BYWEEKNO=1', `recurrence part "BYWEEKNO" is not supported (${SUPPORTED})`],
    ['FREQ=YEARLY;BYYEARDAY=1', `recurrence part "BYYEARDAY" is not supported (${SUPPORTED})`],
    ['FREQ=DAILY;RSCALE=HEBREW', `recurrence part "RSCALE" is not supported (${SUPPORTED})`],
    ['RRULE:FREQ=DAILY', 'recurrence must be an RRULE value without the RRULE: prefix, e.g. FREQ=WEEKLY;BYDAY=MO'],
    ['FREQ=DAILY;INTERVAL=0', 'recurrence part INTERVAL has a value that is not supported: "0"'],
    ['FREQ=DAILY;INTERVAL=x', 'recurrence part INTERVAL has a value that is not supported: "x"'],
    ['FREQ=WEEKLY;BYDAY=1MO', 'recurrence part BYDAY has a value that is not supported: "1MO" (ordinals such as 1MO only with FREQ=MONTHLY or YEARLY)'],
    ['FREQ=WEEKLY;BYDAY=XX', 'recurrence part BYDAY has a value that is not supported: "XX"'],
    ['FREQ=MONTHLY;BYDAY=0MO', 'recurrence part BYDAY has a value that is not supported: "0MO"'],
    ['FREQ=MONTHLY;BYMONTHDAY=32', 'recurrence part BYMONTHDAY has a value that is not supported: "32"'],
    ['FREQ=YEARLY;BYMONTH=13', 'recurrence part BYMONTH has a value that is not supported: "13"'],
    ['FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0', 'recurrence part BYSETPOS has a value that is not supported: "0"'],
    ['FREQ=DAILY;COUNT=0', 'recurrence part COUNT has a value that is not supported: "0"'],
    ['FREQ=DAILY;UNTIL=2027-01-01', 'recurrence part UNTIL has a value that is not supported: "2027-01-01"'],
    ['FREQ=DAILY;UNTIL=20270230', 'recurrence part UNTIL has a value that is not supported: "20270230"'],
    ['FREQ=DAILY;WKST=XY', 'recurrence part WKST has a value that is not supported: "XY"'],
    ['FREQ=DAILY;COUNT=2;UNTIL=20270101', 'recurrence part UNTIL cannot be given with COUNT (RFC 5545: one or the other)'],
    ['FREQ=DAILY;FREQ=WEEKLY', 'recurrence part FREQ is given twice'],
    ['FREQ=DAILY;COUNT', 'recurrence part COUNT needs a value (COUNT=...)'],
  ])('refuses %s naming recurrence and the part', async (rule, message) => {
    const as = await api(t.app, uniqueUser());
    expectError(await as.create({ title: 'r', due_at: DUE, recurrence: rule }), 400, 'VALIDATION_ERROR', message);
    const task = (await as.create({ title: 'r', due_at: DUE })).json().data;
    expectError(await as.put(task.id, { recurrence: rule }), 400, 'VALIDATION_ERROR', message);
    expect((await as.get(task.id)).json().data).toEqual(task);
  });

  it('a recurrence needs a due_at, on POST and whatever PUT leaves', async () => {
    const as = await api(t.app, uniqueUser());
    const NEEDS = 'recurrence needs a due_at: the first occurrence (set due_at too, or recurrence: null)';
    expectError(await as.create({ title: 'r', recurrence: 'FREQ=DAILY' }), 400, 'VALIDATION_ERROR', NEEDS);
    expectError(await as.create({ title: 'r', recurrence: 'FREQ=DAILY', due_at: null }), 400, 'VALIDATION_ERROR', NEEDS);
    const bare = (await as.create({ title: 'bare' })).json().data;
    expectError(await as.put(bare.id, { recurrence: 'FREQ=DAILY' }), 400, 'VALIDATION_ERROR', NEEDS);
    const both = await as.put(bare.id, { recurrence: 'FREQ=DAILY', due_at: DUE });
    expect(both.statusCode, both.body).toBe(200);
    expect(both.json().data).toMatchObject({ recurrence: 'FREQ=DAILY', due_at: DUE, version: 2 });
    expectError(await as.put(bare.id, { due_at: null }), 400, 'VALIDATION_ERROR', NEEDS);
    const cleared = await as.put(bare.id, { due_at: null, recurrence: null });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json().data).toMatchObject({ recurrence: null, due_at: null, version: 3 });
  });

  it('time_zone: null or an IANA zone; repeat_from: due or completion', async () => {
    const as = await api(t.app, uniqueUser());
    for (const zone of ['America/New_York', 'UTC', 'Asia/Kolkata']) {
      const res = await as.create({ title: 'z', time_zone: zone });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().data.time_zone).toBe(zone);
    }
    for (const zone of ['Mars/Olympus_Mons', 'Europe/Berlinn']) {
      expectError(await as.create({ title: 'z', time_zone: zone }), 400, 'VALIDATION_ERROR', 'time_zone must be null or an IANA time zone name, e.g. Europe/Berlin');
    }
    expectError(await as.create({ title: 'z', time_zone: '+01:00' }), 400, 'VALIDATION_ERROR', 'time_zone must be null or an IANA time zone name, e.g. Europe/Berlin');
    expectError(await as.create(loose({ title: 'z', repeat_from: 'start' })), 400, 'VALIDATION_ERROR', 'repeat_from must be one of due, completion');
    const task = (await as.create({ title: 'z' })).json().data;
    const res = await as.put(task.id, { repeat_from: 'completion', time_zone: 'Europe/Berlin' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toMatchObject({ repeat_from: 'completion', time_zone: 'Europe/Berlin', recurrence: null });
  });
});

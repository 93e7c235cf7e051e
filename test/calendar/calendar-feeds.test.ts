/**
 * Calendar feeds (API.md, Version 3, "Calendar feeds"): made, listed and revoked through the API;
 * read as iCalendar without a token at their address, as calendar apps poll it (ETag, 304).
 */
import ICAL from 'ical.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose, type Api } from '../helpers/api.js';
import { buildTestApp, expectError, logCapture, uniqueUser, type LogCapture, type TestApp } from '../helpers/app.js';

const URL_SHAPE = /^\/ical\/[A-Za-z0-9_-]{43}\.ics$/;

describe.each(drivers)('calendar feeds [%s]', (driver) => {
  let t: TestApp;
  let logs: LogCapture;
  beforeAll(async () => {
    logs = logCapture();
    t = await buildTestApp(driver, { maxCalendarFeedsPerUser: 3, logLevel: 'info' }, { logStream: logs.stream });
  });
  afterAll(async () => t?.close());

  const inboxOf = async (user: string) => (await t.database.rows<{ id: number }>('select id from lists where owner_id = $1 and is_default', [user]))[0]!.id;
  const ics = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });
  /** The calendar's components of one kind, as ical.js reads the text back. */
  const parse = (text: string, kind: 'vevent' | 'vtodo') => new ICAL.Component(ICAL.parse(text)).getAllSubcomponents(kind);
  const prop = (c: ICAL.Component, name: string) => c.getFirstPropertyValue(name);

  async function user(): Promise<Api> {
    const me = await api(t.app, uniqueUser());
    expect((await me.list()).statusCode).toBe(200); // the Inbox is made
    return me;
  }

  it('POST makes one (events of all lists by default), GET lists it with its address, DELETE revokes it: then 404 everywhere', async () => {
    const me = await user();
    const made = await me.calendarFeeds.create({});
    expect(made.statusCode).toBe(201);
    const feed = made.json().data;
    expect(made.json()).toEqual({ data: { id: feed.id, url: feed.url, list_id: null, format: 'events' }, message: 'Calendar feed created successfully' });
    expect(feed.url).toMatch(URL_SHAPE);

    const listed = await me.calendarFeeds.list();
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual({ data: [feed], message: 'Calendar feeds retrieved successfully' });
    expect((await ics(feed.url)).statusCode).toBe(200);

    const gone = await me.calendarFeeds.del(feed.id);
    expect(gone.statusCode).toBe(200);
    expect(gone.json()).toEqual({ data: feed, message: 'Calendar feed deleted successfully' });
    expectError(await ics(feed.url), 404, 'NOT_FOUND', 'Calendar feed not found');
    expectError(await me.calendarFeeds.del(feed.id), 404, 'NOT_FOUND', 'Calendar feed not found');
    expect((await me.calendarFeeds.list()).json().data).toEqual([]);
  });

  it('a list the caller is not a member of is a 404; bad fields are 400 naming them; nothing is made', async () => {
    const me = await user();
    const other = await user();
    const theirs = await inboxOf(other.user);
    expectError(await me.calendarFeeds.create({ list_id: theirs }), 404, 'NOT_FOUND', 'List not found');
    expectError(await me.calendarFeeds.create({ list_id: 2_000_000_000 }), 404, 'NOT_FOUND', 'List not found');
    for (const [body, field] of [
      [{ list_id: 'seven' }, 'list_id'],
      [{ list_id: 0 }, 'list_id'],
      [{ format: 'agenda' }, 'format'],
    ] as const) {
      const res = await me.calendarFeeds.create(loose(body));
      expectError(res, 400, 'VALIDATION_ERROR');
      expect(res.json().error).toContain(field);
    }
    expect((await me.calendarFeeds.list()).json().data).toEqual([]);
    // Another user's feed id is not theirs to revoke.
    const mine = (await other.calendarFeeds.create({})).json().data;
    expectError(await me.calendarFeeds.del(mine.id), 404, 'NOT_FOUND', 'Calendar feed not found');
    expect((await ics(mine.url)).statusCode).toBe(200);
  });

  it('events: one VEVENT per pending task with a due date, at that instant, 30 minutes; CRLF; text/calendar', async () => {
    const me = await user();
    const due = '2027-03-01T09:30:00.000Z';
    const a = (await me.create({ title: 'Dentist, then; lunch\nwith Sam', description: 'Bring the form', due_at: due, priority: 'high', tags: ['health', 'family'] })).json().data;
    await me.create({ title: 'No date' });
    const done = (await me.create({ title: 'Done already', due_at: due })).json().data;
    expect((await me.complete(done.id, { completed: true })).statusCode).toBe(200);
    const feed = (await me.calendarFeeds.create({ list_id: await inboxOf(me.user), format: 'events' })).json().data;
    expect(feed.list_id).toBe(await inboxOf(me.user));

    const res = await ics(feed.url);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/calendar; charset=utf-8');
    expect(res.body.startsWith('BEGIN:VCALENDAR\r\n')).toBe(true);
    expect(res.body.replace(/\r\n/g, '')).not.toContain('\n');
    const events = parse(res.body, 'vevent');
    expect(events).toHaveLength(1);
    const [event] = events as [ICAL.Component];
    expect(prop(event, 'uid')).toBe(a.uid);
    expect(prop(event, 'summary')).toBe('Dentist, then; lunch\nwith Sam');
    expect(prop(event, 'description')).toBe('Bring the form');
    expect((prop(event, 'dtstart') as ICAL.Time).toJSDate().toISOString()).toBe(due);
    expect((prop(event, 'duration') as ICAL.Duration).toSeconds()).toBe(1800);
    expect(prop(event, 'priority')).toBe(1);
    expect(event.getFirstProperty('categories')?.getValues()).toEqual(['health', 'family']);
    expect(new ICAL.Component(ICAL.parse(res.body)).getFirstPropertyValue('x-wr-calname')).toBe('Inbox');
  });

  it('todos: one VTODO per task with its state (STATUS, COMPLETED, DUE, PRIORITY, RELATED-TO)', async () => {
    const me = await user();
    const open = (await me.create({ title: 'Open', due_at: '2027-01-02T03:04:05.006Z', priority: 'low' })).json().data;
    const closed = (await me.create({ title: 'Closed', priority: 'medium' })).json().data;
    const completed = (await me.complete(closed.id, { completed: true })).json().data;
    await (me.create({ title: 'Child', parent_id: open.id, uid: 'child-uid-1' }));
    const feed = (await me.calendarFeeds.create({ format: 'todos' })).json().data;
    const todos = parse((await ics(feed.url)).body, 'vtodo');
    const byUid = new Map(todos.map((c) => [prop(c, 'uid'), c]));
    expect([...byUid.keys()].sort()).toEqual([closed.uid, open.uid, 'child-uid-1'].sort());
    // A subtask names its parent (RELATED-TO, RFC 5545: the parent's UID).
    expect(prop(byUid.get('child-uid-1')!, 'related-to')).toBe(open.uid);
    expect(prop(byUid.get(open.uid)!, 'related-to')).toBeNull();
    const o = byUid.get(open.uid)!;
    expect({ status: prop(o, 'status'), priority: prop(o, 'priority'), due: (prop(o, 'due') as ICAL.Time).toJSDate().toISOString(), completed: prop(o, 'completed') }).toEqual({
      status: 'NEEDS-ACTION',
      priority: 9,
      due: '2027-01-02T03:04:05.000Z',
      completed: null,
    });
    const c = byUid.get(closed.uid)!;
    expect({ status: prop(c, 'status'), priority: prop(c, 'priority'), completed: (prop(c, 'completed') as ICAL.Time).toJSDate().toISOString() }).toEqual({
      status: 'COMPLETED',
      priority: 5,
      completed: new Date(Math.floor(Date.parse(completed.completed_at) / 1000) * 1000).toISOString(),
    });
  });

  it('todos: a VALARM per reminder (a relative TRIGGER before DUE, or an absolute one in UTC)', async () => {
    const me = await user();
    const task = (
      await me.create({ title: 'Dentist', due_at: '2027-03-04T09:00:00Z', reminders: [{ minutes_before: 90 }, { at: '2027-03-03T18:00:00+01:00' }] })
    ).json().data;
    const feed = (await me.calendarFeeds.create({ format: 'todos' })).json().data;
    const [todo] = parse((await ics(feed.url)).body, 'vtodo').filter((c) => prop(c, 'uid') === task.uid);
    const alarms = todo!.getAllSubcomponents('valarm').map((a) => {
      const trigger = a.getFirstPropertyValue('trigger') as ICAL.Duration | ICAL.Time;
      return [a.getFirstPropertyValue('action'), a.getFirstPropertyValue('description'), trigger instanceof ICAL.Duration ? trigger.toSeconds() : trigger.toJSDate().toISOString()];
    });
    expect(alarms).toEqual([
      ['DISPLAY', 'Dentist', -5400],
      ['DISPLAY', 'Dentist', '2027-03-03T17:00:00.000Z'],
    ]);
  });

  it('ETag and If-None-Match: an unchanged feed is a 304; any change of the user\'s tasks gives a new one', async () => {
    const me = await user();
    const feed = (await me.calendarFeeds.create({})).json().data;
    const first = await ics(feed.url);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"ics\d+\.\d+\.e"$/);
    const again = await ics(feed.url, { 'if-none-match': etag });
    expect({ status: again.statusCode, body: again.body, etag: again.headers.etag }).toEqual({ status: 304, body: '', etag });
    await me.create({ title: 'New', due_at: '2027-05-05T05:05:05.000Z' });
    const changed = await ics(feed.url, { 'if-none-match': etag });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
    expect(parse(changed.body, 'vevent').map((e) => prop(e, 'summary'))).toEqual(['New']);
  });

  it('a secret of the wrong shape, or unknown, is a 404 (no token needed either way); the secret never reaches a log line', async () => {
    const me = await user();
    const feed = (await me.calendarFeeds.create({})).json().data;
    for (const url of ['/ical/short.ics', `/ical/${'A'.repeat(43)}.ics`, feed.url.replace('.ics', '.ical'), '/ical/.ics']) {
      expectError(await ics(url), 404, 'NOT_FOUND', 'Calendar feed not found');
    }
    expect((await ics(feed.url)).statusCode).toBe(200);
    const secret = feed.url.slice('/ical/'.length, -'.ics'.length);
    const lines = logs.lines();
    expect(lines.some((l) => l.url === '/ical/[secret].ics')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(secret);
  });

  it('MAX_CALENDAR_FEEDS_PER_USER (3 here): the 4th is 403; Idempotency-Key replays a create', async () => {
    const me = await user();
    const first = await me.calendarFeeds.create({ format: 'todos' }, { 'idempotency-key': 'cal-1' });
    const replay = await me.calendarFeeds.create({ format: 'todos' }, { 'idempotency-key': 'cal-1' });
    expect(replay.statusCode).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json()).toEqual(first.json());
    await me.calendarFeeds.create({});
    await me.calendarFeeds.create({});
    expectError(await me.calendarFeeds.create({}), 403, 'FORBIDDEN', 'You keep 3 calendar feeds, the most allowed: delete one to make another');
    expect((await me.calendarFeeds.list()).json().data).toHaveLength(3);
    // Racing creates cannot pass the cap either.
    const racer = await user();
    const answers = await Promise.all(Array.from({ length: 6 }, () => racer.calendarFeeds.create({})));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 201, 201, 403, 403, 403]);
  });
});

/**
 * The next occurrence (src/tasks/recurrence.ts): the contract's repeat_from example, and a property:
 * whatever the rule and the completion time, the next due is after both the old due and now, and
 * is an occurrence of the rule.
 */
import fc from 'fast-check';
import { RRuleTemporal } from 'rrule-temporal';
import { Temporal } from 'temporal-polyfill';
import { describe, expect, it } from 'vitest';
import { nextOccurrence, type Recurring } from '../../src/tasks/recurrence.js';

const task = (over: Partial<Recurring>): Recurring => ({
  recurrence: 'FREQ=DAILY',
  due_at: '2026-12-07T08:00:00.000Z',
  time_zone: null,
  repeat_from: 'due',
  recurrence_done: 0,
  ...over,
});

describe('nextOccurrence', () => {
  it('the contract example: FREQ=DAILY;INTERVAL=3 due 09:00, done Wednesday at 08:00 or 15:00: Saturday 09:00', () => {
    // Monday 2026-12-07 09:00 in Berlin (08:00Z); Wednesday is 2026-12-09.
    const t = task({ recurrence: 'FREQ=DAILY;INTERVAL=3', repeat_from: 'completion', time_zone: 'Europe/Berlin' });
    expect(nextOccurrence(t, new Date('2026-12-09T07:00:00Z'), 'complete')).toBe('2026-12-12T08:00:00.000Z');
    expect(nextOccurrence(t, new Date('2026-12-09T14:00:00Z'), 'complete')).toBe('2026-12-12T08:00:00.000Z');
    // A skip never restarts the series: the next of the schedule after now.
    expect(nextOccurrence(t, new Date('2026-12-09T14:00:00Z'), 'skip')).toBe('2026-12-10T08:00:00.000Z');
  });

  it('COUNT counts the occurrences done; UNTIL ends the series', () => {
    expect(nextOccurrence(task({ recurrence: 'FREQ=DAILY;COUNT=3', recurrence_done: 1 }), new Date('2026-12-01T00:00:00Z'), 'complete')).toBe('2026-12-08T08:00:00.000Z');
    expect(nextOccurrence(task({ recurrence: 'FREQ=DAILY;COUNT=3', recurrence_done: 2 }), new Date('2026-12-01T00:00:00Z'), 'complete')).toBeNull();
    expect(nextOccurrence(task({ recurrence: 'FREQ=DAILY;UNTIL=20261207T235959Z' }), new Date('2026-12-01T00:00:00Z'), 'complete')).toBeNull();
  });

  it('property: the next due is after the old due and now, and an occurrence of the rule', () => {
    const rules = fc.constantFrom(
      'FREQ=DAILY',
      'FREQ=DAILY;INTERVAL=3',
      'FREQ=WEEKLY;BYDAY=MO,TH',
      'FREQ=WEEKLY;INTERVAL=2;BYDAY=SU',
      'FREQ=MONTHLY;BYDAY=-1FR',
      'FREQ=MONTHLY;BYMONTHDAY=1,15',
      'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1',
      'FREQ=YEARLY;BYMONTH=3;BYDAY=2SU',
    );
    const zones = fc.constantFrom(null, 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Sydney');
    const base = Date.parse('2026-01-01T00:00:00Z');
    fc.assert(
      fc.property(rules, zones, fc.integer({ min: 0, max: 3 * 365 * 24 * 60 }), fc.integer({ min: -400 * 24 * 60, max: 400 * 24 * 60 }), (rule, zone, dueMin, nowOffset) => {
        const due = new Date(base + dueMin * 60_000);
        const now = new Date(due.getTime() + nowOffset * 60_000);
        const next = nextOccurrence(task({ recurrence: rule, due_at: due.toISOString(), time_zone: zone }), now, 'complete');
        expect(next).not.toBeNull();
        const at = Date.parse(next as string);
        expect(at).toBeGreaterThan(due.getTime());
        expect(at).toBeGreaterThan(now.getTime());
        // An occurrence: the rule's local wall-clock times (from due_at's), each placed in the zone.
        const local = (ms: number) => Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(zone ?? 'UTC').toPlainDateTime().toZonedDateTime('UTC');
        const series = new RRuleTemporal({ rruleString: rule, dtstart: local(due.getTime()), tzid: 'UTC', temporal: Temporal });
        const placed = series
          .between(local(at).subtract({ hours: 3 }), local(at).add({ hours: 3 }), true)
          .map((w) => w.toPlainDateTime().toZonedDateTime(zone ?? 'UTC', { disambiguation: 'compatible' }).epochMilliseconds);
        expect(placed).toContain(at);
      }),
      { numRuns: 200 },
    );
  });
});

/**
 * Recurrence (API.md, version 3, "Recurrence"): the RRULE values the API takes, and the time zones.
 * A rule is checked part by part here, before anything runs, so that a refusal names the part.
 */
import { RRuleTemporal } from 'rrule-temporal';
import { Temporal } from 'temporal-polyfill';
import { ApiError } from '../errors.js';

export const REPEAT_FROM = ['due', 'completion'] as const;
export type RepeatFrom = (typeof REPEAT_FROM)[number];
export const RECURRENCE_MAX = 500;

const DAY = '(MO|TU|WE|TH|FR|SA|SU)';
const list = (item: string) => new RegExp(`^${item}(,${item})*$`);
/** 1..n, or -n..-1 when signed. */
const number = (max: number, signed: boolean) => (text: string) => {
  const m = /^([+-]?)([0-9]{1,3})$/.exec(text);
  if (m === null || (!signed && m[1] !== '')) return false;
  const n = Number(m[2]);
  return n >= 1 && n <= max;
};
const numbers = (max: number, signed: boolean) => (text: string) => text.split(',').every(number(max, signed));

/** Each supported part: whether its value is one the API takes (the rule's FREQ given). */
const PARTS: Record<string, (value: string, freq: string) => boolean> = {
  FREQ: (v) => /^(DAILY|WEEKLY|MONTHLY|YEARLY)$/.test(v),
  INTERVAL: (v) => /^[0-9]{1,4}$/.test(v) && Number(v) >= 1 && Number(v) <= 1000,
  BYDAY: (v, freq) =>
    freq === 'MONTHLY' || freq === 'YEARLY'
      ? list(`([+-]?[0-9]{1,2})?${DAY}`).test(v) && v.split(',').every((d) => d.length === 2 || number(freq === 'MONTHLY' ? 5 : 53, true)(d.slice(0, -2)))
      : list(DAY).test(v),
  BYMONTHDAY: numbers(31, true),
  BYMONTH: numbers(12, false),
  BYSETPOS: numbers(366, true),
  COUNT: (v) => /^[0-9]{1,4}$/.test(v) && Number(v) >= 1 && Number(v) <= 1000,
  UNTIL: (v) => {
    const m = /^([0-9]{4})([0-9]{2})([0-9]{2})(T([0-9]{2})([0-9]{2})([0-9]{2})Z)?$/.exec(v);
    if (m === null) return false;
    try {
      Temporal.PlainDateTime.from(
        { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: Number(m[5] ?? 0), minute: Number(m[6] ?? 0), second: Number(m[7] ?? 0) },
        { overflow: 'reject' },
      );
      return true;
    } catch {
      return false;
    }
  },
  WKST: (v) => new RegExp(`^${DAY}$`).test(v),
};
const SUPPORTED = Object.keys(PARTS).join(', ');

const refuse = (message: string): never => {
  throw new ApiError('VALIDATION_ERROR', message);
};

/** The parts of a rule the API takes, or a 400 naming `recurrence` and the part. */
export function parseRecurrence(rule: string): Map<string, string> {
  const parts = new Map<string, string>();
  if (rule.startsWith('RRULE:')) refuse('recurrence must be an RRULE value without the RRULE: prefix, e.g. FREQ=WEEKLY;BYDAY=MO');
  for (const item of rule.split(';')) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    if (!(name in PARTS)) refuse(`recurrence part ${JSON.stringify(name.slice(0, 20))} is not supported (supported: ${SUPPORTED})`);
    if (eq < 0) refuse(`recurrence part ${name} needs a value (${name}=...)`);
    if (parts.has(name)) refuse(`recurrence part ${name} is given twice`);
    parts.set(name, item.slice(eq + 1));
  }
  const freq = parts.get('FREQ');
  if (freq === undefined) refuse('recurrence part FREQ is required (DAILY, WEEKLY, MONTHLY or YEARLY)');
  for (const [name, value] of parts) {
    if (!(PARTS[name] as (v: string, f: string) => boolean)(value, freq as string)) {
      const hint =
        name === 'BYDAY' && (freq === 'DAILY' || freq === 'WEEKLY') && /[0-9]/.test(value) ? ' (ordinals such as 1MO only with FREQ=MONTHLY or YEARLY)' : '';
      refuse(`recurrence part ${name} has a value that is not supported: ${JSON.stringify(value.slice(0, 40))}${hint}`);
    }
  }
  if (parts.has('COUNT') && parts.has('UNTIL')) refuse('recurrence part UNTIL cannot be given with COUNT (RFC 5545: one or the other)');
  return parts;
}

/** Whether an IANA zone name is one this server knows. */
export function isTimeZone(zone: string): boolean {
  try {
    Temporal.Now.zonedDateTimeISO(zone);
    return true;
  } catch {
    return false;
  }
}

/** The recurrence fields of a POST or PUT body, checked before anything runs (400 naming the field). */
export function checkRecurrenceFields(body: { recurrence?: string | null; time_zone?: string | null }): void {
  if (body.recurrence != null) parseRecurrence(body.recurrence);
  if (body.time_zone != null && !isTimeZone(body.time_zone)) refuse('time_zone must be null or an IANA time zone name, e.g. Europe/Berlin');
}

/** A task's recurrence and due_at as they will be: a rule needs a due_at. */
export function checkRecurrenceNeedsDue(recurrence: string | null | undefined, dueAt: unknown): void {
  if (recurrence != null && dueAt == null) refuse('recurrence needs a due_at: the first occurrence (set due_at too, or recurrence: null)');
}

/** What the next occurrence depends on: the task's rule, its due_at, zone, mode, and the occurrences done. */
export interface Recurring {
  recurrence: string;
  due_at: string;
  time_zone: string | null;
  repeat_from: RepeatFrom;
  /** Occurrences completed or skipped since the task became recurring (COUNT counts them). */
  recurrence_done: number;
  /**
   * The series' wall-clock time of day ("HH:MM:SS.sss") while due_at is an occurrence a daylight-saving
   * gap moved (migration 0017); null or absent: due_at's own local time is the series'.
   */
  recurrence_wall_time?: string | null;
}

/** An advance: the next due, and the series' time of day when that due is an occurrence a gap moved. */
export interface Advance {
  due_at: string;
  wall_time: string | null;
}

/**
 * The next due of a recurring task once its occurrence at `due_at` is done (completed at `now`, or
 * skipped): the rule's first occurrence after both the old due_at and now, in the task's zone (missed
 * ones collapse), or null when the series has ended (COUNT, UNTIL). With `repeat_from: completion`
 * (a completion, not a skip), the rule starts again on the day of `now` in the zone at due_at's time
 * of day; that start counts as the occurrence done, and the next is the rule's first after it.
 */
export function nextOccurrence(task: Recurring, now: Date, mode: 'complete' | 'skip'): string | null {
  return advance(task, now, mode)?.due_at ?? null;
}

/**
 * nextOccurrence, with the series' wall-clock time when the next due is an occurrence moved by a
 * spring-forward gap (RFC 5545: 02:30 on the night clocks go from 02:00 to 03:00 is due at 03:30), to
 * be kept with it so that the occurrences after it are at 02:30 again, not 03:30.
 */
export function advance(task: Recurring, now: Date, mode: 'complete' | 'skip'): Advance | null {
  const parts = parseRecurrence(task.recurrence);
  const count = parts.get('COUNT');
  if (count !== undefined && task.recurrence_done + 1 >= Number(count)) return null;
  const until = parts.get('UNTIL');
  parts.delete('COUNT');
  parts.delete('UNTIL');
  const zone = task.time_zone ?? 'UTC';
  const due = Temporal.Instant.from(new Date(task.due_at).toISOString()).toZonedDateTimeISO(zone);
  const at = Temporal.Instant.fromEpochMilliseconds(now.getTime()).toZonedDateTimeISO(zone);
  const restart = mode === 'complete' && task.repeat_from === 'completion';
  // The series' time of day: kept apart while due_at is an occurrence a gap moved, else due_at's own.
  const time = task.recurrence_wall_time ? Temporal.PlainTime.from(task.recurrence_wall_time) : due.toPlainTime();
  // The rule runs on local wall-clock times (as if in UTC), each then placed in the zone: 09:00 stays
  // 09:00 across daylight-saving changes, and a time in a spring-forward gap moves forward (RFC 5545).
  const real = (w: Temporal.ZonedDateTime) => w.toPlainDateTime().toZonedDateTime(zone, { disambiguation: 'compatible' });
  const wall = (z: Temporal.ZonedDateTime) => z.toPlainDateTime().toZonedDateTime('UTC');
  // The series' start: the old due's day at the series' time, or (restarted) the day of completion.
  const start = (restart ? at : due).toPlainDate().toPlainDateTime(time).toZonedDateTime('UTC');
  const rule = new RRuleTemporal({ rruleString: [...parts].map(([k, v]) => `${k}=${v}`).join(';'), dtstart: start, tzid: 'UTC', temporal: Temporal });
  // A restart: the first after its start. Otherwise: the first after both the old due and now.
  const after = restart ? real(start) : Temporal.Instant.compare(at.toInstant(), due.toInstant()) > 0 ? at : due;
  const ended = (z: Temporal.ZonedDateTime) => {
    if (until === undefined) return false;
    if (until.length === 8) return z.toPlainDate().toString({ calendarName: 'never' }).replaceAll('-', '') > until;
    const end = Date.UTC(+until.slice(0, 4), +until.slice(4, 6) - 1, +until.slice(6, 8), +until.slice(9, 11), +until.slice(11, 13), +until.slice(13, 15));
    return z.epochMilliseconds > end;
  };
  // From a little before `after` (a wall-clock hour can repeat when clocks go back), the first later.
  let candidate = rule.next(wall(after).subtract({ hours: 3 }), false);
  for (let i = 0; candidate !== null && i < 1000; i++) {
    const z = real(candidate);
    if (ended(z)) return null;
    if (z.epochMilliseconds > after.epochMilliseconds) {
      const moved = !z.toPlainTime().equals(candidate.toPlainTime());
      return { due_at: new Date(z.epochMilliseconds).toISOString(), wall_time: moved ? candidate.toPlainTime().toString() : null };
    }
    candidate = rule.next(candidate, false);
  }
  return null;
}

/**
 * A recurring task in human words: "every Monday and Thursday at 09:00, Europe/Berlin".
 *
 * Covers exactly the RRULE parts the API accepts (FREQ DAILY/WEEKLY/MONTHLY/YEARLY, INTERVAL,
 * BYDAY with or without ordinals, BYMONTHDAY, BYMONTH, BYSETPOS, COUNT, UNTIL, WKST). The time of
 * day and the day a rule without BY... parts falls on come from `due_at` in the task's `time_zone`
 * (UTC when null), as the API computes occurrences. A rule it cannot read is shown as its text.
 *
 * Not rrule-temporal's `toText`: it says "9 AM GMT+1" (an offset, not the zone the rule follows),
 * "every year" without the day, and needs the Temporal polyfill in the browser.
 */

export interface RecurringTask {
  recurrence: string | null;
  due_at: string | null;
  time_zone: string | null;
  repeat_from?: 'due' | 'completion';
}

export const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const DAY_NAMES: Record<Weekday, string> = {
  MO: 'Monday',
  TU: 'Tuesday',
  WE: 'Wednesday',
  TH: 'Thursday',
  FR: 'Friday',
  SA: 'Saturday',
  SU: 'Sunday',
};
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const UNITS: Record<string, string> = { DAILY: 'day', WEEKLY: 'week', MONTHLY: 'month', YEARLY: 'year' };
const WORKWEEK = 'MO,TU,WE,TH,FR';

/** The parts of an RRULE value (`FREQ=WEEKLY;BYDAY=MO`), upper-cased; null when it is not one. */
export function parseRule(text: string): Map<string, string> | null {
  const parts = new Map<string, string>();
  for (const piece of text.trim().toUpperCase().split(';')) {
    const m = piece.match(/^([A-Z]+)=([^=]+)$/);
    if (!m?.[1] || m[2] === undefined || parts.has(m[1])) return null;
    parts.set(m[1], m[2]);
  }
  return parts.has('FREQ') ? parts : null;
}

/** 1 → "1st", 22 → "22nd", 13 → "13th". */
function nth(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th'}`;
}
/** An ordinal in words: 1 → "first", -1 → "last", -2 → "second-to-last", 10 → "10th". */
function ordinal(n: number): string {
  const words = ['', 'first', 'second', 'third', 'fourth', 'fifth'];
  if (n === -1) return 'last';
  const abs = Math.abs(n);
  const word = words[abs] ?? nth(abs);
  return n < 0 ? `${word}-to-last` : word;
}
/** "a", "a and b", "a, b and c". */
export function joinWords(items: string[], last = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${last} ${items[items.length - 1]}`;
}
function monthDay(n: number): string {
  return n === -1 ? 'the last day' : n < 0 ? `the ${nth(-n)}-to-last day` : `the ${nth(n)}`;
}

/** A date's fields in a time zone: weekday (MO…SU), day, month (1–12), year, "HH:MM". */
export function zonedParts(iso: string, timeZone: string | null): { weekday: Weekday; day: number; month: number; year: number; time: string } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: timeZone ?? 'UTC',
    weekday: 'short',
    day: 'numeric',
    month: 'numeric',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const weekday = get('weekday').slice(0, 2).toUpperCase() as Weekday;
  return { weekday, day: Number(get('day')), month: Number(get('month')), year: Number(get('year')), time: `${get('hour')}:${get('minute')}` };
}

/** An instant as "Thursday 10 December 2026, 09:00" in a time zone (UTC when null). */
export function formatOccurrence(iso: string, timeZone: string | null): string {
  const p = zonedParts(iso, timeZone);
  return `${DAY_NAMES[p.weekday]} ${p.day} ${MONTHS[p.month - 1]} ${p.year}, ${p.time}`;
}

/** BYDAY entries: "MO" or "-1FR" → ordinal and day. */
function byDay(value: string | undefined): { n: number | null; day: Weekday }[] | null {
  if (value === undefined) return [];
  const out: { n: number | null; day: Weekday }[] = [];
  for (const v of value.split(',')) {
    const m = v.match(/^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/);
    if (!m) return null;
    out.push({ n: m[1] === undefined ? null : Number(m[1]), day: m[2] as Weekday });
  }
  return out;
}
function numbers(value: string | undefined): number[] | null {
  if (value === undefined) return [];
  const out = value.split(',').map(Number);
  return out.every((n) => Number.isInteger(n) && n !== 0) ? out : null;
}

function untilWords(until: string): string | null {
  const m = until.match(/^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z)?$/);
  if (!m) return null;
  const [, y, mo, d, h, mi] = m;
  const date = `${Number(d)} ${MONTHS[Number(mo) - 1]} ${y}`;
  return h === undefined ? date : `${date}, ${h}:${mi} UTC`;
}

/**
 * "every Monday and Thursday at 09:00, Europe/Berlin", "every month on the last Friday at 18:30,
 * Europe/Berlin, 6 times", "every 3 days at 09:00, UTC, counted from completion"; null without a rule.
 */
export function describeRecurrence(task: RecurringTask): string | null {
  if (!task.recurrence) return null;
  const fallback = `repeats by the rule ${task.recurrence}`;
  const rule = parseRule(task.recurrence);
  if (!rule) return fallback;
  const freq = rule.get('FREQ') ?? '';
  const unit = UNITS[freq];
  const interval = Number(rule.get('INTERVAL') ?? '1');
  const days = byDay(rule.get('BYDAY'));
  const monthDays = numbers(rule.get('BYMONTHDAY'));
  const months = numbers(rule.get('BYMONTH'));
  const setPos = numbers(rule.get('BYSETPOS'));
  if (!unit || !Number.isInteger(interval) || interval < 1 || !days || !monthDays || !months || !setPos) return fallback;
  const zone = task.time_zone ?? 'UTC';
  const due = task.due_at ? zonedParts(task.due_at, task.time_zone) : null;
  const every = interval === 1 ? `every ${unit}` : `every ${interval} ${unit}s`;
  const plainDays = days.filter((d) => d.n === null).map((d) => d.day);
  const dayList = (or = false) => joinWords(plainDays.map((d) => DAY_NAMES[d]), or ? 'or' : 'and');
  const isWorkweek = plainDays.length === days.length && [...plainDays].sort((a, b) => WEEKDAYS.indexOf(a) - WEEKDAYS.indexOf(b)).join(',') === WORKWEEK;

  /** Where in a month (or a year) the rule falls: "the 15th", "the last Friday", "the last weekday". */
  const inPeriod = (): string | null => {
    if (setPos.length && days.length && plainDays.length === days.length) {
      const what = isWorkweek ? 'weekday' : dayList(true);
      return `the ${joinWords(setPos.map(ordinal))} ${what}`;
    }
    if (setPos.length) return null;
    const parts: string[] = [];
    const ordinals = days.filter((d) => d.n !== null);
    if (ordinals.length) parts.push(joinWords(ordinals.map((d) => `the ${ordinal(d.n as number)} ${DAY_NAMES[d.day]}`)));
    if (plainDays.length) parts.push(isWorkweek ? 'every weekday' : `every ${dayList()}`);
    if (monthDays.length) parts.push(joinWords(monthDays.map(monthDay)));
    return parts.length ? joinWords(parts) : null;
  };

  let words: string;
  if (freq === 'DAILY') {
    if (interval === 1 && isWorkweek && !monthDays.length && !months.length) words = 'every weekday';
    else words = `${every}${plainDays.length ? ` on ${dayList()}` : ''}`;
    if (monthDays.length) words += ` on ${joinWords(monthDays.map(monthDay))} of the month`;
  } else if (freq === 'WEEKLY') {
    const list = plainDays.length ? plainDays : due ? [due.weekday] : [];
    const isWeekdays = plainDays.length > 0 && isWorkweek;
    if (interval === 1) words = isWeekdays ? 'every weekday' : list.length ? `every ${joinWords(list.map((d) => DAY_NAMES[d]))}` : every;
    else words = `${every}${list.length ? ` on ${isWeekdays ? 'weekdays' : joinWords(list.map((d) => DAY_NAMES[d]))}` : ''}`;
  } else if (freq === 'MONTHLY') {
    const where = inPeriod() ?? (due ? `the ${nth(due.day)}` : null);
    words = `${every}${where ? ` on ${where}` : ''}`;
  } else {
    const monthNames = months.map((m) => MONTHS[m - 1] ?? String(m));
    const where = inPeriod();
    if (where && monthNames.length) words = `${every} on ${where} of ${joinWords(monthNames)}`;
    else if (where) words = `${every} on ${where} of the year`;
    else if (monthNames.length) words = `${every} on ${joinWords(monthNames.map((m) => `${due?.day ?? 1} ${m}`))}`;
    else words = due ? `${every} on ${due.day} ${MONTHS[due.month - 1]}` : every;
  }
  if (months.length && freq !== 'YEARLY') words += ` in ${joinWords(months.map((m) => MONTHS[m - 1] ?? String(m)))}`;
  if (due) words += ` at ${due.time}`;
  words += `, ${zone}`;
  const count = rule.get('COUNT');
  if (count !== undefined) words += count === '1' ? ', once' : `, ${count} times`;
  const until = rule.get('UNTIL');
  if (until !== undefined) words += `, until ${untilWords(until) ?? until}`;
  if (task.repeat_from === 'completion') words += ', counted from completion';
  return words;
}

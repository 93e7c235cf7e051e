/**
 * Instants: what the API takes (RFC 3339 text from clients) and what it reads back (PostgreSQL's
 * text of a timestamptz), in one place, both total: no input throws.
 *
 * The API takes instants between INSTANT_MIN and INSTANT_MAX once converted to UTC, with an offset
 * of at most ±15:59 and no leap second (API.md, "The task, grown"): the years JavaScript, RFC 3339
 * and PostgreSQL's input all agree on. PostgreSQL itself stores more (BC years, years past 9999,
 * ±infinity); such a value, written by SQL or by an older version, is read back clamped to the
 * nearest end of the range, so every answer stays RFC 3339 (docs/API.md, "Instants").
 */

export const INSTANT_MIN = '0001-01-01T00:00:00.000Z';
export const INSTANT_MAX = '9999-12-31T23:59:59.999Z';

/** Milliseconds since 1970 of a UTC date and time, for any year (Date.UTC maps 0-99 to 19xx). */
function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}

const MIN_MS = utcMs(1, 1, 1, 0, 0, 0, 0);
const MAX_MS = utcMs(9999, 12, 31, 23, 59, 59, 999);

const isLeapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const validDate = (y: number, m: number, d: number) => m >= 1 && m <= 12 && d >= 1 && d <= (m === 2 && isLeapYear(y) ? 29 : (DAYS[m - 1] as number));

/** `2026-12-24T17:00:00.000Z`: the one form the API sends (and the form of cursors). */
function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Why a date-time text is not an instant the API takes. */
export type InstantProblem = 'syntax' | 'leap-second' | 'offset' | 'range';

/**
 * RFC 3339 date-time as JSON Schema's `date-time` format has it (T, t or a space between date and
 * time; Z, z, ±hh, ±hhmm or ±hh:mm), with a real calendar date.
 */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt\s](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2})(?::?(\d{2}))?)$/;

/**
 * An instant the API takes, or why not: `iso`, UTC with milliseconds (digits below a millisecond
 * cut, as Date does); `utc`, the same instant with all the digits given, for PostgreSQL to store
 * (it rounds them, as it always did), in UTC: PostgreSQL refuses the year 0000 that
 * `0000-12-31T23:59:00-00:01`, an instant in range, is written with.
 */
export function readInstant(text: string): { iso: string; utc: string } | { problem: InstantProblem } {
  const m = DATE_TIME.exec(text);
  if (m === null) return { problem: 'syntax' };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = m[7] ?? '';
  if (!validDate(year, month, day) || hour > 23 || minute > 59 || second > 60) return { problem: 'syntax' };
  const offsetHours = Number(m[9] ?? 0);
  const offsetMinutes = Number(m[10] ?? 0);
  if (offsetMinutes > 59) return { problem: 'syntax' };
  if (second === 60) return { problem: 'leap-second' };
  if (offsetHours > 15) return { problem: 'offset' };
  const sign = m[8] === '-' ? -1 : 1;
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'));
  const utc = utcMs(year, month, day, hour, minute, second, ms) - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  // Beyond the last millisecond, even by a fraction of one (PostgreSQL would round it up).
  if (utc < MIN_MS || utc > MAX_MS || (utc === MAX_MS && /[1-9]/.test(fraction.slice(3)))) return { problem: 'range' };
  const seconds = iso(utc - ms).slice(0, 19);
  return { iso: iso(utc), utc: `${seconds}${fraction === '' ? '' : `.${fraction}`}Z` };
}

/** Whether a text is an instant the API takes: the `date-time` format of every request schema. */
export const isInstant = (text: string): boolean => 'iso' in readInstant(text);

/** A taken instant in UTC with all its digits (readInstant's `utc`); anything else: undefined. */
export function instantUtc(text: string): string | undefined {
  const read = readInstant(text);
  return 'utc' in read ? read.utc : undefined;
}

/** A taken instant as UTC text with milliseconds (the caller validated it; anything else: undefined). */
export function instantIso(text: string): string | undefined {
  const read = readInstant(text);
  return 'iso' in read ? read.iso : undefined;
}

/**
 * PostgreSQL's text of a timestamptz in the ISO DateStyle (the default): `2026-12-24 17:00:00.123+00`,
 * another session time zone (`+05:30`, `+05:53:28` before 1900), `... BC`, years past 9999,
 * `infinity`, `-infinity`.
 */
const PG_TEXT = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?( BC)?$/;

/** A stored timestamptz: where it lies against the API's range, and its UTC milliseconds when inside. */
function readStored(text: string): { at: 'below' | 'above' } | { at: 'inside'; ms: number } | undefined {
  if (text === 'infinity') return { at: 'above' };
  if (text === '-infinity') return { at: 'below' };
  const m = PG_TEXT.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  // Astronomical years: 1 BC is year 0.
  const astronomical = m[12] === undefined ? year : 1 - year;
  if (!validDate(astronomical, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  // Before 1 BC or after 10000 it is beyond the range whatever the offset (less than a day).
  if (astronomical < 0) return { at: 'below' };
  if (astronomical > 10000) return { at: 'above' };
  const offset = (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0)) * 1000;
  // Microseconds are below what the columns hold (precision 3): cut, as in the fast path.
  const ms = utcMs(astronomical, month, day, hour, minute, second, Number((m[7] ?? '').slice(0, 3).padEnd(3, '0'))) - offset;
  return ms < MIN_MS ? { at: 'below' } : ms > MAX_MS ? { at: 'above' } : { at: 'inside', ms };
}

/** `2026-12-01 11:13:18.12+00` (UTC, ISO DateStyle, a 4-digit year) at a glance. */
const PG_UTC = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?\+00$/;

/**
 * A stored timestamptz as the API sends it: `YYYY-MM-DDTHH:MM:SS.mmmZ`, clamped to the range the
 * API takes (a BC date or `-infinity` reads as INSTANT_MIN, a year past 9999 or `infinity` as
 * INSTANT_MAX). Never throws: it runs on every row read, and a row must always be readable.
 * Text PostgreSQL does not send in the ISO DateStyle goes through Date, INSTANT_MIN if even that fails.
 */
export function storedInstant(value: string): string {
  if (PG_UTC.test(value)) {
    const fraction = value.length > 22 ? value.slice(20, Math.min(23, value.length - 3)) : '';
    return `${value.slice(0, 10)}T${value.slice(11, 19)}.${fraction.padEnd(3, '0')}Z`;
  }
  const stored = readStored(value);
  if (stored === undefined) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? INSTANT_MIN : iso(Math.min(Math.max(ms, MIN_MS), MAX_MS));
  }
  return 'ms' in stored ? iso(stored.ms) : stored.at === 'below' ? INSTANT_MIN : INSTANT_MAX;
}

/**
 * The sort position of a stored timestamptz, for a page cursor: exact, so that paging never skips
 * nor repeats a row. Inside the range it is the API's own text (as cursors always were); outside,
 * PostgreSQL's text as it came (clamping would put every such row at one position).
 */
export function storedPosition(value: string): string {
  const stored = readStored(value);
  return stored === undefined || stored.at === 'inside' ? storedInstant(value) : value;
}

/** ISO DateStyle output with milliseconds and a Z: what positions inside the range look like. */
const POSITION_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Whether a cursor's position is one storedPosition could have made: an instant the API takes in
 * its own form, or a stored value outside that range PostgreSQL reads back (BC years up to 4713,
 * years up to 294275, ±infinity). Anything else is a tampered cursor.
 */
export function isPosition(value: string): boolean {
  if (POSITION_ISO.test(value)) return isInstant(value);
  const stored = readStored(value);
  if (stored === undefined || stored.at === 'inside') return false;
  const year = Number(/^\d+/.exec(value)?.[0] ?? 0);
  return value.endsWith(' BC') ? year <= 4713 : year <= 294275;
}

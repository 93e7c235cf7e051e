import ICAL from 'ical.js';
import type { CalendarFormat } from './calendar.schemas.js';

/** How long an event of a task lasts in a calendar (a task has a due instant, not a span). */
const EVENT_MINUTES = 30;

/** The PRIORITY of RFC 5545 (1 highest, 9 lowest; none: no property). */
const PRIORITY: Record<string, number | undefined> = { high: 1, medium: 5, low: 9, none: undefined };

/** A task row as the feed reads it (the tasks table's columns; version 3's own ones when present). */
export interface CalendarTask {
  id: number;
  uid?: string | null;
  parent_uid?: string | null;
  title: string;
  description: string | null;
  completed: boolean;
  completed_at: string | null;
  priority: string;
  tags: string[];
  due_at: string | null;
  recurrence?: string | null;
  reminders?: ({ minutes_before: number } | { at: string })[] | null;
  created_at: string;
  updated_at: string;
}

const utc = (iso: string) => ICAL.Time.fromJSDate(new Date(iso), true);

/** A task's UID: its `uid` (version 3), else one made of its id, stable across polls. */
const uidOf = (task: CalendarTask, host: string) => task.uid ?? `task-${task.id}@${host}`;

function common(c: ICAL.Component, task: CalendarTask, host: string): void {
  c.addPropertyWithValue('uid', uidOf(task, host));
  c.addPropertyWithValue('dtstamp', utc(task.updated_at));
  c.addPropertyWithValue('created', utc(task.created_at));
  c.addPropertyWithValue('last-modified', utc(task.updated_at));
  c.addPropertyWithValue('summary', task.title);
  if (task.description !== null && task.description !== '') c.addPropertyWithValue('description', task.description);
  if (task.tags.length > 0) {
    const categories = new ICAL.Property('categories', c);
    categories.setValues(task.tags);
    c.addProperty(categories);
  }
  const priority = PRIORITY[task.priority];
  if (priority !== undefined) c.addPropertyWithValue('priority', priority);
  if (task.recurrence) c.addProperty(new ICAL.Property(ICAL.parse.property(`RRULE:${task.recurrence}`), c));
  for (const reminder of task.reminders ?? []) {
    const alarm = new ICAL.Component('valarm', c);
    alarm.addPropertyWithValue('action', 'DISPLAY');
    alarm.addPropertyWithValue('description', task.title);
    if ('at' in reminder) alarm.addPropertyWithValue('trigger', utc(reminder.at)).setParameter('value', 'DATE-TIME');
    else alarm.addPropertyWithValue('trigger', ICAL.Duration.fromSeconds(-60 * reminder.minutes_before));
    c.addSubcomponent(alarm);
  }
}

/**
 * The tasks as an iCalendar object (RFC 5545; CRLF, lines folded at 75 octets by ical.js): `events`,
 * a VEVENT of EVENT_MINUTES at each due instant; `todos`, a VTODO per task with its state.
 */
export function renderCalendar(tasks: readonly CalendarTask[], options: { format: CalendarFormat; name: string; host: string }): string {
  const cal = new ICAL.Component(['vcalendar', [], []]);
  cal.addPropertyWithValue('prodid', '-//task-api//calendar feed//EN');
  cal.addPropertyWithValue('version', '2.0');
  cal.addPropertyWithValue('calscale', 'GREGORIAN');
  cal.addPropertyWithValue('method', 'PUBLISH');
  cal.addPropertyWithValue('x-wr-calname', options.name);
  for (const task of tasks) {
    if (options.format === 'events') {
      if (task.due_at === null) continue;
      const event = new ICAL.Component('vevent', cal);
      common(event, task, options.host);
      event.addPropertyWithValue('dtstart', utc(task.due_at));
      event.addPropertyWithValue('duration', ICAL.Duration.fromSeconds(EVENT_MINUTES * 60));
      event.addPropertyWithValue('status', 'CONFIRMED');
      event.addPropertyWithValue('transp', 'TRANSPARENT');
      cal.addSubcomponent(event);
    } else {
      const todo = new ICAL.Component('vtodo', cal);
      common(todo, task, options.host);
      if (task.due_at !== null) todo.addPropertyWithValue('due', utc(task.due_at));
      todo.addPropertyWithValue('status', task.completed ? 'COMPLETED' : 'NEEDS-ACTION');
      if (task.completed && task.completed_at !== null) todo.addPropertyWithValue('completed', utc(task.completed_at));
      if (task.parent_uid) todo.addPropertyWithValue('related-to', task.parent_uid);
      cal.addSubcomponent(todo);
    }
  }
  return cal.toString() + '\r\n';
}

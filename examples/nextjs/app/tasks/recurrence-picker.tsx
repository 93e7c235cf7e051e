'use client';
/**
 * The recurrence picker of the new-task and edit forms: a self-contained field. Its visible controls
 * have no `name`; what the form submits is three hidden inputs, `recurrence` (RRULE text, '' for
 * none), `repeat_from` and `time_zone`, read by `readRecurrenceForm`. It follows the form's `due`
 * input for its defaults and its preview, and starts again on the form's `reset`. Each control has
 * an aria-label: a <label> around a <select> would otherwise be named with the option shown too.
 */
import type { Task, TaskCreate } from '@task-api/client';
import { useCallback, useEffect, useRef, useState } from 'react';

import { DAY_NAMES, WEEKDAYS, describeRecurrence, parseRule, type Weekday } from './recurrence-text';
import './recurrence.css';

type Kind = 'none' | 'daily' | 'weekdays' | 'weekly' | 'monthly' | 'yearly' | 'custom';
interface Choice {
  kind: Kind;
  interval: number;
  days: Weekday[];
  monthlyBy: 'day' | 'weekday';
  monthDay: number;
  nth: number;
  nthDay: Weekday;
  custom: string;
  repeatFrom: 'due' | 'completion';
  timeZone: string;
}

const KINDS: { value: Kind; label: string }[] = [
  { value: 'none', label: 'Does not repeat' },
  { value: 'daily', label: 'Daily' },
  { value: 'weekdays', label: 'Every weekday (Mon–Fri)' },
  { value: 'weekly', label: 'Weekly' },
  { value: 'monthly', label: 'Monthly' },
  { value: 'yearly', label: 'Yearly' },
  { value: 'custom', label: 'Custom (RRULE)' },
];
const NTHS = [
  { value: 1, label: 'first' },
  { value: 2, label: 'second' },
  { value: 3, label: 'third' },
  { value: 4, label: 'fourth' },
  { value: -1, label: 'last' },
];
const UNIT: Partial<Record<Kind, string>> = { daily: 'day(s)', weekly: 'week(s)', monthly: 'month(s)', yearly: 'year(s)' };

/** The browser's time zone (the picker's default). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const JS_DAY: Weekday[] = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];

/** The picker's state for a task (or a new one), reading back what the picker writes; anything else is "custom". */
function choiceFor(task: Task | undefined, dueLocal: Date | null): Choice {
  const base: Choice = {
    kind: 'none',
    interval: 1,
    days: dueLocal ? [JS_DAY[dueLocal.getDay()] as Weekday] : ['MO'],
    monthlyBy: 'day',
    monthDay: dueLocal ? dueLocal.getDate() : 1,
    nth: 1,
    nthDay: dueLocal ? (JS_DAY[dueLocal.getDay()] as Weekday) : 'MO',
    custom: '',
    repeatFrom: task?.repeat_from ?? 'due',
    timeZone: task?.time_zone ?? browserTimeZone(),
  };
  if (!task?.recurrence) return base;
  const custom = { ...base, kind: 'custom' as const, custom: task.recurrence };
  const rule = parseRule(task.recurrence);
  if (!rule) return custom;
  const keys = [...rule.keys()].filter((k) => k !== 'FREQ' && k !== 'INTERVAL').sort().join(',');
  const interval = Number(rule.get('INTERVAL') ?? '1');
  if (!Number.isInteger(interval) || interval < 1 || (rule.has('INTERVAL') && interval === 1)) return custom;
  const freq = rule.get('FREQ');
  const byday = rule.get('BYDAY');
  if (freq === 'DAILY' && keys === '') return { ...base, kind: 'daily', interval };
  if (freq === 'WEEKLY' && keys === 'BYDAY' && interval === 1 && byday === 'MO,TU,WE,TH,FR') return { ...base, kind: 'weekdays' };
  if (freq === 'WEEKLY' && keys === 'BYDAY' && byday) {
    const days = byday.split(',');
    if (days.every((d) => (WEEKDAYS as readonly string[]).includes(d))) return { ...base, kind: 'weekly', interval, days: days as Weekday[] };
  }
  if (freq === 'WEEKLY' && keys === '') return { ...base, kind: 'weekly', interval };
  if (freq === 'MONTHLY' && keys === 'BYMONTHDAY') {
    const d = Number(rule.get('BYMONTHDAY'));
    if ((d >= 1 && d <= 31) || d === -1) return { ...base, kind: 'monthly', interval, monthlyBy: 'day', monthDay: d };
  }
  if (freq === 'MONTHLY' && keys === 'BYDAY') {
    const m = byday?.match(/^(-1|[1-4])(MO|TU|WE|TH|FR|SA|SU)$/);
    if (m) return { ...base, kind: 'monthly', interval, monthlyBy: 'weekday', nth: Number(m[1]), nthDay: m[2] as Weekday };
  }
  if (freq === 'YEARLY' && keys === '') return { ...base, kind: 'yearly', interval };
  return custom;
}

/** The RRULE text for a choice ('' for none). */
export function ruleOf(c: Choice): string {
  const every = c.interval > 1 ? `;INTERVAL=${c.interval}` : '';
  switch (c.kind) {
    case 'none':
      return '';
    case 'daily':
      return `FREQ=DAILY${every}`;
    case 'weekdays':
      return 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR';
    case 'weekly': {
      const days = WEEKDAYS.filter((d) => c.days.includes(d));
      return `FREQ=WEEKLY${every}${days.length ? `;BYDAY=${days.join(',')}` : ''}`;
    }
    case 'monthly':
      return c.monthlyBy === 'day' ? `FREQ=MONTHLY${every};BYMONTHDAY=${c.monthDay}` : `FREQ=MONTHLY${every};BYDAY=${c.nth}${c.nthDay}`;
    case 'yearly':
      return `FREQ=YEARLY${every}`;
    case 'custom':
      return c.custom.trim().replace(/^RRULE:/i, '');
  }
}

/** What the picker adds to a task's body: nothing when the form has no picker, `recurrence: null` for "does not repeat". */
export function readRecurrenceForm(form: FormData): Pick<TaskCreate, 'recurrence' | 'repeat_from' | 'time_zone'> {
  if (!form.has('recurrence')) return {};
  const recurrence = String(form.get('recurrence') ?? '');
  if (recurrence === '') return { recurrence: null };
  const timeZone = String(form.get('time_zone') ?? '').trim();
  return {
    recurrence,
    repeat_from: form.get('repeat_from') === 'completion' ? 'completion' : 'due',
    time_zone: timeZone === '' ? null : timeZone,
  };
}

/** The form's `due` (datetime-local, the browser's zone) as a Date, or null. */
function dueOf(form: HTMLFormElement | null | undefined): Date | null {
  const el = form?.elements.namedItem('due');
  const value = el instanceof HTMLInputElement ? el.value : '';
  const d = value === '' ? null : new Date(value);
  return d && !Number.isNaN(d.getTime()) ? d : null;
}

export function RecurrencePicker({ task }: { task?: Task | undefined }) {
  const root = useRef<HTMLDivElement>(null);
  const [choice, setChoice] = useState<Choice>(() => choiceFor(task, task?.due_at ? new Date(task.due_at) : null));
  const [due, setDue] = useState<string | null>(task?.due_at ?? null);
  const set = (patch: Partial<Choice>) => setChoice((c) => ({ ...c, ...patch }));

  // Follow the form's due date (the preview's time of day) and start again when the form is reset.
  const taskRef = useRef(task);
  taskRef.current = task;
  const follow = useCallback(() => {
    const d = dueOf(root.current?.closest('form'));
    setDue(d ? d.toISOString() : null);
  }, []);
  useEffect(() => {
    const form = root.current?.closest('form');
    if (!form) return;
    const onReset = () =>
      setTimeout(() => {
        const t = taskRef.current;
        setChoice(choiceFor(t, t?.due_at ? new Date(t.due_at) : null));
        follow();
      });
    form.addEventListener('input', follow);
    form.addEventListener('reset', onReset);
    return () => {
      form.removeEventListener('input', follow);
      form.removeEventListener('reset', onReset);
    };
  }, [follow]);

  /** A kind chosen: its day defaults from the due date when the user had not picked any. */
  const choose = (kind: Kind) => {
    const d = dueOf(root.current?.closest('form'));
    setChoice((c) => {
      const next = { ...c, kind };
      if (d && kind !== c.kind && (kind === 'weekly' || kind === 'monthly')) {
        const day = JS_DAY[d.getDay()] as Weekday;
        if (kind === 'weekly') next.days = [day];
        else {
          next.monthDay = d.getDate();
          next.nthDay = day;
          next.nth = d.getDate() + 7 > new Date(d.getFullYear(), d.getMonth() + 1, 0).getDate() ? -1 : Math.ceil(d.getDate() / 7);
        }
      }
      return next;
    });
  };

  const rule = ruleOf(choice);
  const timeZone = choice.timeZone.trim();
  const preview =
    rule === ''
      ? 'Does not repeat'
      : due
        ? describeRecurrence({ recurrence: rule, due_at: due, time_zone: timeZone === '' ? null : timeZone, repeat_from: choice.repeatFrom })
        : 'Set a due date: the first occurrence';
  const unit = UNIT[choice.kind];

  return (
    <div className="recurrence-picker" ref={root} data-testid="recurrence-picker">
      <input type="hidden" name="recurrence" value={rule} />
      <input type="hidden" name="repeat_from" value={choice.repeatFrom} />
      <input type="hidden" name="time_zone" value={rule === '' ? '' : timeZone} />
      <div className="row">
        <label>
          Repeat
          <select aria-label="Repeat" value={choice.kind} onChange={(e) => choose(e.target.value as Kind)}>
            {KINDS.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        {unit ? (
          <label>
            {`Every (${unit})`}
            <input
              type="number"
              aria-label={`Every (${unit})`}
              min={1}
              max={1000}
              value={choice.interval}
              onChange={(e) => set({ interval: Math.max(1, Math.min(1000, Math.trunc(Number(e.target.value)) || 1)) })}
            />
          </label>
        ) : null}
        {choice.kind === 'monthly' ? (
          <label>
            Monthly on
            <select aria-label="Monthly on" value={choice.monthlyBy} onChange={(e) => set({ monthlyBy: e.target.value as 'day' | 'weekday' })}>
              <option value="day">a day of the month</option>
              <option value="weekday">a weekday (the last Friday…)</option>
            </select>
          </label>
        ) : null}
        {choice.kind === 'monthly' && choice.monthlyBy === 'day' ? (
          <label>
            Day of month
            <select aria-label="Day of month" value={choice.monthDay} onChange={(e) => set({ monthDay: Number(e.target.value) })}>
              {Array.from({ length: 31 }, (_, i) => (
                <option key={i + 1} value={i + 1}>
                  {i + 1}
                </option>
              ))}
              <option value={-1}>last day</option>
            </select>
          </label>
        ) : null}
        {choice.kind === 'monthly' && choice.monthlyBy === 'weekday' ? (
          <>
            <label>
              Which
              <select aria-label="Which" value={choice.nth} onChange={(e) => set({ nth: Number(e.target.value) })}>
                {NTHS.map((n) => (
                  <option key={n.value} value={n.value}>
                    {n.label}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Weekday
              <select aria-label="Weekday" value={choice.nthDay} onChange={(e) => set({ nthDay: e.target.value as Weekday })}>
                {WEEKDAYS.map((d) => (
                  <option key={d} value={d}>
                    {DAY_NAMES[d]}
                  </option>
                ))}
              </select>
            </label>
          </>
        ) : null}
        {choice.kind === 'custom' ? (
          <label className="wide">
            RRULE
            <input
              aria-label="RRULE"
              value={choice.custom}
              onChange={(e) => set({ custom: e.target.value })}
              placeholder="FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"
              maxLength={500}
              spellCheck={false}
            />
          </label>
        ) : null}
        {choice.kind !== 'none' ? (
          <>
            <label>
              Repeat from
              <select aria-label="Repeat from" value={choice.repeatFrom} onChange={(e) => set({ repeatFrom: e.target.value as 'due' | 'completion' })}>
                <option value="due">the due date (on schedule)</option>
                <option value="completion">completion</option>
              </select>
            </label>
            <label>
              Time zone
              <input aria-label="Time zone" value={choice.timeZone} onChange={(e) => set({ timeZone: e.target.value })} spellCheck={false} />
            </label>
          </>
        ) : null}
      </div>
      {choice.kind === 'weekly' ? (
        <div className="row weekdays" role="group" aria-label="On these days">
          {WEEKDAYS.map((d) => (
            <label key={d} className="check">
              <input
                type="checkbox"
                checked={choice.days.includes(d)}
                aria-label={DAY_NAMES[d]}
                onChange={(e) => set({ days: e.target.checked ? [...choice.days, d] : choice.days.filter((x) => x !== d) })}
              />
              {DAY_NAMES[d].slice(0, 3)}
            </label>
          ))}
        </div>
      ) : null}
      <p className="muted" data-testid="recurrence-preview">
        {preview}
      </p>
    </div>
  );
}

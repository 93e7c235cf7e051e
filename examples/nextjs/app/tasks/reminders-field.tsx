'use client';
/**
 * The reminders of a task, in the new-task and the edit forms: presets relative to the due date
 * (at due time, 10 min, 1 hour, 1 day before) and custom times, up to 5 (the API's limit). The
 * chosen ones travel in a hidden input named `reminders` (JSON), which `readReminders` reads with
 * the rest of the form. Adding one announces REMINDER_ADDED on window: the moment the app offers
 * notifications (app/tasks/reminder-toast.tsx), never on page load.
 */
import type { Reminder, Task } from '@task-api/client';
import { useEffect, useRef, useState } from 'react';

/** Dispatched on window when the user adds a reminder in a form. */
export const REMINDER_ADDED = 'task-example:reminder-added';
/** The API's limit. */
export const MAX_REMINDERS = 5;

const PRESETS: { minutes: number; label: string }[] = [
  { minutes: 0, label: 'At due time' },
  { minutes: 10, label: '10 min before' },
  { minutes: 60, label: '1 hour before' },
  { minutes: 1440, label: '1 day before' },
];

const pad = (n: number): string => String(n).padStart(2, '0');
/** An instant in the browser's time zone, e.g. 2026-12-24 17:00 (with seconds when it has some). */
export function formatInstant(iso: string): string {
  const d = new Date(iso);
  const s = d.getSeconds() ? `:${pad(d.getSeconds())}` : '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}${s}`;
}

/** How a reminder reads: "1 hour before", "At due time", "2026-12-24 08:00". */
export function reminderLabel(r: Reminder): string {
  if (r.at !== undefined) return formatInstant(r.at);
  const m = r.minutes_before ?? 0;
  const preset = PRESETS.find((p) => p.minutes === m);
  if (preset) return preset.label;
  if (m % 1440 === 0) return `${m / 1440} days before`;
  if (m % 60 === 0) return `${m / 60} hours before`;
  return `${m} min before`;
}

const same = (a: Reminder, b: Reminder): boolean =>
  a.minutes_before === b.minutes_before && (a.at === undefined || b.at === undefined ? a.at === b.at : Date.parse(a.at) === Date.parse(b.at));

/** The form's reminders (what RemindersField holds); [] when the form has none. */
export function readReminders(form: FormData): Reminder[] {
  const raw = form.get('reminders');
  if (typeof raw !== 'string' || raw === '') return [];
  try {
    const list = JSON.parse(raw) as unknown;
    return Array.isArray(list) ? (list as Reminder[]) : [];
  } catch {
    return [];
  }
}

export function RemindersField({ task }: { task?: Task | undefined }) {
  const initial = task?.reminders ?? [];
  const [reminders, setReminders] = useState<Reminder[]>(initial);
  const [hasDue, setHasDue] = useState(Boolean(task?.due_at));
  const [custom, setCustom] = useState('');
  const ref = useRef<HTMLDivElement>(null);
  const initialRef = useRef({ reminders: initial, hasDue: Boolean(task?.due_at) });

  // The form's due date decides whether the relative presets make sense; its reset (after a
  // create) empties the field too.
  useEffect(() => {
    const form = ref.current?.closest('form');
    if (!form) return;
    const due = form.elements.namedItem('due') as HTMLInputElement | null;
    const onDue = () => setHasDue(due !== null && due.value !== '');
    const onReset = () => {
      setReminders(initialRef.current.reminders);
      setHasDue(initialRef.current.hasDue);
      setCustom('');
    };
    due?.addEventListener('input', onDue);
    due?.addEventListener('change', onDue);
    form.addEventListener('reset', onReset);
    return () => {
      due?.removeEventListener('input', onDue);
      due?.removeEventListener('change', onDue);
      form.removeEventListener('reset', onReset);
    };
  }, []);

  const full = reminders.length >= MAX_REMINDERS;
  function add(r: Reminder) {
    if (full || reminders.some((x) => same(x, r))) return;
    setReminders([...reminders, r]);
    window.dispatchEvent(new Event(REMINDER_ADDED));
  }

  return (
    <div className="reminders" ref={ref} data-testid="reminders-field">
      <input type="hidden" name="reminders" value={JSON.stringify(reminders)} />
      <span className="reminders-label">Reminders</span>
      {reminders.length ? (
        <ul className="reminder-chips">
          {reminders.map((r) => {
            const label = reminderLabel(r);
            const orphan = r.minutes_before !== undefined && !hasDue;
            return (
              <li key={JSON.stringify(r)} className={orphan ? 'orphan' : undefined} data-testid="reminder-chip">
                <span>{label}</span>
                <button type="button" aria-label={`Remove reminder ${label}`} onClick={() => setReminders(reminders.filter((x) => x !== r))}>
                  ×
                </button>
              </li>
            );
          })}
        </ul>
      ) : (
        <span className="muted">None</span>
      )}
      <select
        aria-label="Add a reminder"
        value=""
        disabled={full}
        onChange={(e) => {
          if (e.target.value !== '') add({ minutes_before: Number(e.target.value) });
        }}
      >
        <option value="">{full ? `At most ${MAX_REMINDERS} reminders` : 'Add a reminder…'}</option>
        {PRESETS.map((p) => (
          <option key={p.minutes} value={p.minutes} disabled={!hasDue || reminders.some((x) => x.minutes_before === p.minutes)}>
            {p.label}
          </option>
        ))}
      </select>
      <input type="datetime-local" aria-label="Custom reminder time" value={custom} disabled={full} onChange={(e) => setCustom(e.target.value)} />
      <button
        type="button"
        disabled={full || custom === ''}
        onClick={() => {
          // datetime-local is the browser's local time; the API takes an instant
          add({ at: new Date(custom).toISOString() });
          setCustom('');
        }}
      >
        Add time
      </button>
      {!hasDue ? (
        <span className="muted" data-testid="reminders-hint">
          Set a due date for reminders before it.
        </span>
      ) : null}
    </div>
  );
}

/** Dates as the task list shows them, in the browser's time zone. */
const pad = (n: number): string => String(n).padStart(2, '0');

/** A due date, e.g. 2026-12-24 17:00. */
export function formatDue(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The value of an <input type="datetime-local"> for an instant. */
export function toLocalInput(iso: string | null | undefined): string {
  return iso ? formatDue(iso).replace(' ', 'T') : '';
}

export function startOfDay(d: Date, plusDays = 0): Date {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + plusDays);
}

/** overdue (due before now), today (due later today), or null. */
export function dueState(iso: string | null, completed: boolean, now = new Date()): 'overdue' | 'today' | null {
  if (iso === null || completed) return null;
  const due = new Date(iso);
  if (due < now) return 'overdue';
  if (due < startOfDay(now, 1)) return 'today';
  return null;
}

/** The day heading of the Upcoming view: "Today", "Tomorrow", or "Wednesday 9 December". */
export function dayHeading(iso: string, now = new Date()): string {
  const day = startOfDay(new Date(iso));
  const today = startOfDay(now);
  const diff = Math.round((day.getTime() - today.getTime()) / 86_400_000);
  if (diff <= 0) return 'Today';
  if (diff === 1) return 'Tomorrow';
  return day.toLocaleDateString('en-GB', { weekday: 'long', day: 'numeric', month: 'long' });
}

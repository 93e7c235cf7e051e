import { Type } from 'typebox';
import { ApiError } from '../errors.js';
import { Instant } from '../http/text.js';

/**
 * Reminders (API.md, version 3): up to 5 of `{minutes_before}` (before the task's due_at, which it
 * needs) or `{at}` (an instant). The field's schema, and the checks a schema cannot say. They are
 * planned and fired by the database and the job queue (migration 0016, reminders/reminders.jobs.ts).
 */
export const REMINDERS_MAX = 5;
/** Four weeks. */
export const MINUTES_BEFORE_MAX = 40_320;

export type Reminder = { minutes_before: number } | { at: string };

const ONE_OF = `must be {"minutes_before": 0-${MINUTES_BEFORE_MAX}} or {"at": "<RFC 3339>"}`;

/** One object with either key (an anyOf would lose `at` to the body's removal of unknown keys): `checkReminders` says "exactly one". */
const ReminderSchema = Type.Unsafe<Reminder>(
  Type.Object(
    {
      minutes_before: Type.Optional(
        Type.Integer({ minimum: 0, maximum: MINUTES_BEFORE_MAX, description: 'Minutes before due_at (the task needs one)', examples: [30] }),
      ),
      at: Type.Optional(Instant({ description: 'An instant of its own', examples: ['2026-12-24T08:00:00Z'] })),
    },
    { description: `${ONE_OF}`, 'x-error-message': ONE_OF },
  ),
);

export const Reminders = Type.Array(ReminderSchema, {
  maxItems: REMINDERS_MAX,
  description:
    `Up to ${REMINDERS_MAX} reminders, each {"minutes_before": 0-${MINUTES_BEFORE_MAX}} (before due_at; needs one) or {"at": "<RFC 3339>"}. ` +
    'Each fires once at its time (a recurring task\'s relative ones at each occurrence) to the assignee, or to every member of the list: an event `reminder` on their streams, ' +
    'their Web Push subscriptions, their webhooks subscribed to task.reminder. Answered with `at` in UTC',
  examples: [[{ minutes_before: 30 }, { at: '2026-12-24T08:00:00.000Z' }], []],
});

const refuse = (message: string): never => {
  throw new ApiError('VALIDATION_ERROR', message);
};

/**
 * Each reminder has exactly one of its keys; an `at` (in UTC already: the schema's x-instant) is
 * stored and answered as the API writes instants, with milliseconds.
 */
export function checkReminders(reminders: Reminder[] | undefined | null): void {
  reminders?.forEach((r, i) => {
    if (('minutes_before' in r) === ('at' in r)) refuse(`reminders[${i}] ${ONE_OF}`);
    if ('at' in r) r.at = new Date(r.at).toISOString();
  });
}

/** A task's reminders and due_at as they will be: a relative reminder needs a due_at. */
export function checkRemindersNeedDue(reminders: readonly Reminder[] | undefined | null, dueAt: unknown): void {
  const i = reminders?.findIndex((r) => 'minutes_before' in r) ?? -1;
  if (i >= 0 && dueAt == null) refuse(`reminders[${i}] minutes_before needs a due_at (set due_at too, or use {"at": ...})`);
}

/** Whether any reminder is relative (then a change must be checked against the task's due_at). */
export const hasRelative = (reminders: readonly Reminder[] | undefined | null): boolean => reminders?.some((r) => 'minutes_before' in r) ?? false;

import type { Database } from '../db/client.js';
import { handler, jobType, type JobHandler } from '../jobs/jobs.js';
import { PUSH_PAYLOAD_MAX_BYTES } from '../push/push.delivery.js';
import { pushSendSql } from '../push/push.jobs.js';
import type { LiveUpdates } from '../sync/live.js';

/**
 * Reminders fire here (API.md, version 3, Reminders). The database plans them (migration 0016): each
 * task with a reminder to come has one job, key `reminder:<id>`, at its next reminder's time,
 * replaced by every write that changes its reminders, due date or completion, taken away when it
 * is completed or deleted. The job, run by one instance (graphile-worker locks it), fires in one
 * transaction every reminder of the task whose time came after the plan was made (`after`) and at
 * most 24 h ago (older ones, after downtime, are dropped); records each instant in
 * reminder_firings, so that a retried job never fires one twice; adds the push deliveries and the
 * `task.reminder` webhook deliveries in that same transaction; plans the next one. Once it
 * committed, the open streams of the recipients get an `event: reminder` on every instance.
 */
export const REMINDER_FIRE = jobType<{ task_id: number; after: string }>('task.reminder');

/** A reminder later than this (the service was down) is dropped, not fired. */
export const REMINDER_LATE_MAX = '24 hours';

interface Fired {
  fire_at: string;
  task: Record<string, unknown>;
  users: string[];
}

/** The task a push message carries when the whole one does not fit (push services refuse large payloads). */
const SMALL_TASK = ['id', 'uid', 'list_id', 'title', 'due_at'] as const;

function reminderPayload(fired: Fired): { type: 'reminder'; task: Record<string, unknown>; fire_at: string } {
  return { type: 'reminder', task: fired.task, fire_at: fired.fire_at };
}

function smaller(fired: Fired): ReturnType<typeof reminderPayload> {
  return { type: 'reminder', task: Object.fromEntries(SMALL_TASK.map((k) => [k, fired.task[k]])), fire_at: fired.fire_at };
}

/**
 * One statement, so one transaction without a BEGIN: the task locked; the instants due now, recorded
 * (a retry finds them recorded and fires nothing); for each, the webhook deliveries of its recipients
 * (the assignee's, or every member's of the list) and a Web Push message to each recipient with a
 * subscription (above 3,000 bytes with the small task); the next instant planned (this job is running:
 * the queue adds a new one under the key); the recipients and the task as the API sends it.
 */
const FIRE = (() => {
  const payload = (task: string) => `jsonb_build_object('type', 'reminder', 'task', ${task}, 'fire_at', api_instant(f.fire_at))`;
  const smallTask = `jsonb_build_object(${SMALL_TASK.map((k) => `'${k}', ${k === 'due_at' ? 'api_instant(t.due_at)' : `t.${k}`}`).join(', ')})`;
  const pushText = `(select case when octet_length(p.full::text) <= ${PUSH_PAYLOAD_MAX_BYTES} then p.full::text else p.small::text end from (select ${payload('task_api_json(t)')} as full, ${payload(smallTask)} as small) p)`;
  return `
  with t as (select * from tasks where id = $1 for update),
  due as (
    select distinct x as fire_at from t cross join lateral task_reminder_times(t) x
    where x > $2::timestamptz and x <= now() and x > now() - interval '${REMINDER_LATE_MAX}'),
  fired as (
    insert into reminder_firings (task_id, fire_at) select $1, fire_at from due
    on conflict do nothing returning fire_at),
  who as (
    select case when t.assignee_id is not null then array[t.assignee_id]
                else array(select user_id from list_members m where m.list_id = t.list_id order by user_id) end as users
    from t),
  hooks as (
    select webhook_record(coalesce(jsonb_agg(jsonb_build_object('type', 'task.reminder', 'list_id', t.list_id, 'only_user', t.assignee_id,
      'data', jsonb_build_object('task', task_api_json(t), 'fire_at', api_instant(f.fire_at))) order by f.fire_at), '[]'))
    from t cross join fired f where exists (select 1 from webhooks where enabled)),
  pushed as (
    select ${pushSendSql('who.users', pushText, { urgency: 'high', ttlSeconds: 86_400 })} as n
    from t cross join fired f cross join who),
  next as (
    select graphile_worker.add_job('${REMINDER_FIRE.name}', json_build_object('task_id', t.id, 'after', api_instant(now())),
      run_at => n.at, job_key => 'reminder:' || t.id, job_key_mode => 'replace', max_attempts => 10)
    from t cross join (select min(x) as at from t cross join lateral task_reminder_times(t) x where x > now()) n
    where n.at is not null)
  select array(select api_instant(fire_at) from fired order by fire_at) as fired,
    (select count(*) from hooks) + (select count(*) from pushed) + (select count(*) from next) as planned,
    task_api_json(t) as task, who.users
  from t cross join who`;
})();

export interface ReminderJobsOptions {
  database: Database;
  /** The open streams (set once live updates started; in the job process, its parent's). */
  live: () => Pick<LiveUpdates, 'message'> | undefined;
  log: { debug(obj: object, msg: string): void };
}

/** The reminders room's job handler, for the runner. */
export function reminderJobHandlers(options: ReminderJobsOptions): JobHandler<never>[] {
  const { database, log } = options;
  const fire = handler(REMINDER_FIRE, async ({ task_id, after }) => {
    const [row] = await database.rows<{ fired: string[]; task: Record<string, unknown>; users: string[] }>(FIRE, [task_id, after]);
    if (row === undefined) return; // deleted meanwhile (its job goes with it)
    for (const fire_at of row.fired) {
      const fired = { fire_at, task: row.task, users: row.users };
      log.debug({ task: task_id, users: fired.users.length }, 'reminder fired');
      options.live()?.message(fired.users, 'reminder', reminderPayload(fired), smaller(fired));
    }
  });
  return [fire] as JobHandler<never>[];
}

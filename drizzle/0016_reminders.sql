-- Reminders (API.md, version 3): up to 5 of {minutes_before} (before due_at) or {at} (an instant),
-- checked by the routes. Each task with a reminder to come has one job (graphile-worker, key
-- `reminder:<id>`) at its next reminder's time, planned here, by triggers, in the transaction of the
-- write: whatever route or cascade completes, deletes, restores or moves the due date of a task, its
-- reminders follow. Tasks without reminders (the WHEN clauses) cost nothing more.
ALTER TABLE "tasks" ADD COLUMN "reminders" jsonb DEFAULT '[]'::jsonb NOT NULL;
--> statement-breakpoint
-- Each reminder instant fired, once (the job is retried after a crash; it never fires twice).
CREATE TABLE "reminder_firings" (
  "task_id" integer NOT NULL REFERENCES "tasks"("id") ON DELETE CASCADE,
  "fire_at" timestamp(3) with time zone NOT NULL,
  "fired_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
  PRIMARY KEY ("task_id", "fire_at")
);
--> statement-breakpoint
-- The instants of a task's reminders while it is pending (relative ones need its due_at).
CREATE FUNCTION "task_reminder_times"(t "tasks") RETURNS SETOF timestamptz LANGUAGE sql STABLE AS $$
  select date_trunc('milliseconds', case when r ? 'at' then (r->>'at')::timestamptz
              else t.due_at - make_interval(mins => (r->>'minutes_before')::int) end)
  from jsonb_array_elements(t.reminders) r
  where not t.completed and (r ? 'at' or t.due_at is not null)
$$;
--> statement-breakpoint
-- Plans the task's next reminder after now (its job replaced), or takes its job away.
CREATE FUNCTION "tasks_plan_reminders"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  next_at timestamptz;
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM graphile_worker.remove_job('reminder:' || OLD.id);
    RETURN NULL;
  END IF;
  SELECT min(x) INTO next_at FROM task_reminder_times(NEW) x WHERE x > now();
  IF next_at IS NULL THEN
    IF TG_OP = 'UPDATE' THEN PERFORM graphile_worker.remove_job('reminder:' || NEW.id); END IF;
  ELSE
    PERFORM graphile_worker.add_job('task.reminder', json_build_object('task_id', NEW.id, 'after', api_instant(now())),
      run_at => next_at, job_key => 'reminder:' || NEW.id, job_key_mode => 'replace', max_attempts => 10);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "tasks_reminders_insert" AFTER INSERT ON "tasks" FOR EACH ROW
  WHEN (NEW.reminders <> '[]'::jsonb) EXECUTE FUNCTION tasks_plan_reminders();
--> statement-breakpoint
CREATE TRIGGER "tasks_reminders_update" AFTER UPDATE OF reminders, due_at, completed ON "tasks" FOR EACH ROW
  WHEN ((NEW.reminders <> '[]'::jsonb OR OLD.reminders <> '[]'::jsonb)
    AND (NEW.reminders IS DISTINCT FROM OLD.reminders OR NEW.due_at IS DISTINCT FROM OLD.due_at OR NEW.completed IS DISTINCT FROM OLD.completed))
  EXECUTE FUNCTION tasks_plan_reminders();
--> statement-breakpoint
CREATE TRIGGER "tasks_reminders_delete" AFTER DELETE ON "tasks" FOR EACH ROW
  WHEN (OLD.reminders <> '[]'::jsonb) EXECUTE FUNCTION tasks_plan_reminders();
--> statement-breakpoint
-- Webhook payloads equal the API's task (migration 0013): reminders too.
CREATE OR REPLACE FUNCTION "task_api_json"(t "tasks") RETURNS jsonb LANGUAGE sql STABLE AS $$
  select jsonb_build_object('id', t.id, 'user_id', t.user_id, 'list_id', t.list_id, 'uid', t.uid, 'parent_id', t.parent_id,
    'position', t.position, 'assignee_id', t.assignee_id, 'title', t.title, 'description', t.description, 'priority', t.priority,
    'tags', to_jsonb(t.tags), 'due_at', api_instant(t.due_at), 'recurrence', t.recurrence, 'repeat_from', t.repeat_from,
    'time_zone', t.time_zone, 'reminders', t.reminders, 'completed', t.completed, 'completed_at', api_instant(t.completed_at),
    'version', t.version, 'created_at', api_instant(t.created_at), 'updated_at', api_instant(t.updated_at))
$$;
--> statement-breakpoint
-- The webhook events' insert is planned for rows it never has (a join over webhooks and members
-- estimated at ~380,000): above jit_above_cost, so PostgreSQL (with LLVM, as Debian's) compiled it
-- at every call, 11-19 ms for nothing, on every write of a deployment with a webhook and in every
-- reminder fired (npm run bench:reminders). It runs interpreted.
ALTER FUNCTION "webhook_record"(jsonb) SET jit = off;

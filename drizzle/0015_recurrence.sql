-- Recurrence (API.md, version 3): the rule, where the next occurrence is counted from, the zone.
ALTER TABLE "tasks" ADD COLUMN "recurrence" text;
--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "repeat_from" text DEFAULT 'due' NOT NULL;
--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_repeat_from_check" CHECK ("repeat_from" IN ('due', 'completion'));
--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "time_zone" text;
--> statement-breakpoint
-- Occurrences completed or skipped since the task became recurring (what COUNT counts); not an API field.
ALTER TABLE "tasks" ADD COLUMN "recurrence_done" integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
-- Each completion of a recurring task that moved it on to its next occurrence (newest first by id).
CREATE TABLE "task_completions" (
  "id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  "task_id" integer NOT NULL REFERENCES "tasks"("id") ON DELETE CASCADE,
  "occurrence_due_at" timestamp(3) with time zone NOT NULL,
  "completed_at" timestamp(3) with time zone NOT NULL,
  "completed_by" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX "task_completions_task_idx" ON "task_completions" ("task_id", "id" DESC);
--> statement-breakpoint
-- Webhook payloads equal the API's task (migration 0013): the new fields too.
CREATE OR REPLACE FUNCTION "task_api_json"(t "tasks") RETURNS jsonb LANGUAGE sql STABLE AS $$
  select jsonb_build_object('id', t.id, 'user_id', t.user_id, 'list_id', t.list_id, 'uid', t.uid, 'parent_id', t.parent_id,
    'position', t.position, 'assignee_id', t.assignee_id, 'title', t.title, 'description', t.description, 'priority', t.priority,
    'tags', to_jsonb(t.tags), 'due_at', api_instant(t.due_at), 'recurrence', t.recurrence, 'repeat_from', t.repeat_from,
    'time_zone', t.time_zone, 'completed', t.completed, 'completed_at', api_instant(t.completed_at),
    'version', t.version, 'created_at', api_instant(t.created_at), 'updated_at', api_instant(t.updated_at))
$$;
--> statement-breakpoint
-- Webhooks: a recurring completion is `task.completed` (the task stays pending, a completion is recorded).
CREATE OR REPLACE FUNCTION "tasks_webhook_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhooks) THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object(
      'type', CASE WHEN coalesce(current_setting('app.task_restore', true), '') = 'on' THEN 'task.restored' ELSE 'task.created' END,
      'list_id', n.list_id, 'data', jsonb_build_object('task', task_api_json(n))) ORDER BY n.id), '[]') FROM new_rows n));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object(
      -- A recurring task's completion advances it (it stays pending) and records a completion in
      -- the same statement: that is a completion too (API.md, "Webhooks").
      'type', CASE WHEN (n.completed AND NOT o.completed)
        OR EXISTS (SELECT 1 FROM task_completions c WHERE c.task_id = n.id AND c.completed_at = n.updated_at) THEN 'task.completed' ELSE 'task.updated' END,
      'list_id', n.list_id, 'data', jsonb_build_object('task', task_api_json(n))) ORDER BY n.id), '[]')
      FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.version <> o.version));
  ELSE
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object('type', 'task.deleted', 'list_id', o.list_id, 'data', jsonb_build_object('task', task_api_json(o))) ORDER BY o.id), '[]') FROM old_rows o));
  END IF;
  RETURN NULL;
END
$$;

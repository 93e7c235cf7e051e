-- The trash (API.md, version 3, "Trash"): a deleted task, with the subtree deleted with it, leaves
-- `tasks` for this table, kept whole (`data`: the row as it was, every column) for TRASH_RETENTION_DAYS.
-- A separate table, so that no read path of tasks (pages, single reads, /tags, /changes, events,
-- calendar feeds, counts, the task limit) can show a trashed task: they read `tasks` only.
-- `root_id`: the task whose delete took it (its own id for an entry of the trash; a task deleted with
-- its parent has that parent's). `list_deleted_by`: set when its list was deleted: then only that
-- user sees it, and a restore puts it into their Inbox.
CREATE TABLE "trashed_tasks" (
	"id" integer PRIMARY KEY NOT NULL,
	"root_id" integer NOT NULL,
	"list_id" integer NOT NULL,
	"deleted_by" text NOT NULL,
	"list_deleted_by" text,
	"deleted_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"data" jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX "trashed_tasks_root_idx" ON "trashed_tasks" USING btree ("root_id");--> statement-breakpoint
CREATE INDEX "trashed_tasks_list_idx" ON "trashed_tasks" USING btree ("list_id","deleted_at" DESC,"id" DESC) WHERE "id" = "root_id";--> statement-breakpoint
CREATE INDEX "trashed_tasks_deleter_idx" ON "trashed_tasks" USING btree ("list_deleted_by","deleted_at" DESC,"id" DESC) WHERE "list_deleted_by" IS NOT NULL AND "id" = "root_id";--> statement-breakpoint
CREATE INDEX "trashed_tasks_deleted_at_idx" ON "trashed_tasks" USING btree ("deleted_at");
--> statement-breakpoint
-- A restore inserts the tasks back (same ids): its transaction sets `app.task_restore` to 'on' for
-- that insert, and webhooks then hear `task.restored`, not `task.created`.
CREATE OR REPLACE FUNCTION "tasks_webhook_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhooks) THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object(
      'type', CASE WHEN coalesce(current_setting('app.task_restore', true), '') = 'on' THEN 'task.restored' ELSE 'task.created' END,
      'list_id', n.list_id, 'data', jsonb_build_object('task', task_api_json(n))) ORDER BY n.id), '[]') FROM new_rows n));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object(
      'type', CASE WHEN n.completed AND NOT o.completed THEN 'task.completed' ELSE 'task.updated' END,
      'list_id', n.list_id, 'data', jsonb_build_object('task', task_api_json(n))) ORDER BY n.id), '[]')
      FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.version <> o.version));
  ELSE
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object('type', 'task.deleted', 'list_id', o.list_id, 'data', jsonb_build_object('task', task_api_json(o))) ORDER BY o.id), '[]') FROM old_rows o));
  END IF;
  RETURN NULL;
END
$$;

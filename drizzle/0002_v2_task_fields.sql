-- Version 2 of the task: priority, tags, due_at, completed_at, version, and the indexes of the list
-- queries. pg_trgm and btree_gin ship with PostgreSQL (trusted extensions: a database owner may
-- create them, on Neon too).
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS btree_gin;--> statement-breakpoint
-- The tags as the ?tag= filter compares them: lower-cased (the stored spelling is the first one given).
CREATE FUNCTION task_tags_key(tags text[]) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT coalesce(array_agg(lower(t)), '{}'::text[]) FROM unnest(tags) AS t $$;--> statement-breakpoint
CREATE TYPE "public"."task_priority" AS ENUM('none', 'low', 'medium', 'high');--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "priority" "task_priority" DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "tags" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "due_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "completed_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- A task already completed was completed, at the latest, when it last changed.
UPDATE "tasks" SET "completed_at" = "updated_at" WHERE "completed";--> statement-breakpoint
CREATE INDEX "tasks_user_completed_created_idx" ON "tasks" USING btree ("user_id","completed","created_at" desc,"id" desc);--> statement-breakpoint
CREATE INDEX "tasks_user_updated_idx" ON "tasks" USING btree ("user_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "tasks_user_due_idx" ON "tasks" USING btree ("user_id","due_at","id");--> statement-breakpoint
CREATE INDEX "tasks_user_priority_idx" ON "tasks" USING btree ("user_id","priority","id");--> statement-breakpoint
CREATE INDEX "tasks_user_title_idx" ON "tasks" USING btree ("user_id",lower("title"),"id");--> statement-breakpoint
CREATE INDEX "tasks_search_idx" ON "tasks" USING gin ("user_id",("title" || E'\x1f' || coalesce("description", '')) gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "tasks_tags_idx" ON "tasks" USING gin ("user_id",task_tags_key("tags"));
-- Sync, live updates, safe retries: the per-user change counter, deletion records, Idempotency-Key
-- answers, event-stream tickets. Existing tasks get change sequence numbers in the order they last
-- changed, and each user's counter starts where they end.
CREATE TABLE "event_tickets" (
	"ticket_hash" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"user_id" text NOT NULL,
	"key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"status" smallint NOT NULL,
	"body" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_user_id_key_pk" PRIMARY KEY("user_id","key")
);
--> statement-breakpoint
CREATE TABLE "task_tombstones" (
	"user_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"task_id" integer NOT NULL,
	"deleted_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "task_tombstones_user_id_seq_pk" PRIMARY KEY("user_id","seq")
);
--> statement-breakpoint
CREATE TABLE "user_changes" (
	"user_id" text PRIMARY KEY NOT NULL,
	"seq" bigint DEFAULT 0 NOT NULL,
	"task_count" integer DEFAULT 0 NOT NULL,
	"purged_through" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "change_seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "event_tickets_expires_at_idx" ON "event_tickets" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "idempotency_keys_created_at_idx" ON "idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "task_tombstones_deleted_at_idx" ON "task_tombstones" USING btree ("deleted_at");--> statement-breakpoint
UPDATE "tasks" SET "change_seq" = numbered.n FROM (
  SELECT "id", row_number() OVER (PARTITION BY "user_id" ORDER BY "updated_at", "id") AS n FROM "tasks"
) AS numbered WHERE "tasks"."id" = numbered."id";--> statement-breakpoint
INSERT INTO "user_changes" ("user_id", "seq", "task_count")
  SELECT "user_id", count(*), count(*) FROM "tasks" GROUP BY "user_id";--> statement-breakpoint
CREATE INDEX "tasks_user_change_seq_idx" ON "tasks" USING btree ("user_id","change_seq");
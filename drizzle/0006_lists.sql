-- Lists: the unit of data and access, and a feed per user (docs/ARCHITECTURE.md). Every task is in a
-- list; every user has one default list, the Inbox, and owns it. What each user's /changes and event
-- streams send is now recorded per user in feed_entries (the task rows no longer carry the user's
-- change number, which a task seen by several members could not hold), and deletion records move
-- there too. All in the one migration transaction: instances starting meanwhile wait for it
-- (docs/DEPLOYMENT.md gives the time on 1M tasks).
CREATE TYPE "public"."list_role" AS ENUM('owner', 'editor', 'viewer');--> statement-breakpoint
CREATE TABLE "lists" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "lists_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"owner_id" text NOT NULL,
	"name" varchar(100) NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);--> statement-breakpoint
CREATE TABLE "list_members" (
	"list_id" integer NOT NULL,
	"user_id" text NOT NULL,
	"role" "list_role" NOT NULL,
	"position" text DEFAULT 'a0' NOT NULL,
	"joined_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "list_members_list_id_user_id_pk" PRIMARY KEY("list_id","user_id")
);--> statement-breakpoint
ALTER TABLE "list_members" ADD CONSTRAINT "list_members_list_id_lists_id_fk" FOREIGN KEY ("list_id") REFERENCES "public"."lists"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE TABLE "feed_entries" (
	"user_id" text NOT NULL,
	"kind" smallint NOT NULL,
	"entity_id" integer NOT NULL,
	"seq" bigint NOT NULL,
	"deleted" boolean DEFAULT false NOT NULL,
	"changed_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feed_entries_user_id_kind_entity_id_pk" PRIMARY KEY("user_id","kind","entity_id")
);--> statement-breakpoint
-- Every user from before gets an Inbox they own: those with a counter row, and every author.
INSERT INTO "user_changes" ("user_id") SELECT DISTINCT "user_id" FROM "tasks" ON CONFLICT ("user_id") DO NOTHING;--> statement-breakpoint
INSERT INTO "lists" ("owner_id", "name", "is_default") SELECT "user_id", 'Inbox', true FROM "user_changes";--> statement-breakpoint
INSERT INTO "list_members" ("list_id", "user_id", "role") SELECT "id", "owner_id", 'owner' FROM "lists";--> statement-breakpoint
-- The feed: each task's last change (its author's sequence, as the task row carried it), and each
-- deletion record.
INSERT INTO "feed_entries" ("user_id", "kind", "entity_id", "seq", "deleted", "changed_at")
  SELECT "user_id", 1, "id", "change_seq", false, "updated_at" FROM "tasks"
  UNION ALL SELECT "user_id", 1, "task_id", "seq", true, "deleted_at" FROM "task_tombstones";--> statement-breakpoint
CREATE INDEX "feed_entries_user_seq_idx" ON "feed_entries" USING btree ("user_id","seq");--> statement-breakpoint
CREATE INDEX "feed_entries_deleted_idx" ON "feed_entries" USING btree ("user_id","seq") WHERE "feed_entries"."deleted";--> statement-breakpoint
CREATE INDEX "feed_entries_deleted_at_idx" ON "feed_entries" USING btree ("changed_at") WHERE "feed_entries"."deleted";--> statement-breakpoint
CREATE INDEX "list_members_user_idx" ON "list_members" USING btree ("user_id","list_id");--> statement-breakpoint
CREATE UNIQUE INDEX "lists_owner_default_idx" ON "lists" USING btree ("owner_id") WHERE "lists"."is_default";--> statement-breakpoint
CREATE INDEX "lists_owner_idx" ON "lists" USING btree ("owner_id");--> statement-breakpoint
-- The tasks' list is filled with every index but the primary key dropped and built again after:
-- one UPDATE of every row would otherwise insert each row again into ten indexes, two of them GIN.
DROP INDEX "tasks_user_created_idx";--> statement-breakpoint
DROP INDEX "tasks_user_completed_created_idx";--> statement-breakpoint
DROP INDEX "tasks_user_updated_idx";--> statement-breakpoint
DROP INDEX "tasks_user_due_idx";--> statement-breakpoint
DROP INDEX "tasks_user_priority_idx";--> statement-breakpoint
DROP INDEX "tasks_user_title_idx";--> statement-breakpoint
DROP INDEX "tasks_user_change_seq_idx";--> statement-breakpoint
DROP INDEX "tasks_search_idx";--> statement-breakpoint
DROP INDEX "tasks_tags_idx";--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "list_id" integer;--> statement-breakpoint
UPDATE "tasks" "t" SET "list_id" = "l"."id" FROM "lists" "l" WHERE "l"."owner_id" = "t"."user_id" AND "l"."is_default";--> statement-breakpoint
ALTER TABLE "tasks" ALTER COLUMN "list_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" DROP COLUMN "change_seq";--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_list_id_lists_id_fk" FOREIGN KEY ("list_id") REFERENCES "public"."lists"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "tasks_list_created_idx" ON "tasks" USING btree ("list_id","created_at" desc,"id" desc);--> statement-breakpoint
CREATE INDEX "tasks_list_completed_created_idx" ON "tasks" USING btree ("list_id","completed","created_at" desc,"id" desc);--> statement-breakpoint
CREATE INDEX "tasks_list_updated_idx" ON "tasks" USING btree ("list_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "tasks_list_due_idx" ON "tasks" USING btree ("list_id","due_at","id");--> statement-breakpoint
CREATE INDEX "tasks_list_priority_idx" ON "tasks" USING btree ("list_id","priority","id");--> statement-breakpoint
CREATE INDEX "tasks_list_title_idx" ON "tasks" USING btree ("list_id",lower("title"),"id");--> statement-breakpoint
CREATE INDEX "tasks_search_idx" ON "tasks" USING gin ("list_id",("title" || E'\x1f' || coalesce("description", '')) gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "tasks_tags_idx" ON "tasks" USING gin ("list_id","tags_key");--> statement-breakpoint
DROP TABLE "task_tombstones";

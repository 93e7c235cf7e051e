-- Version 3, tasks in lists: a client's id (uid), subtasks (parent_id), order among siblings
-- (position, a fractional-indexing key compared as bytes), an assignee. One ALTER TABLE: the volatile
-- default of uid and the stored expression of position make it one rewrite of the table (every index
-- rebuilt once, as a new table's), not an UPDATE of every row through ten indexes. Existing tasks
-- are placed by creation time (oldest first, the order in which tasks are appended from now on):
-- 'h' and 8 base-62 digits of the creation time in milliseconds, so two tasks of one millisecond
-- share a key and order by id, as the contract says of equal keys. The expression is dropped after
-- (position is an ordinary column the API writes); so is the helper.
-- Index builds (the whole table's indexes are built again by the rewrite; the trigram index of q is
-- most of the time) get more memory than the default 64 MB, for this transaction only: 68 s -> ~50 s
-- on 1M tasks (docs/DEPLOYMENT.md).
SET LOCAL maintenance_work_mem = '128MB';--> statement-breakpoint
CREATE FUNCTION "task_position_from_ms"("m" bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  select 'h' || substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', (m / 3521614606208 % 62)::int + 1, 1)
    || substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', (m / 56800235584 % 62)::int + 1, 1)
    || substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', (m / 916132832 % 62)::int + 1, 1)
    || substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', (m / 14776336 % 62)::int + 1, 1)
    || substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', (m / 238328 % 62)::int + 1, 1)
    || substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', (m / 3844 % 62)::int + 1, 1)
    || substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', (m / 62 % 62)::int + 1, 1)
    || substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', (m % 62)::int + 1, 1)
$$;--> statement-breakpoint
CREATE FUNCTION "task_position_from_time"("t" timestamptz) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  select task_position_from_ms(case when isfinite(t) then greatest(0, least(218340105584895, floor(extract(epoch from t) * 1000)))::bigint else 0 end)
$$;--> statement-breakpoint
ALTER TABLE "tasks"
  ADD COLUMN "uid" text DEFAULT gen_random_uuid()::text NOT NULL,
  ADD COLUMN "parent_id" integer,
  ADD COLUMN "position" text COLLATE "C" GENERATED ALWAYS AS (task_position_from_time("created_at")) STORED NOT NULL,
  ADD COLUMN "assignee_id" text;--> statement-breakpoint
ALTER TABLE "tasks" ALTER COLUMN "position" DROP EXPRESSION;--> statement-breakpoint
-- The API always writes a position; rows inserted by SQL alone (tools, fixtures) get the first key.
ALTER TABLE "tasks" ALTER COLUMN "position" SET DEFAULT 'a0';--> statement-breakpoint
DROP FUNCTION "task_position_from_time"(timestamptz);--> statement-breakpoint
DROP FUNCTION "task_position_from_ms"(bigint);--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_parent_id_tasks_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_uid_idx" ON "tasks" USING btree ("uid");--> statement-breakpoint
CREATE INDEX "tasks_list_position_idx" ON "tasks" USING btree ("list_id","position","id");--> statement-breakpoint
CREATE INDEX "tasks_list_parent_position_idx" ON "tasks" USING btree ("list_id","parent_id","position","id");--> statement-breakpoint
CREATE INDEX "tasks_list_assignee_idx" ON "tasks" USING btree ("list_id","assignee_id","created_at" desc,"id" desc) WHERE "tasks"."assignee_id" is not null;--> statement-breakpoint
-- A new task's default place, after its last sibling: generateKeyBetween(last, null) of the npm
-- package fractional-indexing (base 62), computed in the statement that inserts the task.
-- The key's integer part incremented; 'a0' when there is no sibling.
CREATE FUNCTION "task_position_after"("k" text) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  d constant text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  h int;
  n int;
  digs text;
  i int;
  v int;
BEGIN
  IF k IS NULL OR k = '' THEN RETURN 'a0'; END IF;
  h := ascii(k);
  IF h BETWEEN 97 AND 122 THEN n := h - 97 + 2;
  ELSIF h BETWEEN 65 AND 90 THEN n := 90 - h + 2;
  ELSE RETURN k || 'V';
  END IF;
  digs := substr(k, 2, n - 1);
  i := n - 1;
  WHILE i >= 1 LOOP
    v := strpos(d, substr(digs, i, 1));
    IF v = 62 THEN
      digs := overlay(digs placing '0' from i for 1);
      i := i - 1;
    ELSE
      RETURN chr(h) || overlay(digs placing substr(d, v + 1, 1) from i for 1);
    END IF;
  END LOOP;
  -- Every digit carried: the next head (one digit more for a positive one, one less for a negative).
  IF h = 90 THEN RETURN 'a0'; END IF;
  IF h = 122 THEN RETURN k || 'V'; END IF;
  IF h + 1 >= 97 THEN RETURN chr(h + 1) || digs || '0'; END IF;
  RETURN chr(h + 1) || substr(digs, 1, length(digs) - 1);
END
$$;

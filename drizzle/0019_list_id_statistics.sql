-- What the planner assumes of one list (issue 29: reads across lists). A page without list_id reads
-- each of the caller's lists in turn (a LATERAL join: src/tasks/tasks.query.ts), its list_id a
-- value from the row before, not a constant: PostgreSQL then estimates the tasks of that list as
-- the table's average (about 100 for 1M tasks in 10k lists), whatever the list holds, and for a
-- filtered page of a big list it chose to collect every task that matched the filter and sort them
-- (10,000 to 40,000 of a 100k-task user's, bench:explain) instead of reading the sort's index in
-- order until the page is full. Declared here: about 10,000 tasks a list (n_distinct as a fraction
-- of the rows, so it holds at any table size), the size the plans must be good for; a small list is
-- read whole in either plan. Used from the next ANALYZE (autovacuum's, or the one below).
ALTER TABLE "tasks" ALTER COLUMN "list_id" SET (n_distinct = -0.0001);
--> statement-breakpoint
ANALYZE "tasks" ("list_id");

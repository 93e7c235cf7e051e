// SQL used by the ceilings. LIST_SQL is what Drizzle generates for our list route, verbatim.

export const LIST_SQL =
  'select "id", "user_id", "title", "description", "completed", "created_at", "updated_at" ' +
  'from "tasks" where "tasks"."user_id" = $1 ' +
  'order by "tasks"."created_at" desc, "tasks"."id" desc';

/**
 * Our table and index, for a ceiling database built by the harness itself (only when our
 * server was not run, e.g. `--skip-ours`). Normally the ceilings reuse our server's database.
 */
export const TASKS_DDL = `
create table if not exists "tasks" (
  "id" integer primary key generated always as identity,
  "user_id" text not null,
  "title" varchar(200) not null,
  "description" text,
  "completed" boolean not null default false,
  "created_at" timestamp(3) with time zone not null default now(),
  "updated_at" timestamp(3) with time zone not null default now()
);
create index if not exists "tasks_user_created_idx"
  on "tasks" using btree ("user_id", "created_at" desc, "id" desc);
`;

export const LIST_MESSAGE = 'Tasks retrieved successfully';

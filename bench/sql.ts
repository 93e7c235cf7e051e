// SQL used by the ceilings: the list route's own read of one user's Inbox (version 3: tasks are in
// lists, and every index of tasks leads with list_id), as one statement.

export const LIST_SQL =
  'select "id", "user_id", "title", "description", "completed", "created_at", "updated_at" ' +
  'from "tasks" where "tasks"."list_id" = (select "id" from "lists" where "owner_id" = $1 and "is_default") ' +
  'order by "tasks"."created_at" desc, "tasks"."id" desc';

/**
 * Our tables and index, for a ceiling database built by the harness itself (only when our
 * server was not run, e.g. `--skip-ours`). Normally the ceilings reuse our server's database.
 */
export const TASKS_DDL = `
create table if not exists "lists" (
  "id" integer primary key generated always as identity,
  "owner_id" text not null,
  "is_default" boolean not null default false
);
create unique index if not exists "lists_owner_default_idx" on "lists" ("owner_id") where "is_default";
create table if not exists "tasks" (
  "id" integer primary key generated always as identity,
  "user_id" text not null,
  "list_id" integer not null references "lists" ("id"),
  "title" varchar(200) not null,
  "description" text,
  "completed" boolean not null default false,
  "created_at" timestamp(3) with time zone not null default now(),
  "updated_at" timestamp(3) with time zone not null default now()
);
create index if not exists "tasks_list_created_idx"
  on "tasks" using btree ("list_id", "created_at" desc, "id" desc);
`;

export const LIST_MESSAGE = 'Tasks retrieved successfully';

import { sql } from 'drizzle-orm';
import { bigint, boolean, check, customType, index, integer, jsonb, pgEnum, pgTable, primaryKey, smallint, text, timestamp, uniqueIndex, varchar, type AnyPgColumn } from 'drizzle-orm/pg-core';

/** Ordered so: sorting by priority sorts by this order. */
export const taskPriority = pgEnum('task_priority', ['none', 'low', 'medium', 'high']);

/** A member's role in a list (src/access/roles.ts says what each may do). */
export const listRole = pgEnum('list_role', ['owner', 'editor', 'viewer']);

/**
 * Lists: the unit of data and access. Every task is in one; every user has exactly one default list
 * (their Inbox, `is_default`), made on their first request (src/access/) or, for users from before
 * lists, by migration 0006. `version` and `updated_at` move with the name, the owner or the members.
 */
export const lists = pgTable(
  'lists',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    owner_id: text('owner_id').notNull(),
    name: varchar('name', { length: 100 }).notNull(),
    is_default: boolean('is_default').notNull().default(false),
    version: integer('version').notNull().default(1),
    created_at: timestamp('created_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
    updated_at: timestamp('updated_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    // One Inbox per user, however many first requests race to make it.
    uniqueIndex('lists_owner_default_idx').on(t.owner_id).where(sql`${t.is_default}`),
    index('lists_owner_idx').on(t.owner_id),
  ],
);

/**
 * Who may do what in a list: one row per member, the owner included (role `owner`). `position` is the
 * member's own place of the list in their sidebar (a fractional-indexing key).
 */
export const listMembers = pgTable(
  'list_members',
  {
    list_id: integer('list_id')
      .notNull()
      .references(() => lists.id, { onDelete: 'cascade' }),
    user_id: text('user_id').notNull(),
    role: listRole('role').notNull(),
    position: text('position').notNull().default('a0'),
    joined_at: timestamp('joined_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.list_id, t.user_id] }),
    index('list_members_user_idx').on(t.user_id, t.list_id),
    // One owner per list.
    uniqueIndex('list_members_one_owner_idx').on(t.list_id).where(sql`${t.role} = 'owner'`),
  ],
);

/**
 * Text compared as bytes (COLLATE "C"): fractional-indexing keys (positions) order so, whatever the
 * database's default collation (en_US would put `a` before `B`).
 */
const byteText = customType<{ data: string }>({ dataType: () => 'text COLLATE "C"' });

/**
 * The one table of tasks. Property names are snake_case like the columns, so a selected row
 * is already the JSON object the API returns: nothing is re-mapped per request.
 * Timestamps keep millisecond precision, what the API shows; they arrive as ISO 8601 strings in UTC
 * (db/client.ts; lib/instant.ts, storedInstant), hence mode 'string'.
 * Every index leads with user_id: every query is one user's.
 */
export const tasks = pgTable(
  'tasks',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    /** Who created the task (version 1's meaning). Access is by list: see list_id. */
    user_id: text('user_id').notNull(),
    /** The task's list: who may read and write it is who is a member of that list. */
    list_id: integer('list_id')
      .notNull()
      .references(() => lists.id),
    /** The client's id of the task (API.md, version 3): unique among all tasks, immutable. */
    uid: text('uid')
      .notNull()
      .default(sql`gen_random_uuid()::text`),
    /** The parent task (a subtask), in the same list; null at the top level. At most 5 levels. */
    parent_id: integer('parent_id').references((): AnyPgColumn => tasks.id),
    /**
     * The task's place among its siblings (same list, same parent): a fractional-indexing key, compared
     * as bytes; ties by id. The API always writes one; the default serves rows inserted by SQL alone.
     */
    position: byteText('position').notNull().default('a0'),
    /** A member of the list, or null. */
    assignee_id: text('assignee_id'),
    title: varchar('title', { length: 200 }).notNull(),
    description: varchar('description', { length: 1000 }),
    completed: boolean('completed').notNull().default(false),
    priority: taskPriority('priority').notNull().default('none'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    /**
     * The tags as ?tag= compares them (lower-cased), kept with the row: a filter compares arrays
     * instead of calling task_tags_key() on every row it reads (4 ms for a page of 50 from 10k tasks).
     */
    tags_key: text('tags_key')
      .array()
      .notNull()
      .generatedAlwaysAs(sql`task_tags_key(tags)`),
    due_at: timestamp('due_at', { withTimezone: true, precision: 3, mode: 'string' }),
    /** An RRULE value (API.md, version 3, Recurrence), or null; checked by the routes (tasks/recurrence.ts). */
    recurrence: text('recurrence'),
    /** 'due' or 'completion': where the next occurrence is counted from. */
    repeat_from: text('repeat_from').notNull().default('due'),
    /** An IANA zone the occurrences are computed in; null: UTC. */
    time_zone: text('time_zone'),
    /** Occurrences completed or skipped since the task became recurring (what COUNT counts); not an API field. */
    recurrence_done: integer('recurrence_done').notNull().default(0),
    /** A recurring task's wall-clock time of day while due_at is an occurrence moved by a daylight-saving gap (migration 0017). */
    recurrence_wall_time: text('recurrence_wall_time'),
    /** Up to 5 of {minutes_before} or {at} (API.md, version 3, Reminders); checked by the routes (tasks/reminders.ts), planned by triggers (migration 0016). */
    reminders: jsonb('reminders').$type<({ minutes_before: number } | { at: string })[]>().notNull().default(sql`'[]'::jsonb`),
    completed_at: timestamp('completed_at', { withTimezone: true, precision: 3, mode: 'string' }),
    version: integer('version').notNull().default(1),
    created_at: timestamp('created_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
    updated_at: timestamp('updated_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    // Every index leads with list_id: a page reads each of the caller's lists in index order (a
    // user's lists are few; tasks/tasks.query.ts). "This list's tasks, newest first":
    index('tasks_list_created_idx').on(t.list_id, sql`${t.created_at} desc`, sql`${t.id} desc`),
    // The same with ?status=: pending (or completed) tasks, newest first, without reading the others.
    index('tasks_list_completed_created_idx').on(t.list_id, t.completed, sql`${t.created_at} desc`, sql`${t.id} desc`),
    // One per sort key, read forwards or backwards (keyset pages: (key, id) > (cursor)).
    index('tasks_list_updated_idx').on(t.list_id, t.updated_at, t.id),
    index('tasks_list_due_idx').on(t.list_id, t.due_at, t.id),
    index('tasks_list_priority_idx').on(t.list_id, t.priority, t.id),
    index('tasks_list_title_idx').on(t.list_id, sql`lower(${t.title})`, t.id),
    // ?q=: trigrams of title and description together (btree_gin for the list), see the migration.
    index('tasks_search_idx').using('gin', t.list_id, sql`(${t.title} || E'\\x1f' || coalesce(${t.description}, '')) gin_trgm_ops`),
    // ?tag=: the list's tasks carrying every given tag, compared case-insensitively.
    index('tasks_tags_idx').using('gin', t.list_id, t.tags_key),
    // ?uid=, and a client's id unique among all tasks (a POST with one in use is a 409).
    uniqueIndex('tasks_uid_idx').on(t.uid),
    check('tasks_repeat_from_check', sql`${t.repeat_from} in ('due', 'completion')`),
    // sort=position: each list's tasks by (position, id), read in order per list (a page across the
    // caller's lists is a lateral per list, as for every sort).
    index('tasks_list_position_idx').on(t.list_id, t.position, t.id),
    // ?parent_id= (`none`: top level) with sort=position, the children of a task (cascades, a
    // subtree), and a new task's default place (after the last sibling).
    index('tasks_list_parent_position_idx').on(t.list_id, t.parent_id, t.position, t.id),
    // ?assignee_id=, newest first (the default order).
    index('tasks_list_assignee_idx').on(t.list_id, t.assignee_id, sql`${t.created_at} desc`, sql`${t.id} desc`).where(sql`${t.assignee_id} is not null`),
  ],
);

/**
 * One row per user (made with their Inbox): the counter of the user's feed. Every write of anything
 * a user can see increments that user's `seq` in its own transaction (every member's, in user_id
 * order, for a list with several) and records the change in feed_entries with the new value; the row
 * lock makes the changes of each user's feed commit in `seq` order, so a cursor (a `seq`) means
 * exactly "every change up to here" (docs/ARCHITECTURE.md). `task_count`: the tasks in the lists the
 * user owns (MAX_TASKS_PER_USER); `purged_through`: the highest seq of a deletion record purged
 * (cursors before it have expired).
 */
/** Each completion of a recurring task that moved it on to its next occurrence (migration 0015). */
export const taskCompletions = pgTable(
  'task_completions',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    task_id: integer('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    occurrence_due_at: timestamp('occurrence_due_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull(),
    completed_at: timestamp('completed_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull(),
    completed_by: text('completed_by').notNull(),
  },
  (t) => [index('task_completions_task_idx').on(t.task_id, sql`${t.id} desc`)],
);

/** Each reminder instant of a task that fired, once (migration 0016; reminders/reminders.jobs.ts). */
export const reminderFirings = pgTable(
  'reminder_firings',
  {
    task_id: integer('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    fire_at: timestamp('fire_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull(),
    fired_at: timestamp('fired_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.task_id, t.fire_at] })],
);

export const userChanges = pgTable('user_changes', {
  user_id: text('user_id').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull().default(0),
  task_count: integer('task_count').notNull().default(0),
  purged_through: bigint('purged_through', { mode: 'number' }).notNull().default(0),
  /** How many Idempotency-Key answers the user has had kept: the next one goes in slot n % the cap. */
  idempotency_seq: bigint('idempotency_seq', { mode: 'number' }).notNull().default(0),
});

/**
 * Each user's feed: for every entity the user can see or saw (a task; a list, with sharing), the
 * sequence number of its last change in that user's feed, and whether that change took it away
 * (deleted, or out of the user's sight). One row per user and entity, overwritten by each change: a
 * client asking "what changed since n" gets each entity once, as it is now. A row that took an entity
 * away keeps its id, its seq and when: nothing of its content. `kind`: 1 a task (see sync/feed.ts).
 */
export const feedEntries = pgTable(
  'feed_entries',
  {
    user_id: text('user_id').notNull(),
    kind: smallint('kind').notNull(),
    entity_id: integer('entity_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    deleted: boolean('deleted').notNull().default(false),
    changed_at: timestamp('changed_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.user_id, t.kind, t.entity_id] }),
    // /changes and the event streams: the user's entries after a cursor, in the order of their change.
    index('feed_entries_user_seq_idx').on(t.user_id, t.seq),
    // Deletion records only: the per-user bound (SYNC_MAX_DELETIONS_PER_USER) and the retention purge.
    index('feed_entries_deleted_idx').on(t.user_id, t.seq).where(sql`${t.deleted}`),
    index('feed_entries_deleted_at_idx').on(t.changed_at).where(sql`${t.deleted}`),
  ],
);

/**
 * Idempotency-Key answers, kept 24 hours: written in the same transaction as the write they answer,
 * so a retry after a crash between the write and the answer replays instead of running again.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    user_id: text('user_id').notNull(),
    key: text('key').notNull(),
    /** sha256 of method, path and body: the same key with another request is refused. */
    fingerprint: text('fingerprint').notNull(),
    status: smallint('status').notNull(),
    body: jsonb('body').notNull(),
    created_at: timestamp('created_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
    /**
     * Its place in the user's ring of IDEMPOTENCY_MAX_KEYS_PER_USER answers: a new answer takes the
     * slot of the user's oldest one, so a user keeps at most that many (null: kept before the cap).
     */
    slot: integer('slot'),
  },
  (t) => [
    primaryKey({ columns: [t.user_id, t.key] }),
    index('idempotency_keys_created_at_idx').on(t.created_at),
    index('idempotency_keys_user_slot_idx').on(t.user_id, t.slot),
  ],
);

/** Event-stream tickets: single use, 60 seconds, one user; only their hash is stored. */
export const eventTickets = pgTable(
  'event_tickets',
  {
    ticket_hash: text('ticket_hash').primaryKey(),
    user_id: text('user_id').notNull(),
    expires_at: timestamp('expires_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull(),
  },
  (t) => [index('event_tickets_expires_at_idx').on(t.expires_at)],
);

/**
 * Web Push subscriptions (RFC 8030): a browser's `PushSubscription`, one row per user and endpoint.
 * `endpoint` (it carries the push service's token for the browser), `p256dh` and `auth` are secrets
 * of the user: never logged, never sent back.
 */
export const pushSubscriptions = pgTable(
  'push_subscriptions',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    user_id: text('user_id').notNull(),
    endpoint: text('endpoint').notNull(),
    /** The browser's P-256 public key, base64url (65 bytes). */
    p256dh: text('p256dh').notNull(),
    /** The browser's 16-byte authentication secret, base64url. */
    auth: text('auth').notNull(),
    /** When the push service will drop it, if the browser said (`expirationTime`). */
    expiration_time: timestamp('expiration_time', { withTimezone: true, precision: 3, mode: 'string' }),
    created_at: timestamp('created_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    // The same browser subscribing again updates its row (a re-subscription may bring new keys).
    uniqueIndex('push_subscriptions_user_endpoint_idx').on(t.user_id, t.endpoint),
    index('push_subscriptions_user_id_idx').on(t.user_id, t.id),
  ],
);

/**
 * Calendar feeds (`/ical/<secret>.ics`): a user's subscription address of one list (`list_id`) or of
 * all their lists (null). Looked up by `secret_hash` (SHA-256); `secret` is kept to show the address
 * again in GET /calendar-feeds.
 */
export const calendarFeeds = pgTable(
  'calendar_feeds',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    user_id: text('user_id').notNull(),
    list_id: integer('list_id').references(() => lists.id, { onDelete: 'cascade' }),
    format: text('format').notNull(),
    secret: text('secret').notNull(),
    secret_hash: text('secret_hash').notNull(),
    created_at: timestamp('created_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('calendar_feeds_secret_hash_idx').on(t.secret_hash), index('calendar_feeds_user_idx').on(t.user_id, t.id), check('calendar_feeds_format_check', sql`${t.format} in ('events', 'todos')`)],
);

/** A user's webhooks: where deliveries of the events they subscribed to go, signed with `secret`. */
export const webhooks = pgTable(
  'webhooks',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    user_id: text('user_id').notNull(),
    url: text('url').notNull(),
    events: text('events').array().notNull(),
    secret: text('secret').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    created_at: timestamp('created_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
    updated_at: timestamp('updated_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [index('webhooks_user_idx').on(t.user_id, t.id)],
);

/**
 * The trash (migration 0014): deleted tasks, each row the task as it was (`data`, every column) for
 * TRASH_RETENTION_DAYS. Apart from `tasks`, so that no read of tasks can show one. `root_id`: the task
 * whose delete took it (an entry of the trash when it is the row's own id); `list_deleted_by`: who
 * deleted its list (then only they see it, and it comes back into their Inbox).
 */
export const trashedTasks = pgTable(
  'trashed_tasks',
  {
    id: integer('id').primaryKey(),
    root_id: integer('root_id').notNull(),
    list_id: integer('list_id').notNull(),
    deleted_by: text('deleted_by').notNull(),
    list_deleted_by: text('list_deleted_by'),
    deleted_at: timestamp('deleted_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
    data: jsonb('data').notNull(),
  },
  (t) => [
    index('trashed_tasks_root_idx').on(t.root_id),
    index('trashed_tasks_list_idx').on(t.list_id, sql`${t.deleted_at} desc`, sql`${t.id} desc`).where(sql`${t.id} = ${t.root_id}`),
    index('trashed_tasks_deleter_idx')
      .on(t.list_deleted_by, sql`${t.deleted_at} desc`, sql`${t.id} desc`)
      .where(sql`${t.list_deleted_by} is not null and ${t.id} = ${t.root_id}`),
    index('trashed_tasks_deleted_at_idx').on(t.deleted_at),
  ],
);

/** One event for one webhook (`id` is its `webhook-id`, the same on every attempt), and how its delivery went. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    webhook_id: integer('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    attempts: integer('attempts').notNull().default(0),
    last_status: integer('last_status'),
    next_attempt_at: timestamp('next_attempt_at', { withTimezone: true, precision: 3, mode: 'string' }),
    created_at: timestamp('created_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [index('webhook_deliveries_webhook_idx').on(t.webhook_id, sql`${t.created_at} desc`, sql`${t.id} desc`)],
);

/** Invitation links to a list (API.md, "Sharing"): single use; only the token's SHA-256 is kept. */
export const listInvitations = pgTable(
  'list_invitations',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    list_id: integer('list_id')
      .notNull()
      .references(() => lists.id, { onDelete: 'cascade' }),
    role: listRole('role').notNull(),
    token_hash: text('token_hash').notNull(),
    created_by: text('created_by').notNull(),
    created_at: timestamp('created_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
    expires_at: timestamp('expires_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull(),
  },
  (t) => [
    uniqueIndex('list_invitations_token_hash_idx').on(t.token_hash),
    index('list_invitations_list_idx').on(t.list_id, t.id),
    check('list_invitations_role_check', sql`${t.role} in ('editor', 'viewer')`),
  ],
);

/** A user's name and email as last seen in their own tokens (members' lists show them). */
export const userProfiles = pgTable('user_profiles', {
  user_id: text('user_id').primaryKey(),
  name: text('name'),
  email: text('email'),
  updated_at: timestamp('updated_at', { withTimezone: true, precision: 3, mode: 'string' }).notNull().defaultNow(),
});

export type TaskRow = typeof tasks.$inferSelect;

/**
 * Written to (and rolled back) by the readiness probe after a storage failure: each row needs a
 * page of its own, so the probe fails while the disk is full. It never holds committed rows.
 */
export const readinessProbe = pgTable('readiness_probe', {
  pad: text('pad'),
});

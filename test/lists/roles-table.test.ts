/**
 * API.md, Version 3, "Sharing" and "Feeds with lists and sharing", as a table: every route of the
 * app that touches a list or its tasks × {owner, editor, viewer, non-member} → the exact status the
 * contract says, the success message, and for a denial the exact error body (a 403 naming the role
 * it needs; for a non-member a 404, never a 403, so that ids tell nothing). The routes come from the
 * app itself (its OpenAPI document, checked against Fastify's own route table): a route that is
 * neither in the table nor in NOT_LIST_SCOPED (with the reason) fails the test, so a new route cannot
 * be forgotten.
 *
 * Both databases; two instances on one database: each row's fixture is made through one, and the
 * four callers alternate between them (half the requests through each). Each row has a fresh list
 * (owner, editor, viewer, a second viewer to change or remove, and a non-member); where a call
 * changes or spends something, each caller has their own target (a task, an invitation, a trashed
 * task), and the callers run non-member, viewer, editor, owner, so a success (the owner deleting the
 * list) comes after the denials.
 *
 * Beside the table, what a non-member must not learn otherwise: ids guessed in sequence answer as
 * ids that never existed, pages and cursors, /tags, /changes and the event stream show nothing; and a
 * removed member's calendar feeds (read by a secret, without a token) stop carrying the list.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, routes, type Api } from '../helpers/api.js';
import { anotherInstance, authHeader, buildTestApp, expectError, listen, uniqueUser, type TestApp } from '../helpers/app.js';
import { openSse, type SseEvent } from '../helpers/sse.js';
import type { TaskJson } from '../helpers/task-json.js';

const WHO = ['stranger', 'viewer', 'editor', 'owner'] as const;
type Who = (typeof WHO)[number];
type Reply = LightMyRequestResponse;

/**
 * Routes that touch no list (with why). Each is the caller's own resource or public; the table
 * covers every other route of the app.
 */
const NOT_LIST_SCOPED: Record<string, string> = {
  'GET /health': 'public liveness',
  'GET /ready': 'public readiness',
  'GET /push/public-key': 'public VAPID key',
  'POST /api/{user_id}/lists': "makes a list the caller owns; names none of another's",
  'GET /api/{user_id}/calendar-feeds': "the caller's own feeds",
  'DELETE /api/{user_id}/calendar-feeds/{id}': "the caller's own feed",
  'POST /api/{user_id}/tasks/events/ticket': "a ticket for the caller's own stream (the stream itself is a row)",
  'GET /api/{user_id}/webhooks': "the caller's own webhooks",
  'POST /api/{user_id}/webhooks': "the caller's own webhook (deliveries follow membership: test/webhooks)",
  'GET /api/{user_id}/webhooks/{id}': "the caller's own webhook",
  'PUT /api/{user_id}/webhooks/{id}': "the caller's own webhook",
  'DELETE /api/{user_id}/webhooks/{id}': "the caller's own webhook",
  'GET /api/{user_id}/webhooks/{id}/deliveries': "the caller's own webhook",
  'POST /api/{user_id}/webhooks/{id}/deliveries/{delivery_id}/redeliver': "the caller's own webhook",
  'POST /api/{user_id}/push-subscriptions': "the caller's own subscription",
  'DELETE /api/{user_id}/push-subscriptions/{id}': "the caller's own subscription",
};

interface Fixture {
  users: Record<Who, string>;
  /** A second viewer: the one whose role is changed or who is removed. */
  extra: string;
  list: number;
  /** Each caller's own target in the list. */
  task: Record<Who, TaskJson>;
  recurring: Record<Who, TaskJson>;
  /** Deleted from the list: in the trash of its owner and editor. */
  trashed: Record<Who, number>;
  /** A task in each caller's own Inbox (to move into the list). */
  own: Record<Who, TaskJson>;
  /** A tag only the list's tasks carry. */
  tag: string;
  /** Each caller's /changes cursor before the list was shared with anyone. */
  cursor: Record<Who, string>;
  invitation: Record<Who, { id: number; token: string }>;
}

interface Ctx {
  who: Who;
  me: Api;
  f: Fixture;
  /** The HTTP address of the instance this caller goes through (streams). */
  url: string;
  /** That instance (requests no client method makes: a calendar feed's address). */
  app: FastifyInstance;
}

/** What a caller gets: a success (status, message, and checks), or an error (status, code, exact message). */
type Outcome = { status: number; message: string; check?: (res: Reply, c: Ctx) => void } | { status: number; code: string; error: string };

interface Row {
  /** `METHOD /path` as the OpenAPI document spells it. */
  route: string;
  label: string;
  /** More than the fixture: made by the owner before the calls. */
  prepare?: (owner: Api, f: Fixture) => Promise<void>;
  call: (c: Ctx) => Promise<Reply>;
  expect: Record<Who, Outcome>;
}

const LIST_NOT_FOUND = { status: 404, code: 'NOT_FOUND', error: 'List not found' };
const TASK_NOT_FOUND = { status: 404, code: 'NOT_FOUND', error: 'Task not found' };
const TRASH_NOT_FOUND = { status: 404, code: 'NOT_FOUND', error: 'Task not found in the trash' };
const forbidden = (error: string) => ({ status: 403, code: 'FORBIDDEN', error });
const WRITE_TASKS = forbidden("Changing this list's tasks needs the editor role");
const ok = (status: number, message: string, check?: (res: Reply, c: Ctx) => void): Outcome => ({ status, message, ...(check ? { check } : {}) });
/** The same success for the three members, and `stranger` for the non-member. */
const members = (success: Outcome, stranger: Outcome): Record<Who, Outcome> => ({ owner: success, editor: success, viewer: success, stranger });
/** Owner and editor succeed; the viewer is refused with `viewer`. */
const writers = (success: Outcome, viewer: Outcome, stranger: Outcome): Record<Who, Outcome> => ({ owner: success, editor: success, viewer, stranger });
const ownerOnly = (success: Outcome, other: Outcome, stranger: Outcome): Record<Who, Outcome> => ({ owner: success, editor: other, viewer: other, stranger });

const ids = (res: Reply) => (res.json().data as { id: number }[]).map((x) => x.id);
const isMember = (c: Ctx) => c.who !== 'stranger';

const ROWS: Row[] = [
  // Lists.
  {
    route: 'GET /api/{user_id}/lists',
    label: 'the list is among the members\' lists only',
    call: (c) => c.me.lists(),
    expect: members(
      ok(200, 'Lists retrieved successfully', (res, c) => expect(ids(res).includes(c.f.list)).toBe(isMember(c))),
      ok(200, 'Lists retrieved successfully', (res, c) => expect(ids(res)).not.toContain(c.f.list)),
    ),
  },
  {
    route: 'GET /api/{user_id}/lists/{list_id}',
    label: 'get the list',
    call: (c) => c.me.getList(c.f.list),
    expect: members(ok(200, 'List retrieved successfully', (res, c) => expect(res.json().data).toMatchObject({ id: c.f.list, role: c.who })), LIST_NOT_FOUND),
  },
  {
    route: 'PUT /api/{user_id}/lists/{list_id}',
    label: 'rename',
    call: (c) => c.me.putList(c.f.list, { name: `by ${c.who}` }),
    expect: ownerOnly(ok(200, 'List updated successfully'), forbidden('Renaming this list needs the owner role'), LIST_NOT_FOUND),
  },
  {
    route: 'PUT /api/{user_id}/lists/{list_id}',
    label: "place it in one's own order",
    call: (c) => c.me.putList(c.f.list, { position: 'a5' }),
    expect: members(ok(200, 'List updated successfully', (res) => expect(res.json().data.position).toBe('a5')), LIST_NOT_FOUND),
  },
  {
    route: 'POST /api/{user_id}/lists/{list_id}/move',
    label: 'move it first in one\'s own order',
    call: (c) => c.me.moveList(c.f.list, {}),
    expect: members(ok(200, 'List moved successfully'), LIST_NOT_FOUND),
  },
  {
    route: 'DELETE /api/{user_id}/lists/{list_id}',
    label: 'delete (the owner last)',
    call: (c) => c.me.delList(c.f.list),
    expect: ownerOnly(ok(200, 'List deleted successfully'), forbidden('Deleting this list needs the owner role'), LIST_NOT_FOUND),
  },
  // Invitations and members.
  {
    route: 'POST /api/{user_id}/lists/{list_id}/invitations',
    label: 'invite',
    call: (c) => c.me.sharing.invite(c.f.list, { role: 'viewer' }),
    expect: ownerOnly(ok(201, 'Invitation created successfully'), forbidden('Inviting to this list needs the owner role'), LIST_NOT_FOUND),
  },
  {
    route: 'GET /api/{user_id}/lists/{list_id}/invitations',
    label: 'see the open invitations',
    call: (c) => c.me.sharing.invitations(c.f.list),
    expect: ownerOnly(ok(200, 'Invitations retrieved successfully'), forbidden('Seeing the invitations of this list needs the owner role'), LIST_NOT_FOUND),
  },
  {
    route: 'DELETE /api/{user_id}/lists/{list_id}/invitations/{id}',
    label: 'revoke an invitation',
    prepare: invitations,
    call: (c) => c.me.sharing.revoke(c.f.list, c.f.invitation[c.who].id),
    expect: ownerOnly(ok(200, 'Invitation deleted successfully'), forbidden('Revoking invitations of this list needs the owner role'), LIST_NOT_FOUND),
  },
  {
    route: 'POST /api/{user_id}/invitations/{token}/accept',
    label: 'accept an invitation (each their own)',
    prepare: invitations,
    call: (c) => c.me.sharing.accept(c.f.invitation[c.who].token),
    expect: {
      owner: { status: 409, code: 'CONFLICT', error: 'You are already a member of this list' },
      editor: { status: 409, code: 'CONFLICT', error: 'You are already a member of this list' },
      viewer: { status: 409, code: 'CONFLICT', error: 'You are already a member of this list' },
      stranger: ok(200, 'Invitation accepted successfully', (res, c) => expect(res.json().data).toMatchObject({ id: c.f.list, role: 'viewer' })),
    },
  },
  {
    route: 'GET /api/{user_id}/lists/{list_id}/members',
    label: 'see the members',
    call: (c) => c.me.sharing.members(c.f.list),
    expect: members(ok(200, 'Members retrieved successfully', (res) => expect(res.json().data).toHaveLength(4)), LIST_NOT_FOUND),
  },
  {
    route: 'PUT /api/{user_id}/lists/{list_id}/members/{member_id}',
    label: "change a member's role",
    call: (c) => c.me.sharing.setRole(c.f.list, c.f.extra, { role: 'editor' }),
    expect: ownerOnly(ok(200, 'Member updated successfully'), forbidden("Changing members' roles needs the owner role"), LIST_NOT_FOUND),
  },
  {
    route: 'DELETE /api/{user_id}/lists/{list_id}/members/{member_id}',
    label: 'remove another member (the owner last)',
    call: (c) => c.me.sharing.remove(c.f.list, c.f.extra),
    expect: ownerOnly(ok(200, 'Member removed successfully'), forbidden('Removing members needs the owner role'), LIST_NOT_FOUND),
  },
  {
    route: 'DELETE /api/{user_id}/lists/{list_id}/members/{member_id}',
    label: 'leave',
    call: (c) => c.me.sharing.remove(c.f.list, c.f.users[c.who]),
    expect: {
      owner: { status: 409, code: 'CONFLICT', error: 'The owner cannot leave the list: give it to another member first' },
      editor: ok(200, 'Member removed successfully'),
      viewer: ok(200, 'Member removed successfully'),
      stranger: LIST_NOT_FOUND,
    },
  },
  // Tasks.
  {
    route: 'GET /api/{user_id}/tasks',
    label: 'the tasks of the list (list_id)',
    call: (c) => c.me.list({ list_id: c.f.list }),
    expect: members(ok(200, 'Tasks retrieved successfully', (res, c) => expect(ids(res)).toContain(c.f.task.owner.id)), LIST_NOT_FOUND),
  },
  {
    route: 'GET /api/{user_id}/tasks',
    label: "every task the caller reads (no list_id): the list's for members only",
    call: (c) => c.me.list(),
    expect: members(
      ok(200, 'Tasks retrieved successfully', (res, c) => expect(ids(res)).toContain(c.f.task.owner.id)),
      ok(200, 'Tasks retrieved successfully', (res, c) => expect(ids(res)).toEqual([c.f.own.stranger.id])),
    ),
  },
  {
    route: 'GET /api/{user_id}/tasks',
    label: 'a page of the list (list_id, limit)',
    call: (c) => c.me.list({ list_id: c.f.list, limit: 2 }),
    expect: members(ok(200, 'Tasks retrieved successfully', (res) => expect(typeof res.json().next_cursor).toBe('string')), LIST_NOT_FOUND),
  },
  {
    route: 'POST /api/{user_id}/tasks',
    label: 'create in the list',
    call: (c) => c.me.create({ title: `by ${c.who}`, list_id: c.f.list }),
    expect: writers(ok(201, 'Task created successfully'), forbidden('Adding tasks to this list needs the editor role'), LIST_NOT_FOUND),
  },
  {
    route: 'GET /api/{user_id}/tasks/{id}',
    label: 'get a task',
    call: (c) => c.me.get(c.f.task[c.who].id),
    expect: members(ok(200, 'Task retrieved successfully'), TASK_NOT_FOUND),
  },
  {
    route: 'PUT /api/{user_id}/tasks/{id}',
    label: 'edit a task',
    call: (c) => c.me.put(c.f.task[c.who].id, { title: `edited by ${c.who}` }),
    expect: writers(ok(200, 'Task updated successfully'), WRITE_TASKS, TASK_NOT_FOUND),
  },
  {
    route: 'PUT /api/{user_id}/tasks/{id}',
    label: "move a task to one's Inbox (list_id)",
    call: async (c) => c.me.put(c.f.task[c.who].id, { list_id: c.f.own[c.who].list_id }),
    expect: writers(ok(200, 'Task updated successfully'), WRITE_TASKS, TASK_NOT_FOUND),
  },
  {
    route: 'PATCH /api/{user_id}/tasks/{id}/complete',
    label: 'complete a task',
    call: (c) => c.me.complete(c.f.task[c.who].id),
    expect: writers(ok(200, 'Task marked as completed'), WRITE_TASKS, TASK_NOT_FOUND),
  },
  {
    route: 'POST /api/{user_id}/tasks/{id}/move',
    label: 'place a task within the list',
    call: (c) => c.me.move(c.f.task[c.who].id, {}),
    expect: writers(ok(200, 'Task moved successfully'), WRITE_TASKS, TASK_NOT_FOUND),
  },
  {
    route: 'POST /api/{user_id}/tasks/{id}/move',
    label: "move one's own task into the list",
    call: (c) => c.me.move(c.f.own[c.who].id, { list_id: c.f.list }),
    expect: writers(ok(200, 'Task moved successfully'), forbidden('Adding tasks to that list needs the editor role'), LIST_NOT_FOUND),
  },
  {
    route: 'POST /api/{user_id}/tasks/{id}/skip',
    label: 'skip an occurrence',
    call: (c) => c.me.skip(c.f.recurring[c.who].id),
    expect: writers(ok(200, 'Task skipped successfully'), WRITE_TASKS, TASK_NOT_FOUND),
  },
  {
    route: 'GET /api/{user_id}/tasks/{id}/completions',
    label: "a recurring task's completions",
    call: (c) => c.me.completions(c.f.recurring[c.who].id),
    expect: members(ok(200, 'Completions retrieved successfully'), TASK_NOT_FOUND),
  },
  {
    route: 'DELETE /api/{user_id}/tasks/{id}',
    label: 'delete a task',
    call: (c) => c.me.del(c.f.task[c.who].id),
    expect: writers(ok(200, 'Task deleted successfully'), WRITE_TASKS, TASK_NOT_FOUND),
  },
  {
    route: 'POST /api/{user_id}/tasks/batch',
    label: 'a batch (not atomic): each operation answered as its route',
    call: (c) =>
      c.me.batch({
        operations: [
          { op: 'update', id: c.f.task[c.who].id, task: { title: 'batched' } },
          { op: 'complete', id: c.f.recurring[c.who].id, completed: true },
          { op: 'create', task: { title: 'batched', list_id: c.f.list } },
          { op: 'move', id: c.f.own[c.who].id, list_id: c.f.list },
          { op: 'delete', id: c.f.task[c.who].id },
        ],
      }),
    expect: (() => {
      const statuses = (expected: (number | Record<string, unknown>)[]) => (res: Reply) => {
        const results = res.json().data.results as { status: number }[];
        expect(results.map((r, i) => (typeof expected[i] === 'number' ? r.status : r))).toEqual(expected);
      };
      const err = (status: number, code: string, error: string) => ({ status, error, code, detail: error });
      const denied = "Changing this list's tasks needs the editor role";
      return {
        owner: ok(200, 'Batch processed successfully', statuses([200, 200, 201, 200, 200])),
        editor: ok(200, 'Batch processed successfully', statuses([200, 200, 201, 200, 200])),
        viewer: ok(
          200,
          'Batch processed successfully',
          statuses([
            err(403, 'FORBIDDEN', denied),
            err(403, 'FORBIDDEN', denied),
            err(403, 'FORBIDDEN', 'Adding tasks to this list needs the editor role'),
            err(403, 'FORBIDDEN', 'Adding tasks to that list needs the editor role'),
            err(403, 'FORBIDDEN', denied),
          ]),
        ),
        stranger: ok(
          200,
          'Batch processed successfully',
          statuses([
            err(404, 'NOT_FOUND', 'Task not found'),
            err(404, 'NOT_FOUND', 'Task not found'),
            err(404, 'NOT_FOUND', 'List not found'),
            err(404, 'NOT_FOUND', 'List not found'),
            err(404, 'NOT_FOUND', 'Task not found'),
          ]),
        ),
      };
    })(),
  },
  {
    route: 'POST /api/{user_id}/tasks/batch',
    label: 'a batch (atomic): the refused operation, with its index',
    call: (c) => c.me.batch({ atomic: true, operations: [{ op: 'create', task: { title: 'mine' } }, { op: 'update', id: c.f.task[c.who].id, task: { title: 'batched' } }] }),
    expect: writers(ok(200, 'Batch processed successfully'), { ...WRITE_TASKS, index: 1 } as Outcome, { ...TASK_NOT_FOUND, index: 1 } as Outcome),
  },
  {
    route: 'GET /api/{user_id}/tags',
    label: "the list's tags count for members only",
    call: (c) => c.me.tags(),
    expect: members(
      ok(200, 'Tags retrieved successfully', (res, c) => expect(res.json().data).toContainEqual({ name: c.f.tag, count: 4 })),
      ok(200, 'Tags retrieved successfully', (res, c) => expect(res.json().data.map((t: { name: string }) => t.name)).not.toContain(c.f.tag)),
    ),
  },
  {
    route: 'GET /api/{user_id}/tasks/changes',
    label: "the feed (include=lists) carries the list and its tasks for members only",
    call: (c) => c.me.changes({ include: 'lists' }),
    expect: members(
      ok(200, 'Changes retrieved successfully', (res, c) => expect(feedIds(res.json().data.changes)).toEqual(expect.arrayContaining([`list ${c.f.list}`, `task ${c.f.task.owner.id}`]))),
      ok(200, 'Changes retrieved successfully', (res, c) => expect(feedIds(res.json().data.changes)).toEqual([`list ${c.f.own.stranger.list_id}`, `task ${c.f.own.stranger.id}`])),
    ),
  },
  {
    route: 'GET /api/{user_id}/tasks/changes',
    label: 'the feed from a cursor taken before the sharing',
    call: (c) => c.me.changes({ include: 'lists', since: c.f.cursor[c.who] }),
    expect: members(
      ok(200, 'Changes retrieved successfully', (res, c) => expect(feedIds(res.json().data.changes)).toContain(`list ${c.f.list}`)),
      ok(200, 'Changes retrieved successfully', (res) => expect(res.json().data.changes).toEqual([])),
    ),
  },
  {
    route: 'GET /api/{user_id}/tasks/events',
    label: 'the event stream replayed from a cursor taken before the sharing: the list for members only',
    call: (c) => streamSince(c),
    expect: members(
      ok(200, 'stream', (res, c) => expect(res.json()).toEqual(expect.arrayContaining([`list ${c.f.list}`, `task ${c.f.task.owner.id}`]))),
      ok(200, 'stream', (res) => expect(res.json()).toEqual([])),
    ),
  },
  // Trash.
  {
    route: 'GET /api/{user_id}/trash',
    label: "the list's trashed tasks for its owner and editor only",
    call: (c) => c.me.trash.list(),
    expect: {
      owner: ok(200, 'Trash retrieved successfully', (res, c) => expect(ids(res).sort()).toEqual(Object.values(c.f.trashed).sort())),
      editor: ok(200, 'Trash retrieved successfully', (res, c) => expect(ids(res).sort()).toEqual(Object.values(c.f.trashed).sort())),
      viewer: ok(200, 'Trash retrieved successfully', (res) => expect(ids(res)).toEqual([])),
      stranger: ok(200, 'Trash retrieved successfully', (res) => expect(ids(res)).toEqual([])),
    },
  },
  {
    route: 'GET /api/{user_id}/trash/{id}',
    label: 'a trashed task',
    call: (c) => c.me.trash.get(c.f.trashed[c.who]),
    expect: writers(ok(200, 'Trashed task retrieved successfully'), TRASH_NOT_FOUND, TRASH_NOT_FOUND),
  },
  {
    route: 'POST /api/{user_id}/trash/{id}/restore',
    label: 'restore a trashed task',
    call: (c) => c.me.trash.restore(c.f.trashed[c.who]),
    expect: writers(ok(200, 'Task restored successfully', (res, c) => expect(res.json().data.list_id).toBe(c.f.list)), TRASH_NOT_FOUND, TRASH_NOT_FOUND),
  },
  {
    route: 'DELETE /api/{user_id}/trash/{id}',
    label: 'purge a trashed task',
    call: (c) => c.me.trash.purge(c.f.trashed[c.who]),
    expect: writers(ok(200, 'Task purged successfully'), TRASH_NOT_FOUND, TRASH_NOT_FOUND),
  },
  {
    route: 'DELETE /api/{user_id}/trash',
    label: "empty one's trash: the viewer and the non-member purge none of the list's (the editor, before the owner, all four)",
    call: (c) => c.me.trash.empty(),
    expect: {
      stranger: ok(200, 'Trash emptied successfully', (res) => expect(res.json().data).toEqual({ purged: 0 })),
      viewer: ok(200, 'Trash emptied successfully', (res) => expect(res.json().data).toEqual({ purged: 0 })),
      editor: ok(200, 'Trash emptied successfully', (res) => expect(res.json().data).toEqual({ purged: 4 })),
      owner: ok(200, 'Trash emptied successfully', (res) => expect(res.json().data).toEqual({ purged: 0 })),
    },
  },
  // Calendar feeds.
  {
    route: 'GET /ical/{file}',
    label: "a calendar feed (todos) read by its secret: the list's, made by a member, or all of a non-member's lists, without the list's tasks",
    call: async (c) => {
      const made = await c.me.calendarFeeds.create({ list_id: isMember(c) ? c.f.list : null, format: 'todos' });
      expect(made.statusCode, made.body).toBe(201);
      return c.app.inject(made.json().data.url as string);
    },
    expect: members(
      ok(200, 'ical', (res, c) => expect(res.body).toContain(`SUMMARY:task of ${c.who}`)),
      ok(200, 'ical', (res) => {
        expect(res.body).toContain('SUMMARY:own of stranger');
        expect(res.body).not.toMatch(/SUMMARY:(task|recurring|trashed) of/);
      }),
    ),
  },
  {
    route: 'POST /api/{user_id}/calendar-feeds',
    label: 'a calendar feed of the list',
    call: (c) => c.me.calendarFeeds.create({ list_id: c.f.list }),
    expect: members(ok(201, 'Calendar feed created successfully'), LIST_NOT_FOUND),
  },
];

/** Feed entries as `list <id>` / `task <id>` (deletes included, as `-list` / `-task`). */
function feedIds(changes: { type: string; id?: number; task?: { id: number }; list?: { id: number } }[]): string[] {
  return changes.map((e) =>
    e.type === 'upsert' ? `task ${e.task?.id}` : e.type === 'list_upsert' ? `list ${e.list?.id}` : e.type === 'delete' ? `-task ${e.id}` : `-list ${e.id}`,
  );
}

/** Invitations, one for each caller to spend (accept or revoke). */
async function invitations(owner: Api, f: Fixture): Promise<void> {
  for (const who of WHO) {
    const made = await owner.sharing.invite(f.list, { role: 'viewer' });
    expect(made.statusCode, made.body).toBe(201);
    f.invitation[who] = { id: made.json().data.id, token: made.json().data.token };
  }
}

/**
 * The caller's stream from their cursor taken before the sharing (include=lists), read until their
 * own marker write (a task in their Inbox made after it opened) arrives: everything before it in
 * their feed has been replayed. Answers what it carried besides the marker, as a reply.
 */
async function streamSince(c: Ctx): Promise<Reply> {
  const stream = await openSse(`${c.url}${routes.events(c.f.users[c.who])}?include=lists&since=${encodeURIComponent(c.f.cursor[c.who])}`, await authHeader(c.f.users[c.who]));
  try {
    if (stream.status !== 200) return { statusCode: stream.status, body: stream.body, json: () => JSON.parse(stream.body) } as Reply;
    await stream.next((e) => e.event === 'ready');
    const marker = (await c.me.create({ title: 'marker' })).json().data as TaskJson;
    const isMarker = (e: SseEvent) => e.event === 'upsert' && (JSON.parse(e.data) as { task: { id: number } }).task.id === marker.id;
    await stream.next(isMarker, 10_000);
    const seen = feedIds(stream.events.filter((e) => e.event !== 'ready' && !isMarker(e)).map((e) => JSON.parse(e.data)));
    const body = JSON.stringify(seen);
    return { statusCode: 200, body, json: () => JSON.parse(body) } as Reply;
  } finally {
    stream.close();
  }
}

describe.each(drivers)('roles × routes, through two instances [%s]', (driver) => {
  let one: TestApp;
  let two: TestApp;
  const urls: string[] = [];

  beforeAll(async () => {
    one = await buildTestApp(driver);
    two = await anotherInstance(one);
    urls.push(await listen(one.app), await listen(two.app));
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  const instance = (n: number) => (n % 2 === 0 ? one.app : two.app);

  /** A fresh list shared by its owner with an editor and two viewers, made through instance `n`. */
  async function fixture(n: number): Promise<{ f: Fixture; as: (who: Who, n: number) => Promise<Api> }> {
    const users = Object.fromEntries(WHO.map((w) => [w, uniqueUser(w.slice(0, 2))])) as Record<Who, string>;
    const extra = uniqueUser('ex');
    const as = (who: Who | 'extra', k: number) => api(instance(k), who === 'extra' ? extra : users[who]);
    const tag = `only-${users.owner}`;
    const owner = await as('owner', n);
    const cursor = {} as Record<Who, string>;
    const own = {} as Record<Who, TaskJson>;
    for (const who of WHO) {
      const me = await as(who, n + 1);
      own[who] = (await me.create({ title: `own of ${who}` })).json().data;
      cursor[who] = (await me.changes({ include: 'lists' })).json().data.cursor;
    }
    const list = (await owner.createList({ name: 'Shared' })).json().data.id as number;
    for (const [who, role] of [['editor', 'editor'], ['viewer', 'viewer'], ['extra', 'viewer']] as const) {
      const token = (await owner.sharing.invite(list, { role })).json().data.token;
      const accepted = await (await as(who, n + 1)).sharing.accept(token);
      expect(accepted.statusCode, accepted.body).toBe(200);
    }
    const due = new Date(Date.now() + 86_400_000).toISOString();
    const made = await owner.batch({
      atomic: true,
      operations: WHO.flatMap((who) => [
        { op: 'create' as const, task: { title: `task of ${who}`, list_id: list, tags: [tag] } },
        { op: 'create' as const, task: { title: `recurring of ${who}`, list_id: list, due_at: due, recurrence: 'FREQ=DAILY' } },
        { op: 'create' as const, task: { title: `trashed of ${who}`, list_id: list } },
      ]),
    });
    expect(made.statusCode, made.body).toBe(200);
    const tasks = (made.json().data.results as { data: TaskJson }[]).map((r) => r.data);
    const task = {} as Record<Who, TaskJson>;
    const recurring = {} as Record<Who, TaskJson>;
    const trashed = {} as Record<Who, number>;
    WHO.forEach((who, i) => {
      task[who] = tasks[3 * i] as TaskJson;
      recurring[who] = tasks[3 * i + 1] as TaskJson;
      trashed[who] = (tasks[3 * i + 2] as TaskJson).id;
    });
    const deleted = await owner.batch({ atomic: true, operations: Object.values(trashed).map((id) => ({ op: 'delete' as const, id })) });
    expect(deleted.statusCode, deleted.body).toBe(200);
    return { f: { users, extra, list, task, recurring, trashed, own, tag, cursor, invitation: {} as Fixture['invitation'] }, as };
  }

  it('every route of the app is in the table or named as touching no list', async () => {
    const doc = (await one.app.inject(routes.openapi)).json() as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).filter((m) => m !== 'parameters').map((m) => `${m.toUpperCase()} ${path}`));
    // Fastify's own table: every route it serves (but the docs' and the 405 answers') is in the document.
    // Fastify's own table: every route it serves is in the document, but the docs' and the 405
    // answers it adds on each known path (checked here: a signed-in request gets 405).
    const served = fastifyRoutes(one.app.printRoutes({ commonPrefix: false }));
    expect(served.length).toBeGreaterThan(documented.length);
    const inDoc = new Set(documented.map((r) => r.replace(/\{(\w+)\}/g, ':$1')));
    const auth = await authHeader('someone');
    for (const route of served.filter((r) => !inDoc.has(r))) {
      const [method, path] = route.split(' ') as [string, string];
      const url = path.replace(':user_id', 'someone').replace(/:\w+/g, '1');
      const res = await one.app.inject({ method: method as 'GET', url, headers: auth });
      expect({ route, status: res.statusCode, code: res.json().code }).toEqual({ route, status: 405, code: 'METHOD_NOT_ALLOWED' });
    }
    const covered = new Set([...ROWS.map((r) => r.route), ...Object.keys(NOT_LIST_SCOPED)]);
    expect(documented.filter((r) => !covered.has(r)), 'routes in neither the table nor NOT_LIST_SCOPED').toEqual([]);
    expect([...covered].filter((r) => !documented.includes(r)), 'routes the table names that the app does not serve').toEqual([]);
    expect(ROWS.filter((r) => NOT_LIST_SCOPED[r.route] !== undefined).map((r) => r.route)).toEqual([]);
  });

  it.each(ROWS.map((row, i) => [`${row.route}: ${row.label}`, row, i] as const))('%s', async (_name, row, i) => {
    const { f, as } = await fixture(i);
    await row.prepare?.(await as('owner', i), f);
    for (const [k, who] of WHO.entries()) {
      const n = i + k;
      const c: Ctx = { who, me: await as(who, n), f, url: urls[n % 2] as string, app: instance(n) };
      const res = await row.call(c);
      const want = row.expect[who];
      const where = `${who} through instance ${(n % 2) + 1}: ${res.body}`;
      if ('code' in want) {
        expect(res.statusCode, where).toBe(want.status);
        const { index, ...rest } = res.json() as { index?: number };
        expectError({ ...res, json: () => rest } as Reply, want.status, want.code, want.error);
        expect(index, where).toBe((want as { index?: number }).index);
      } else {
        expect(res.statusCode, where).toBe(want.status);
        if (want.message !== 'stream' && want.message !== 'ical') expect(res.json().message, where).toBe(want.message);
        want.check?.(res, c);
      }
    }
  });

  it('a non-member: ids guessed in sequence, pages and cursors answer exactly as ids and lists that never existed', async () => {
    const { f, as } = await fixture(0);
    const stranger = await as('stranger', 1);
    const viewer = await as('viewer', 0);
    const known = [...Object.values(f.task), ...Object.values(f.recurring)].map((x) => x.id);
    const never = 2_147_483_000;
    const nothing = async (id: number) => [await stranger.get(id), await stranger.put(id, { title: 'x' }), await stranger.complete(id), await stranger.del(id), await stranger.move(id, {})];
    const baseline = (await nothing(never)).map((r) => [r.statusCode, r.body]);
    expect(baseline.every(([s]) => s === 404)).toBe(true);
    for (let id = Math.min(...known) - 2; id <= Math.max(...known) + 2; id++) {
      if (id === f.own.stranger.id) continue;
      expect((await nothing(id)).map((r) => [r.statusCode, r.body]), `id ${id}`).toEqual(baseline);
    }
    // The list, by its id and its neighbours', is as a list that never existed.
    const noList = (await stranger.getList(never)).body;
    for (let id = f.list - 2; id <= f.list + 2; id++) {
      if (id === f.own.stranger.list_id) continue;
      expect((await stranger.getList(id)).body).toBe(noList);
      expectError(await stranger.list({ list_id: id }), 404, 'NOT_FOUND', 'List not found');
      expectError(await stranger.list({ list_id: id, limit: 1 }), 404, 'NOT_FOUND', 'List not found');
    }
    // A member's cursor of the list's pages, replayed by the non-member: still 404.
    const page = (await viewer.list({ list_id: f.list, limit: 2 })).json();
    expect(typeof page.next_cursor).toBe('string');
    expectError(await stranger.list({ list_id: f.list, limit: 2, cursor: page.next_cursor }), 404, 'NOT_FOUND', 'List not found');
    // Their own pages, one task at a time, never reach the list's tasks.
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const res = await stranger.list(cursor === undefined ? { limit: 1 } : { limit: 1, cursor });
      expect(res.statusCode).toBe(200);
      seen.push(...ids(res));
      cursor = res.json().next_cursor ?? undefined;
    } while (cursor !== undefined);
    expect(seen).toEqual([f.own.stranger.id]);
  });

  it("a member's calendar feeds stop at their removal: the list's feed is 404, their all-lists feed no longer carries its tasks", async () => {
    const { f, as } = await fixture(0);
    const viewer = await as('viewer', 1);
    const ofList = (await viewer.calendarFeeds.create({ list_id: f.list, format: 'todos' })).json().data as { url: string };
    const ofAll = (await viewer.calendarFeeds.create({ format: 'todos' })).json().data as { url: string };
    const read = (url: string, k: number) => instance(k).inject(url);
    expect((await read(ofList.url, 0)).body).toContain('SUMMARY:task of owner');
    expect((await read(ofAll.url, 1)).body).toContain('SUMMARY:task of owner');
    const removed = await (await as('owner', 0)).sharing.remove(f.list, f.users.viewer);
    expect(removed.statusCode, removed.body).toBe(200);
    for (const k of [0, 1]) {
      expectError(await read(ofList.url, k), 404, 'NOT_FOUND', 'Calendar feed not found');
      const all = await read(ofAll.url, k);
      expect(all.statusCode).toBe(200);
      expect(all.body).toContain('SUMMARY:own of viewer');
      expect(all.body).not.toMatch(/SUMMARY:(task|recurring|trashed) of/);
    }
  });

  it("a change in the list reaches the live streams of its members on both instances, and never a non-member's", async () => {
    const { f, as } = await fixture(1);
    const streams = await Promise.all(
      WHO.map(async (who, k) => {
        const s = await openSse(`${urls[k % 2]}${routes.events(f.users[who])}?include=lists`, await authHeader(f.users[who]));
        expect(s.status).toBe(200);
        await s.next((e) => e.event === 'ready');
        return [who, s] as const;
      }),
    );
    try {
      const editor = await as('editor', 0);
      const written = (await editor.put(f.task.owner.id, { title: 'seen by members' })).json().data as TaskJson;
      const stranger = await as('stranger', 1);
      const marker = (await stranger.create({ title: 'marker' })).json().data as TaskJson;
      const carries = (id: number) => (e: SseEvent) => e.event === 'upsert' && (JSON.parse(e.data) as { task: TaskJson }).task.id === id;
      for (const [who, s] of streams) {
        if (who === 'stranger') {
          await s.next(carries(marker.id), 10_000);
          // Everything of theirs up to their own later write has arrived: none of it is the list's.
          expect(s.events.filter((e) => e.event !== 'ready').map((e) => e.data)).toEqual([JSON.stringify({ type: 'upsert', task: marker })]);
        } else {
          const e = await s.next(carries(written.id), 10_000);
          expect(JSON.parse(e.data)).toEqual({ type: 'upsert', task: written });
        }
      }
    } finally {
      for (const [, s] of streams) s.close();
    }
  });
});

/**
 * `METHOD /path` of every route in Fastify's table: printRoutes draws a tree, each level 4
 * characters in, a child's path relative to its parent's. HEAD, OPTIONS, TRACE and the docs aside.
 */
function fastifyRoutes(printed: string): string[] {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of printed.split('\n')) {
    const m = /^([│├└─\s]*)(\S+) \(([^)]*)\)$/.exec(line);
    if (m === null) continue;
    const [, indent, part, methods] = m as unknown as [string, string, string, string];
    const depth = Math.max(0, [...indent].length / 4 - 1);
    stack.length = depth;
    stack.push(part);
    const path = stack.join('');
    for (const method of methods.split(',').map((x) => x.trim())) {
      if (['HEAD', 'OPTIONS', 'TRACE'].includes(method) || path.startsWith('/docs') || path.startsWith('*') || path === '/openapi.json') continue;
      out.add(`${method} ${path}`);
    }
  }
  return [...out];
}

/**
 * Isolation as a property (API.md, Version 3, "Sharing" and "Feeds with lists and sharing"): fast-check
 * runs random sequences of list creations, invitations, accepts, role changes and transfers, removals
 * and leaving, list deletions, task creates, edits, completions, deletes, restores from the trash and
 * moves between shared and private lists, by three users, each request through one of two instances
 * on one database (each run starts with A's list, holding three tasks, shared with B as editor and C
 * as viewer, then goes on at random). A plain model (lists, memberships, roles, invitations, tasks,
 * the trash) says what each request must answer, and after every step each user's view must equal
 * the model's:
 *   - GET /lists, GET /tasks, GET /trash, GET /tasks?list_id= of every list that ever existed (404 for
 *     the others), GET /tasks/{id} of every task that ever existed (404 for those they cannot read);
 *   - the replica they build from /changes?include=lists (pulled on from their last cursor);
 *   - the replica their open event stream builds (include=lists; each user's stream on an instance of
 *     its own), once it has caught up with the feed: it is waited for until its last event id reaches
 *     the /changes cursor, never for a fixed time.
 *
 * On a failure fast-check prints the seed, the path and the shortest sequence it found (with its
 * replayPath); replay with ISOLATION_SEED=<seed> ISOLATION_PATH=<path> ISOLATION_REPLAY=<replayPath>.
 * ISOLATION_RUNS (default 16) and ISOLATION_STEPS (default 40) bound the run, and so does
 * ISOLATION_TIME_LIMIT_MS (default 50 s: no run starts after it), so that it takes under a minute per
 * database on a loaded 2-core machine. The runs, steps and answers checked (by kind) are printed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, routes, type Api } from '../helpers/api.js';
import { anotherInstance, authHeader, buildTestApp, expectError, listen, uniqueUser, type TestApp } from '../helpers/app.js';
import { openSse, type SseStream } from '../helpers/sse.js';
import type { TaskJson } from '../helpers/task-json.js';

const RUNS = Number(process.env.ISOLATION_RUNS ?? 16);
/** A bound on the wall clock as well (a loaded CI): no new run starts after it; the runs made are printed. */
const TIME_LIMIT_MS = Number(process.env.ISOLATION_TIME_LIMIT_MS ?? 50_000);
const STEPS = Number(process.env.ISOLATION_STEPS ?? 40);
const SEED = process.env.ISOLATION_SEED === undefined ? undefined : Number(process.env.ISOLATION_SEED);
const PATH = process.env.ISOLATION_PATH;
/** The commands' own replay path (the `replayPath` fast-check prints beside the shortest sequence). */
const REPLAY = process.env.ISOLATION_REPLAY;
/** How long a stream may take to catch up with the feed (the contract says 1 s; a loaded CI gets more). */
const CATCH_UP_MS = 10_000;

type Role = 'owner' | 'editor' | 'viewer';
type U = 0 | 1 | 2;
const USERS: readonly U[] = [0, 1, 2];
const NAMES = ['A', 'B', 'C'] as const;

interface MList {
  id: number;
  owner: U;
  members: Map<U, Role>;
  /** Whose Inbox it is, if one. */
  inboxOf: U | undefined;
  deleted: boolean;
}
interface MTask {
  id: number;
  list: number;
  title: string;
  completed: boolean;
  deleted: boolean;
  /** Its entry in the trash while deleted: the list it was deleted from, and who deleted that list (if the list went). */
  trash: { list: number; by: U | undefined } | undefined;
}
interface MInvitation {
  token: string;
  list: number;
  role: 'editor' | 'viewer';
  used: boolean;
}
interface Model {
  lists: MList[];
  tasks: MTask[];
  invitations: MInvitation[];
}

/** What is compared of a list and of a task. */
type ListView = { id: number; role: Role; owner_id: string; member_count: number; is_default: boolean };
type TaskView = { id: number; list_id: number; title: string; completed: boolean };

class Replica {
  lists = new Map<number, ListView>();
  tasks = new Map<number, TaskView>();
  apply(e: { type: string; id?: number; task?: TaskJson; list?: ListView }): void {
    if (e.type === 'upsert') this.tasks.set((e.task as TaskJson).id, taskView(e.task as TaskJson));
    else if (e.type === 'delete') this.tasks.delete(e.id as number);
    else if (e.type === 'list_upsert') this.lists.set((e.list as ListView).id, listView(e.list as ListView));
    else if (e.type === 'list_delete') this.lists.delete(e.id as number);
  }
  copy(): Replica {
    const r = new Replica();
    r.lists = new Map(this.lists);
    r.tasks = new Map(this.tasks);
    return r;
  }
  sorted() {
    return { lists: [...this.lists.values()].sort((a, b) => a.id - b.id), tasks: [...this.tasks.values()].sort((a, b) => a.id - b.id) };
  }
}

const listView = (l: ListView): ListView => ({ id: l.id, role: l.role, owner_id: l.owner_id, member_count: l.member_count, is_default: l.is_default });
const taskView = (t: TaskJson): TaskView => ({ id: t.id, list_id: t.list_id, title: t.title, completed: t.completed });
const seqOf = (cursor: string | undefined) => (cursor === undefined ? -1 : Number(/^s:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString())?.[1] ?? -1));

/** One run's users: their ids, their clients on each instance, their feed replica and their open stream. */
interface Real {
  ids: [string, string, string];
  on: (u: U, via: number) => Api;
  feed: { replica: Replica; cursor: string }[];
  streams: { stream: SseStream; replica: Replica; applied: number }[];
  step: number;
}

const role = (m: Model, l: MList, u: U): Role | undefined => (l.deleted ? undefined : l.members.get(u));
const listOf = (m: Model, id: number) => m.lists.find((l) => l.id === id) as MList;
const pick = <T>(xs: T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);
/**
 * The list a command names: the `i`th of those `u` is a member of in one of `roles` (when `mine`, so
 * that most commands reach the cases past the 404 and the 403), else of every list that ever
 * existed, deleted ones included.
 */
function listFor(m: Model, u: U, i: { n: number; mine: boolean }, roles: readonly Role[] = ['owner', 'editor', 'viewer'], also: (l: MList) => boolean = () => true): MList {
  const theirs = m.lists.filter((l) => roles.includes(role(m, l, u) as Role) && also(l));
  return (i.mine && theirs.length > 0 ? pick(theirs, i.n) : pick(m.lists, i.n)) as MList;
}
/** The member a command names: mostly another member of the list, else any of the three users. */
function memberFor(list: MList, u: U, t: { n: number; other: boolean }): U {
  const others = [...list.members.keys()].filter((x) => x !== u);
  return t.other && others.length > 0 ? (pick(others, t.n) as U) : (USERS[t.n % 3] as U);
}
/** Whether `u` sees (and may restore) the trashed task: deleted from a list where they may write, or with a list they deleted. */
function mayRestore(m: Model, t: MTask, u: U): boolean {
  if (t.trash === undefined) return false;
  if (t.trash.by !== undefined) return t.trash.by === u;
  const r = role(m, listOf(m, t.trash.list), u);
  return r === 'owner' || r === 'editor';
}
/** The task a command names: likewise, among those `u` can read, or among all that ever existed. */
function taskFor(m: Model, u: U, i: { n: number; mine: boolean }): MTask {
  const theirs = m.tasks.filter((t) => !t.deleted && role(m, listOf(m, t.list), u) !== undefined);
  return (i.mine && theirs.length > 0 ? pick(theirs, i.n) : pick(m.tasks, i.n)) as MTask;
}

/** Each user's view as the model has it. */
function expected(m: Model, real: Real, u: U): { lists: ListView[]; tasks: TaskView[] } {
  const lists = m.lists
    .filter((l) => role(m, l, u) !== undefined)
    .map((l) => ({ id: l.id, role: l.members.get(u) as Role, owner_id: real.ids[l.owner], member_count: l.members.size, is_default: l.inboxOf === u }));
  const readable = new Set(lists.map((l) => l.id));
  const tasks = m.tasks.filter((t) => !t.deleted && readable.has(t.list)).map((t) => ({ id: t.id, list_id: t.list, title: t.title, completed: t.completed }));
  return { lists, tasks };
}

/** Every check of the header, for every user, after a step. */
async function checkAll(m: Model, real: Real): Promise<void> {
  real.step += 1;
  await Promise.all(
    USERS.map(async (u) => {
      const me = real.on(u, u + real.step);
      const want = expected(m, real, u);
      const who = `${NAMES[u]} after step ${real.step}`;
      // GET /lists and GET /tasks.
      const lists = await me.lists();
      expect(lists.statusCode, lists.body).toBe(200);
      expect((lists.json().data as ListView[]).map(listView).sort((a, b) => a.id - b.id), `${who}: GET /lists`).toEqual(want.lists);
      const tasks = await me.list();
      expect(tasks.statusCode, tasks.body).toBe(200);
      expect((tasks.json().data as TaskJson[]).map(taskView).sort((a, b) => a.id - b.id), `${who}: GET /tasks`).toEqual(want.tasks);
      // GET /trash: the trashed tasks they may restore.
      const trash = await me.trash.list({ limit: 200 });
      expect(trash.statusCode, trash.body).toBe(200);
      expect((trash.json().data as { id: number }[]).map((x) => x.id).sort((a, b) => a - b), `${who}: GET /trash`).toEqual(
        m.tasks.filter((t) => mayRestore(m, t, u)).map((t) => t.id).sort((a, b) => a - b),
      );
      // Every list that ever existed, by list_id; every task that ever existed, by id.
      await Promise.all(
        m.lists.map(async (l) => {
          const res = await me.list({ list_id: l.id });
          if (role(m, l, u) === undefined) expectError(res, 404, 'NOT_FOUND', 'List not found');
          else expect((res.json().data as TaskJson[]).map(taskView).sort((a, b) => a.id - b.id), `${who}: GET /tasks?list_id=${l.id}`).toEqual(want.tasks.filter((t) => t.list_id === l.id));
        }),
      );
      await Promise.all(
        m.tasks.map(async (t) => {
          const res = await me.get(t.id);
          const visible = want.tasks.find((x) => x.id === t.id);
          if (visible === undefined) expectError(res, 404, 'NOT_FOUND', 'Task not found');
          else expect(taskView(res.json().data), `${who}: GET /tasks/${t.id}`).toEqual(visible);
        }),
      );
      // The /changes replica, pulled on from the last cursor (pages of 5).
      const feed = real.feed[u] as Real['feed'][number];
      for (;;) {
        const res = await me.changes({ include: 'lists', since: feed.cursor, limit: 5 });
        expect(res.statusCode, res.body).toBe(200);
        const page = res.json().data as { changes: Parameters<Replica['apply']>[0][]; cursor: string; has_more: boolean };
        for (const e of page.changes) feed.replica.apply(e);
        feed.cursor = page.cursor;
        if (!page.has_more) break;
      }
      expect(feed.replica.sorted(), `${who}: the /changes replica`).toEqual(want);
      // The stream's replica, once its last event id has reached the feed's cursor.
      const s = real.streams[u] as Real['streams'][number];
      const target = seqOf(feed.cursor);
      if (seqOf(s.stream.lastEventId) < target) {
        await s.stream.next((e) => seqOf(e.id) >= target, CATCH_UP_MS, s.applied).catch(() => {
          throw new Error(`${who}: the event stream did not reach the feed's cursor (seq ${target}) within ${CATCH_UP_MS} ms; it is at ${seqOf(s.stream.lastEventId)}`);
        });
      }
      for (const e of s.stream.events.slice(s.applied)) if (e.event !== 'ready') s.replica.apply(JSON.parse(e.data));
      s.applied = s.stream.events.length;
      expect(seqOf(s.stream.lastEventId), `${who}: the stream went past the feed`).toBe(target);
      expect(s.replica.sorted(), `${who}: the event stream's replica`).toEqual(want);
    }),
  );
}

type Cmd = fc.AsyncCommand<Model, Real>;

/** A command: its text (what a failure prints) and what it does, checking the answer against the model. */
function command(text: () => string, run: (m: Model, r: Real) => Promise<void>, check: (m: Model) => boolean = () => true): Cmd {
  return {
    check,
    async run(m, r) {
      await run(m, r);
      await checkAll(m, r);
    },
    toString: text,
  };
}

const LIST_404 = ['NOT_FOUND', 'List not found'] as const;
const TASK_404 = ['NOT_FOUND', 'Task not found'] as const;
const who = fc.constantFrom<U>(0, 1, 2);
/** Whom a role change or a removal names. */
const member = fc.record({ n: fc.nat(5), other: fc.boolean() }).map((x) => ({ ...x, other: x.other || x.n % 4 !== 0 }));
const via = fc.integer({ min: 0, max: 1 });
const index = fc.nat(50);
/** Which list or task: mostly one of the caller's. */
const target = fc.record({ n: fc.nat(50), mine: fc.boolean() }).map((x) => ({ ...x, mine: x.mine || x.n % 3 !== 0 }));

/** How many answers of each kind the runs checked (printed: the sequences must reach every case). */
const tally = new Map<string, number>();

/** A call answering either a success (its status) or the exact error the model expects. */
function answer(res: { statusCode: number; body: string; json(): unknown }, want: number | readonly [number, string, string], what: string): void {
  const key = `${what} ${typeof want === 'number' ? want : `${want[0]} (${want[2]})`}`;
  tally.set(key, (tally.get(key) ?? 0) + 1);
  if (typeof want === 'number') expect(res.statusCode, `${what}: ${res.body}`).toBe(want);
  else expectError(res as never, want[0], want[1], want[2]);
}

const [createList, invite, accept, setRole, remove, deleteList, createTask, writeTask, moveTask] = [
  fc.record({ u: who, v: via }).map(({ u, v }) =>
    command(
      () => `${NAMES[u]} creates a list (via ${v + 1})`,
      async (m, r) => {
        const res = await r.on(u, v).createList({ name: `list of ${NAMES[u]}` });
        answer(res, 201, 'create list');
        m.lists.push({ id: res.json().data.id, owner: u, members: new Map([[u, 'owner']]), inboxOf: undefined, deleted: false });
      },
    ),
  ),
  fc.record({ u: who, l: target, role: fc.constantFrom('editor' as const, 'viewer' as const), v: via }).map(({ u, l, role: as, v }) => {
    let shown = `list #${l.n}`;
    return command(
      () => `${NAMES[u]} invites to ${shown} as ${as} (via ${v + 1})`,
      async (m, r) => {
        const list = listFor(m, u, l, l.n % 2 === 0 ? ['owner'] : undefined);
        shown = `list ${list.id}`;
        const res = await r.on(u, v).sharing.invite(list.id, { role: as });
        const mine = role(m, list, u);
        if (mine === undefined) return answer(res, [404, ...LIST_404], 'invite');
        if (mine !== 'owner') return answer(res, [403, 'FORBIDDEN', 'Inviting to this list needs the owner role'], 'invite');
        answer(res, 201, 'invite');
        m.invitations.push({ token: res.json().data.token, list: list.id, role: as, used: false });
      },
    );
  }),
  fc.record({ u: who, i: index, v: via }).map(({ u, i, v }) => {
    let shown = `invitation #${i}`;
    return command(
      () => `${NAMES[u]} accepts ${shown} (via ${v + 1})`,
      async (m, r) => {
        // Mostly an open one; sometimes any (spent, or of a deleted list).
        const open = m.invitations.filter((x) => !x.used && !listOf(m, x.list).deleted);
        const inv = (i % 4 !== 0 && open.length > 0 ? pick(open, i) : pick(m.invitations, i)) as MInvitation;
        const list = listOf(m, inv.list);
        shown = `the invitation to list ${list.id} as ${inv.role}`;
        const res = await r.on(u, v).sharing.accept(inv.token);
        if (inv.used || list.deleted) return answer(res, [404, 'NOT_FOUND', 'Invitation not found'], 'accept');
        if (list.members.has(u)) return answer(res, [409, 'CONFLICT', 'You are already a member of this list'], 'accept');
        answer(res, 200, 'accept');
        inv.used = true;
        list.members.set(u, inv.role);
      },
      (m) => m.invitations.length > 0,
    );
  }),
  fc.record({ u: who, l: target, t: member, role: fc.constantFrom<Role>('owner', 'editor', 'viewer'), v: via }).map(({ u, l, t, role: as, v }) => {
    let shown = `list #${l.n}`;
    let target: U = 0;
    let them = `member #${t.n}`;
    return command(
      () => `${NAMES[u]} makes ${them} ${as} of ${shown} (via ${v + 1})`,
      async (m, r) => {
        // A transfer, mostly of a list that can be transferred (not an Inbox) to someone.
        const transferable = (x: MList) => as !== 'owner' || (x.inboxOf === undefined && x.members.size > 1);
        const list = listFor(m, u, l, l.n % 2 === 0 ? ['owner'] : undefined, transferable);
        target = memberFor(list, u, t);
        shown = `list ${list.id}`;
        them = NAMES[target];
        const res = await r.on(u, v).sharing.setRole(list.id, r.ids[target], { role: as });
        const mine = role(m, list, u);
        if (mine === undefined) return answer(res, [404, ...LIST_404], 'set role');
        if (mine !== 'owner') return answer(res, [403, 'FORBIDDEN', "Changing members' roles needs the owner role"], 'set role');
        const theirs = list.members.get(target);
        if (theirs === undefined) return answer(res, [404, 'NOT_FOUND', 'Member not found'], 'set role');
        if (as === 'owner') {
          if (target === u) return answer(res, 200, 'set role');
          if (list.inboxOf !== undefined) return answer(res, [409, 'CONFLICT', 'An Inbox is never transferred'], 'set role');
          answer(res, 200, 'transfer');
          list.members.set(u, 'editor');
          list.members.set(target, 'owner');
          list.owner = target;
          return;
        }
        if (theirs === 'owner') return answer(res, [409, 'CONFLICT', "The owner's role changes only by giving the list to another member (role owner)"], 'set role');
        answer(res, 200, 'set role');
        list.members.set(target, as);
      },
    );
  }),
  fc.record({ u: who, l: target, t: member, v: via }).map(({ u, l, t, v }) => {
    let shown = `list #${l.n}`;
    let target: U = 0;
    let them = `member #${t.n}`;
    return command(
      () => (them === NAMES[u] ? `${NAMES[u]} leaves ${shown} (via ${v + 1})` : `${NAMES[u]} removes ${them} from ${shown} (via ${v + 1})`),
      async (m, r) => {
        const list = listFor(m, u, l);
        target = memberFor(list, u, t);
        shown = `list ${list.id}`;
        them = NAMES[target];
        const res = await r.on(u, v).sharing.remove(list.id, r.ids[target]);
        const mine = role(m, list, u);
        if (mine === undefined) return answer(res, [404, ...LIST_404], 'remove');
        if (target !== u && mine !== 'owner') return answer(res, [403, 'FORBIDDEN', 'Removing members needs the owner role'], 'remove');
        const theirs = list.members.get(target);
        if (theirs === undefined) return answer(res, [404, 'NOT_FOUND', 'Member not found'], 'remove');
        if (theirs === 'owner') return answer(res, [409, 'CONFLICT', 'The owner cannot leave the list: give it to another member first'], 'remove');
        answer(res, 200, 'remove');
        list.members.delete(target);
      },
    );
  }),
  fc.record({ u: who, l: target, v: via }).map(({ u, l, v }) => {
    let shown = `list #${l.n}`;
    return command(
      () => `${NAMES[u]} deletes ${shown} (via ${v + 1})`,
      async (m, r) => {
        const list = listFor(m, u, l, l.n % 2 === 0 ? ['owner'] : undefined);
        shown = `list ${list.id}`;
        const res = await r.on(u, v).delList(list.id);
        const mine = role(m, list, u);
        if (mine === undefined) return answer(res, [404, ...LIST_404], 'delete list');
        if (mine !== 'owner') return answer(res, [403, 'FORBIDDEN', 'Deleting this list needs the owner role'], 'delete list');
        if (list.inboxOf !== undefined) return answer(res, [409, 'CONFLICT', 'The Inbox cannot be deleted'], 'delete list');
        answer(res, 200, 'delete list');
        list.deleted = true;
        for (const t of m.tasks) {
          if (!t.deleted && t.list === list.id) Object.assign(t, { deleted: true, trash: { list: list.id, by: u } });
          else if (t.trash?.list === list.id) t.trash.by = u;
        }
      },
    );
  }),
  fc.record({ u: who, l: fc.option(target, { nil: undefined }), v: via }).map(({ u, l, v }) => {
    let shown = l === undefined ? 'their Inbox (no list_id)' : `list #${l.n}`;
    return command(
      () => `${NAMES[u]} creates a task in ${shown} (via ${v + 1})`,
      async (m, r) => {
        const list = l === undefined ? (m.lists.find((x) => x.inboxOf === u) as MList) : listFor(m, u, l);
        if (l !== undefined) shown = `list ${list.id}`;
        const title = `task ${m.tasks.length} by ${NAMES[u]}`;
        const res = await r.on(u, v).create(l === undefined ? { title } : { title, list_id: list.id });
        const mine = role(m, list, u);
        if (mine === undefined) return answer(res, [404, ...LIST_404], 'create task');
        if (mine === 'viewer') return answer(res, [403, 'FORBIDDEN', 'Adding tasks to this list needs the editor role'], 'create task');
        answer(res, 201, 'create task');
        m.tasks.push({ id: res.json().data.id, list: list.id, title, completed: false, deleted: false, trash: undefined });
      },
    );
  }),
  fc.record({ u: who, t: target, op: fc.constantFrom('edits' as const, 'completes' as const, 'deletes' as const), v: via }).map(({ u, t, op, v }) => {
    let shown = `task #${t.n}`;
    return command(
      () => `${NAMES[u]} ${op} ${shown} (via ${v + 1})`,
      async (m, r) => {
        const task = taskFor(m, u, t);
        shown = `task ${task.id}`;
        const me = r.on(u, v);
        const title = `${task.title}, edited by ${NAMES[u]}`;
        const res = await (op === 'edits' ? me.put(task.id, { title }) : op === 'completes' ? me.complete(task.id) : me.del(task.id));
        const mine = task.deleted ? undefined : role(m, listOf(m, task.list), u);
        if (mine === undefined) return answer(res, [404, ...TASK_404], op);
        if (mine === 'viewer') return answer(res, [403, 'FORBIDDEN', "Changing this list's tasks needs the editor role"], op);
        answer(res, 200, op);
        if (op === 'edits') task.title = title;
        else if (op === 'completes') task.completed = !task.completed;
        else Object.assign(task, { deleted: true, trash: { list: task.list, by: undefined } });
      },
      (m) => m.tasks.length > 0,
    );
  }),
  fc.record({ u: who, t: target, l: target, v: via }).map(({ u, t, l, v }) => {
    let shown = `task #${t.n} to list #${l.n}`;
    return command(
      () => `${NAMES[u]} moves ${shown} (via ${v + 1})`,
      async (m, r) => {
        const task = taskFor(m, u, t);
        const list = listFor(m, u, l);
        shown = `task ${task.id} (in list ${task.list}) to list ${list.id}`;
        const res = await r.on(u, v).move(task.id, { list_id: list.id });
        const from = task.deleted ? undefined : role(m, listOf(m, task.list), u);
        if (from === undefined) return answer(res, [404, ...TASK_404], 'move');
        if (from === 'viewer') return answer(res, [403, 'FORBIDDEN', "Changing this list's tasks needs the editor role"], 'move');
        if (list.id !== task.list) {
          const to = role(m, list, u);
          if (to === undefined) return answer(res, [404, ...LIST_404], 'move');
          if (to === 'viewer') return answer(res, [403, 'FORBIDDEN', 'Adding tasks to that list needs the editor role'], 'move');
        }
        answer(res, 200, 'move');
        task.list = list.id;
      },
      (m) => m.tasks.length > 0,
    );
  }),
];
/** A restore from the trash: into its list, or into the restorer's Inbox when they deleted the list. */
const restore = fc.record({ u: who, t: target, v: via }).map(({ u, t, v }) => {
  let shown = `trashed task #${t.n}`;
  return command(
    () => `${NAMES[u]} restores ${shown} (via ${v + 1})`,
    async (m, r) => {
      const trashed = m.tasks.filter((x) => x.trash !== undefined);
      const theirs = trashed.filter((x) => mayRestore(m, x, u));
      const task = (t.mine && theirs.length > 0 ? pick(theirs, t.n) : pick(trashed, t.n)) as MTask;
      const entry = task.trash as NonNullable<MTask['trash']>;
      shown = `task ${task.id} (deleted from list ${entry.list}${entry.by === undefined ? '' : ` that ${NAMES[entry.by]} deleted`})`;
      const res = await r.on(u, v).trash.restore(task.id);
      if (!mayRestore(m, task, u)) return answer(res, [404, 'NOT_FOUND', 'Task not found in the trash'], 'restore');
      answer(res, 200, 'restore');
      const into = entry.by === undefined ? entry.list : (m.lists.find((x) => x.inboxOf === u) as MList).id;
      Object.assign(task, { deleted: false, trash: undefined, list: into });
    },
    (m) => m.tasks.some((x) => x.trash !== undefined),
  );
});

/** An invitation made and accepted in one step (by a user who is not a member, when there is one): lists get shared often. */
const share = fc.record({ u: who, l: target, t: fc.nat(5), role: fc.constantFrom('editor' as const, 'viewer' as const), v: via }).map(({ u, l, t, role: as, v }) => {
  let text = `${NAMES[u]} shares list #${l.n} as ${as} (via ${v + 1})`;
  return command(
    () => text,
    async (m, r) => {
      // Mostly a list of their own other than their Inbox (Inboxes are shared too).
      const list = listFor(m, u, l, ['owner'], (x) => l.n % 3 === 0 || x.inboxOf === undefined);
      const outside = USERS.filter((x) => !list.members.has(x));
      const joiner = (pick(outside, t) ?? USERS[t % 3]) as U;
      text = `${NAMES[u]} shares list ${list.id} with ${NAMES[joiner]} as ${as} (via ${v + 1}, accepted via ${2 - v})`;
      const made = await r.on(u, v).sharing.invite(list.id, { role: as });
      if (role(m, list, u) !== 'owner') return answer(made, role(m, list, u) === undefined ? [404, ...LIST_404] : [403, 'FORBIDDEN', 'Inviting to this list needs the owner role'], 'share: invite');
      answer(made, 201, 'share: invite');
      const invitation: MInvitation = { token: made.json().data.token, list: list.id, role: as, used: false };
      m.invitations.push(invitation);
      const res = await r.on(joiner, v + 1).sharing.accept(invitation.token);
      if (list.members.has(joiner)) return answer(res, [409, 'CONFLICT', 'You are already a member of this list'], 'share: accept');
      answer(res, 200, 'share: accept');
      invitation.used = true;
      list.members.set(joiner, as);
    },
  );
});

/** Sharing weighs more than the rest: invitations must be made and accepted for anything to be shared. */
const commands = [createList, createList, share, share, invite, accept, accept, setRole, setRole, setRole, remove, deleteList, createTask, createTask, writeTask, writeTask, moveTask, moveTask, restore, restore] as const;

describe.each(drivers)('isolation as a property: three users, two instances [%s]', (driver) => {
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

  /** A run's fresh users: their Inboxes in the model, their feed replicas from a snapshot, their streams from its cursor. */
  async function begin(): Promise<{ model: Model; real: Real; close(): void }> {
    const ids = USERS.map((u) => uniqueUser(NAMES[u])) as Real['ids'];
    const clients = await Promise.all(USERS.map(async (u) => [await api(one.app, ids[u]), await api(two.app, ids[u])] as const));
    const on = (u: U, n: number) => (clients[u] as readonly [Api, Api])[n % 2] as Api;
    const model: Model = { lists: [], tasks: [], invitations: [] };
    const feed: Real['feed'] = [];
    const streams: Real['streams'] = [];
    for (const u of USERS) {
      const inbox = ((await on(u, u).lists()).json().data as ListView[])[0] as ListView;
      model.lists.push({ id: inbox.id, owner: u, members: new Map([[u, 'owner']]), inboxOf: u, deleted: false });
      const replica = new Replica();
      const snapshot = (await on(u, u).changes({ include: 'lists' })).json().data as { changes: Parameters<Replica['apply']>[0][]; cursor: string };
      for (const e of snapshot.changes) replica.apply(e);
      feed.push({ replica, cursor: snapshot.cursor });
      const stream = await openSse(`${urls[u % 2]}${routes.events(ids[u])}?include=lists&since=${snapshot.cursor}`, await authHeader(ids[u]));
      expect(stream.status, stream.body).toBe(200);
      await stream.next((e) => e.event === 'ready');
      streams.push({ stream, replica: replica.copy(), applied: 0 });
    }
    // The start: A's list shared with B (editor) and C (viewer), made after the snapshots, so that the
    // feeds and the streams carry the sharing too. The sequences go on from there.
    const list = (await on(0, 0).createList({ name: 'Shared' })).json().data.id as number;
    for (const [u, as] of [[1, 'editor'], [2, 'viewer']] as const) {
      const token = (await on(0, u).sharing.invite(list, { role: as })).json().data.token as string;
      expect((await on(u, u + 1).sharing.accept(token)).statusCode).toBe(200);
      model.invitations.push({ token, list, role: as, used: true });
    }
    model.lists.push({ id: list, owner: 0, members: new Map<U, Role>([[0, 'owner'], [1, 'editor'], [2, 'viewer']]), inboxOf: undefined, deleted: false });
    // And tasks in it, by its owner and its editor: what a removal, a move or a deletion must take away.
    for (const u of [0, 0, 1] as const) {
      const title = `task ${model.tasks.length} by ${NAMES[u]}`;
      const made = await on(u, model.tasks.length).create({ title, list_id: list });
      expect(made.statusCode, made.body).toBe(201);
      model.tasks.push({ id: made.json().data.id, list, title, completed: false, deleted: false, trash: undefined });
    }
    const real: Real = { ids, on, feed, streams, step: 0 };
    return { model, real, close: () => streams.forEach((s) => s.stream.close()) };
  }

  it(`each user's lists, tasks, feed replica and stream replica equal the model after every step (up to ${RUNS} runs of up to ${STEPS} steps)`, async () => {
    const started = Date.now();
    const stats = { runs: 0, steps: 0 };
    tally.clear();
    await fc.assert(
      fc.asyncProperty(fc.commands([...commands], { maxCommands: STEPS, size: 'max', ...(REPLAY === undefined ? {} : { replayPath: REPLAY }) }), async (cmds) => {
        const run = await begin();
        try {
          await checkAll(run.model, run.real);
          await fc.asyncModelRun(() => ({ model: run.model, real: run.real }), cmds);
          stats.runs += 1;
          stats.steps += run.real.step - 1;
        } finally {
          run.close();
        }
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false, verbose: 1, ...(SEED === undefined ? {} : { seed: SEED }), ...(PATH === undefined ? {} : { path: PATH }) },
    );
    console.log(`[${driver}] isolation property: ${stats.runs} runs, ${stats.steps} steps in ${((Date.now() - started) / 1000).toFixed(1)} s; answers: ${[...tally].sort().map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  }, 600_000);
});

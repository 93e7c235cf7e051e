/**
 * API.md, Version 3, "Feeds with lists and sharing", the invariant: a client that applies the feed
 * (with include=lists) from any cursor it was given ends with exactly the lists it is a member of
 * and exactly the tasks it can read, each in its current state (open_count aside). Random list
 * writes (create, rename, place, move, delete) and task writes by two members of shared lists, run
 * concurrently in rounds; after each round, replicas that started from every cursor handed out so far
 * (and the one that kept pulling, with pages of 3) must equal GET /lists and GET /tasks.
 * Membership is made in the database, as invitations will (sharing's routes are not built yet).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, type Api } from '../helpers/api.js';
import { buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';
import { seededRandom } from '../helpers/random.js';

type Entry =
  | { type: 'upsert'; task: { id: number } }
  | { type: 'delete'; id: number }
  | { type: 'list_upsert'; list: { id: number; open_count?: number } }
  | { type: 'list_delete'; id: number };

class Replica {
  lists = new Map<number, unknown>();
  tasks = new Map<number, unknown>();
  constructor(public cursor: string | undefined) {}
  async pull(a: Api, limit = 500): Promise<void> {
    for (;;) {
      const query = `?include=lists&limit=${limit}${this.cursor === undefined ? '' : `&since=${this.cursor}`}`;
      const res = await a.changes(query);
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json().data as { changes: Entry[]; cursor: string; has_more: boolean };
      for (const e of page.changes) {
        if (e.type === 'upsert') this.tasks.set(e.task.id, e.task);
        else if (e.type === 'delete') this.tasks.delete(e.id);
        else if (e.type === 'list_upsert') this.lists.set(e.list.id, { ...e.list, open_count: undefined });
        else this.lists.delete(e.id);
      }
      this.cursor = page.cursor;
      if (!page.has_more) return;
    }
  }
}

describe.each(drivers)('the feed invariant with lists [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver, { maxListsPerUser: 6 });
  });
  afterAll(async () => t?.close());

  it('replicas from every cursor end equal to GET /lists and GET /tasks, round after round of concurrent writes', async () => {
    const random = seededRandom(20261206);
    const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(random() * xs.length)];
    const [owner, member] = [await api(t.app, uniqueUser()), await api(t.app, uniqueUser())];
    // The member is an editor of one of the owner's lists and of the owner's Inbox, where the owner's tasks go.
    const shared = (await owner.createList({ name: 'shared' })).json().data.id as number;
    const inbox = ((await owner.lists()).json().data[0] as { id: number }).id;
    await member.lists(); // the member's first request: their Inbox and feed counter
    // As accepting an invitation will: the membership, and the list in the member's feed (before any task is in it).
    for (const [list, position] of [[shared, 'a5'], [inbox, 'a6']] as const) {
      await t.database.rows(
        `with m as (insert into list_members (list_id, user_id, role, position) values ($1, $2, 'editor', $3)),
         s as (update user_changes set seq = seq + 1 where user_id = $2 returning seq)
         insert into feed_entries (user_id, kind, entity_id, seq) select $2, 2, $1, seq from s`,
        [list, member.user, position],
      );
    }

    const users = [owner, member];
    const replicas = new Map<Api, Replica[]>(users.map((u) => [u, [new Replica(undefined)]]));
    const state = async (a: Api) => {
      const lists = ((await a.lists()).json().data as { id: number }[]).map((l) => [l.id, { ...l, open_count: undefined }] as const);
      const tasks = ((await a.list()).json().data as { id: number }[]).map((x) => [x.id, x] as const);
      return { lists: new Map<number, unknown>(lists), tasks: new Map<number, unknown>(tasks) };
    };
    const listIds = async (a: Api) => ((await a.lists()).json().data as { id: number; role: string }[]);

    /** Which writes succeeded, by kind: each kind must have run. */
    const done = new Map<string, number>();
    const ran = async (kind: string, call: Promise<{ statusCode: number }>) => {
      const res = await call;
      expect(res.statusCode, kind).toBeLessThan(500);
      if (res.statusCode < 300) done.set(kind, (done.get(kind) ?? 0) + 1);
    };
    /** One random write by `a`. */
    const write = async (a: Api) => {
      const mine = await listIds(a);
      const any = pick(mine)?.id as number;
      const owned = mine.filter((l) => l.role === 'owner').map((l) => l.id);
      const r = random();
      if (r < 0.15) await ran('create list', a.createList({ name: `l${Math.floor(random() * 1000)}` }));
      else if (r < 0.25) await ran('rename', a.putList(pick(owned) as number, { name: `n${Math.floor(random() * 1000)}` }));
      else if (r < 0.35) await ran('place', a.putList(any, { position: pick(['a0', 'a3', 'Zz', 'a0V', 'a9']) as string }));
      else if (r < 0.5) await ran('move', a.moveList(any, random() < 0.5 ? { after_id: pick(mine)?.id as number } : {}));
      else if (r < 0.6) await ran('delete list', a.delList(pick(owned) as number));
      else if (r < 0.8) await ran('create task', a.create({ title: `t${Math.floor(random() * 1000)}` }));
      else {
        const tasks = (await a.list()).json().data as { id: number }[];
        const task = pick(tasks);
        if (task !== undefined) await (random() < 0.7 ? ran('complete', a.complete(task.id)) : ran('delete task', a.del(task.id)));
      }
    };

    for (let round = 0; round < 8; round++) {
      await Promise.all(users.flatMap((u) => Array.from({ length: 6 }, () => write(u))));
      for (const u of users) {
        const mine = replicas.get(u) as Replica[];
        // A new replica from the cursor of the latest one, and from its own first snapshot.
        for (const replica of mine) await replica.pull(u, 3);
        const expected = await state(u);
        for (const replica of mine) {
          expect(replica.lists, `round ${round}: lists`).toEqual(expected.lists);
          expect(replica.tasks, `round ${round}: tasks`).toEqual(expected.tasks);
        }
        // Next round, one more replica: a fresh one from the last cursor holds nothing yet, so it starts as a copy.
        const last = mine.at(-1) as Replica;
        const copy = new Replica(last.cursor);
        copy.lists = new Map(last.lists);
        copy.tasks = new Map(last.tasks);
        mine.push(copy);
      }
    }
    expect([...done.keys()].sort()).toEqual(['complete', 'create list', 'create task', 'delete list', 'delete task', 'move', 'place', 'rename']);
  }, 120_000);
});

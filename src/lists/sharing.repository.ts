import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '../access/roles.js';
import type { AccessScope } from '../access/scope.js';
import type { Executor } from '../db/client.js';
import { feedSql, type Told } from '../feed/feed.js';
import { LIST_FEED } from './lists.feed.js';
import { keyBetween, freshKeys } from './lists.position.js';
import type { TellList } from './lists.repository.js';

/** An invitation's token: 256 random bits, base64url (43 characters); only its SHA-256 is stored. */
const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
export const tokenHash = (token: string) => createHash('sha256').update(token).digest('base64url');
export const isTokenShaped = (token: string) => TOKEN_SHAPE.test(token);

export interface Invitation {
  id: number;
  role: 'editor' | 'viewer';
  expires_at: string;
  created_at: string;
}

export interface Member {
  user_id: string;
  role: Role;
  name: string | null;
  email: string | null;
  joined_at: string;
}

export interface SharingOptions {
  /** The stored id of the task kind of the feed. */
  taskFeedKind: number;
  maxMembersPerList: number;
  maxListsPerUser: number;
  /** Open invitations a list keeps at most (expired ones are dropped first). */
  maxInvitationsPerList: number;
  maxDeletionsPerUser: number;
}

const told = (row: Told | undefined): TellList => (row === undefined ? [] : row.told_users.map((u, i) => [u, Number(row.told_seqs[i])] as const));
/** Merges who was told: each user at the highest number. */
export function tellAll(...lists: TellList[]): TellList {
  const at = new Map<string, number>();
  for (const list of lists) for (const [u, s] of list) at.set(u, Math.max(s, at.get(u) ?? 0));
  return [...at.entries()];
}

const NOW = "greatest(statement_timestamp(), updated_at + interval '1 millisecond')";

/**
 * SQL of sharing: invitations, members, role changes, transfers, leaving. Every write runs in the
 * transaction of lists.repository's `run`, after the counters of the list's members (and of whoever
 * joins) are locked in user_id order, so the feeds of everyone concerned commit in order. A member
 * who joins gets the list and every task of it in their feed; one who leaves or is removed gets a
 * `list_delete` and a `delete` of every task, each entry a number of its own.
 */
export function createSharingRepository(options: SharingOptions) {
  const T = options.taskFeedKind;
  const L = LIST_FEED.id;
  const keep = Math.trunc(options.maxDeletionsPerUser);

  /** The counters of the list's members and of `$1`, in user_id order. */
  const LOCK_WITH_CALLER =
    'select user_id from user_changes where user_id in (select user_id from list_members where list_id = $2 union select $1) order by user_id for update';

  /**
   * `$1`'s feed gains (`deleted` false) or loses (true) the list $2 and each of its tasks, each
   * entry its own number: the tasks in id order, then the list.
   */
  const SEE = (deleted: boolean) =>
    'with doomed as (select id, row_number() over (order by id) as n from tasks where list_id = $2), cnt as (select count(*)::int as n from doomed), ' +
    `s as (update user_changes u set seq = u.seq + cnt.n + 1${deleted ? `, purged_through = greatest(u.purged_through, u.seq + cnt.n + 1 - ${keep})` : ''} from cnt where u.user_id = $1 returning u.user_id, u.seq), ` +
    `ft as (insert into feed_entries (user_id, kind, entity_id, seq, deleted) select s.user_id, ${T}, doomed.id, s.seq - cnt.n - 1 + doomed.n, ${deleted} from s, doomed, cnt ` +
    `on conflict (user_id, kind, entity_id) do update set seq = excluded.seq, deleted = excluded.deleted, changed_at = now()), ` +
    `fl as (insert into feed_entries (user_id, kind, entity_id, seq, deleted) select s.user_id, ${L}, $2::int, s.seq, ${deleted} from s ` +
    `on conflict (user_id, kind, entity_id) do update set seq = excluded.seq, deleted = excluded.deleted, changed_at = now()) ` +
    'select array[s.user_id] as told_users, array[s.seq] as told_seqs from s';

  /** The list $1 changed for every member (a member came or went, a role, the owner): version + 1 and a list_upsert each. */
  const LIST_CHANGED =
    `with l as (update lists set version = version + 1, updated_at = ${NOW} where id = $1 returning id), ` +
    `${feedSql.fanOut('select $1::int')}, ${feedSql.record(LIST_FEED, 'l', false)} select ${feedSql.told}`;

  /** Tasks of list $1 assigned to $2 are unassigned, each a change of its own in every member's feed. */
  const UNASSIGN =
    `with a as (update tasks set assignee_id = null, version = version + 1, updated_at = ${NOW} where list_id = $1 and assignee_id = $2 returning id), ` +
    'n as (select id, row_number() over (order by id) as k from a), cnt as (select count(*)::int as c from a), ' +
    'm as (select fm.user_id from list_members fm where fm.list_id = $1), ' +
    's as (update user_changes u set seq = u.seq + cnt.c from m, cnt where u.user_id = m.user_id and cnt.c > 0 returning u.user_id, u.seq), ' +
    `f as (insert into feed_entries (user_id, kind, entity_id, seq, deleted) select s.user_id, ${T}, n.id, s.seq - cnt.c + n.k, false from s, n, cnt ` +
    'on conflict (user_id, kind, entity_id) do update set seq = excluded.seq, deleted = false, changed_at = now()) ' +
    'select array(select user_id from s order by user_id) as told_users, array(select seq from s order by user_id) as told_seqs';

  const INVITATION_COLUMNS = 'id, role, expires_at, created_at';

  return {
    /** Locks the counters of the list's members and of the caller (who may not be one yet). */
    lockWithCaller: (tx: Executor, userId: string, listId: number) => tx.rows(LOCK_WITH_CALLER, [userId, listId]),

    /** The caller's role in the list, or null (not a member). */
    async roleOf(tx: Executor, userId: string, listId: number): Promise<Role | null> {
      const [row] = await tx.rows<{ role: Role }>('select role from list_members where list_id = $1 and user_id = $2', [listId, userId]);
      return row?.role ?? null;
    },

    /** A new invitation with its token (shown once), or null when the list keeps the most open ones. */
    async invite(tx: Executor, scope: AccessScope, listId: number, role: 'editor' | 'viewer', hours: number): Promise<(Invitation & { token: string }) | null> {
      await tx.rows('delete from list_invitations where list_id = $1 and expires_at <= now()', [listId]);
      const [open] = await tx.rows<{ n: number }>('select count(*)::int as n from list_invitations where list_id = $1', [listId]);
      if ((open?.n ?? 0) >= options.maxInvitationsPerList) return null;
      const token = randomBytes(TOKEN_BYTES).toString('base64url');
      const [row] = await tx.rows<Invitation>(
        `insert into list_invitations (list_id, role, token_hash, created_by, expires_at) values ($1, $2, $3, $4, statement_timestamp() + make_interval(hours => $5)) returning ${INVITATION_COLUMNS}`,
        [listId, role, tokenHash(token), scope.userId, hours],
      );
      return { ...(row as Invitation), token };
    },

    /** The list's open invitations (not expired), newest first, without tokens. */
    invitations: (exec: Executor, listId: number) =>
      exec.rows<Invitation>(`select ${INVITATION_COLUMNS} from list_invitations where list_id = $1 and expires_at > now() order by id desc`, [listId]),

    async revoke(tx: Executor, listId: number, id: number): Promise<Invitation | null> {
      const [row] = await tx.rows<Invitation>(`delete from list_invitations where list_id = $1 and id = $2 and expires_at > now() returning ${INVITATION_COLUMNS}`, [listId, id]);
      return row ?? null;
    },

    /** The open invitation a token names (by its hash), or null. */
    async invitation(tx: Executor, token: string): Promise<{ id: number; list_id: number; role: 'editor' | 'viewer' } | null> {
      const [row] = await tx.rows<{ id: number; list_id: number; role: 'editor' | 'viewer' }>(
        'select id, list_id, role from list_invitations where token_hash = $1 and expires_at > now()',
        [tokenHash(token)],
      );
      return row ?? null;
    },

    memberCount: async (tx: Executor, listId: number) => (await tx.rows<{ n: number }>('select count(*)::int as n from list_members where list_id = $1', [listId]))[0]?.n ?? 0,

    /**
     * `userId` joins the list with `role` (the invitation `invitationId` spent), placed after their
     * last list; their feed gains the list and its tasks, every member's a list_upsert.
     */
    async join(tx: Executor, userId: string, listId: number, role: 'editor' | 'viewer', invitationId: number): Promise<TellList> {
      const [last] = await tx.rows<{ last: string | null }>('select max(position collate "C") as last from list_members where user_id = $1', [userId]);
      const position = keyBetween(last?.last ?? null, null) ?? freshKeys(1)[0];
      await tx.rows('insert into list_members (list_id, user_id, role, position) values ($1, $2, $3, $4)', [listId, userId, role, position]);
      await tx.rows('delete from list_invitations where id = $1', [invitationId]);
      const seen = told((await tx.rows<Told>(SEE(false), [userId, listId]))[0]);
      const all = told((await tx.rows<Told>(LIST_CHANGED, [listId]))[0]);
      return tellAll(seen, all);
    },

    /**
     * `memberId` leaves the list (or is removed): their tasks assignments there are reset (each a
     * change every remaining member sees), their feed loses the list and its tasks, the others get a
     * list_upsert.
     */
    async leave(tx: Executor, listId: number, memberId: string): Promise<TellList> {
      await tx.rows('delete from list_members where list_id = $1 and user_id = $2', [listId, memberId]);
      const unassigned = told((await tx.rows<Told>(UNASSIGN, [listId, memberId]))[0]);
      const lost = told((await tx.rows<Told>(SEE(true), [memberId, listId]))[0]);
      const all = told((await tx.rows<Told>(LIST_CHANGED, [listId]))[0]);
      return tellAll(unassigned, lost, all);
    },

    /** A member's new role (not the owner's: a transfer does that). */
    async setRole(tx: Executor, listId: number, memberId: string, role: 'editor' | 'viewer'): Promise<TellList> {
      await tx.rows('update list_members set role = $3 where list_id = $1 and user_id = $2', [listId, memberId, role]);
      return told((await tx.rows<Told>(LIST_CHANGED, [listId]))[0]);
    },

    /** Lists `userId` owns. */
    owned: async (tx: Executor, userId: string) => (await tx.rows<{ n: number }>('select count(*)::int as n from lists where owner_id = $1', [userId]))[0]?.n ?? 0,

    /**
     * The list goes to `memberId`; the old owner `ownerId` becomes an editor. The tasks of the list
     * count for the new owner's MAX_TASKS_PER_USER from now on.
     */
    async transfer(tx: Executor, listId: number, ownerId: string, memberId: string): Promise<TellList> {
      await tx.rows("update list_members set role = 'editor' where list_id = $1 and user_id = $2", [listId, ownerId]);
      await tx.rows("update list_members set role = 'owner' where list_id = $1 and user_id = $2", [listId, memberId]);
      await tx.rows('update lists set owner_id = $2 where id = $1', [listId, memberId]);
      await tx.rows(
        'with n as (select count(*)::int as c from tasks where list_id = $1) ' +
          'update user_changes u set task_count = greatest(0, u.task_count + case when u.user_id = $3 then n.c else -n.c end) from n where u.user_id in ($2, $3)',
        [listId, ownerId, memberId],
      );
      return told((await tx.rows<Told>(LIST_CHANGED, [listId]))[0]);
    },

    /** The list's members: the owner first, then by when they joined. */
    members: (exec: Executor, listId: number) =>
      exec.rows<Member>(
        "select m.user_id, m.role, p.name, p.email, m.joined_at from list_members m left join user_profiles p on p.user_id = m.user_id where m.list_id = $1 order by (m.role <> 'owner'), m.joined_at, m.user_id",
        [listId],
      ),
  };
}

export type SharingRepository = ReturnType<typeof createSharingRepository>;

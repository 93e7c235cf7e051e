import type { TSchema } from 'typebox';

/**
 * What a user's feed records (feed_entries): entities of registered kinds. sync/ knows partitions
 * (a user's feed) and sequences; each resource registers how its entries are read and sent, so sync
 * imports nothing of any resource. A kind's `id` is stored: never reuse or renumber one.
 */
export interface FeedKind {
  /** Stored in feed_entries.kind. */
  readonly id: number;
  /** The key of the entity in an upsert entry: `{type, [name]: {...}}`. */
  readonly name: string;
  /** Entry types: what `/changes` and the event stream call an upsert and a deletion of this kind. */
  readonly upsert: string;
  readonly remove: string;
  /** SQL that selects the entity's API fields (those of `fields`) from its table, aliased `e`. */
  readonly select: string;
  /** The entity's id column in that SQL (compared with feed_entries.entity_id). */
  readonly idColumn: string;
  /** The fields sent, in order: the keys of `schema`. */
  readonly fields: readonly string[];
  /** Those of them that are timestamps, selected as PostgreSQL's text (sent as `YYYY-MM-DDTHH:MM:SS.mmmZ`). */
  readonly timestamps: readonly string[];
  /** The entity's named schema, for the OpenAPI document of the entries. */
  readonly schema: TSchema;
  /**
   * For an entity whose fields depend on who reads it (a list: the reader's role, their own
   * `position`): SQL as `select`, `user` being the SQL of the feed's user; used instead of `select`.
   */
  readonly selectFor?: (user: string) => string;
  /**
   * The word of `include=` (/changes, /events) that asks for this kind's entries; a kind without one
   * is always sent (tasks: what a version-2 client gets).
   */
  readonly include?: string;
  /** The names of its entries' schemas in the document (default: version 2's `ChangeUpsert`, `ChangeDelete`). */
  readonly entryNames?: readonly [upsert: string, remove: string];
}

/** SQL of the fan-out, for a write's statement (see docs/ARCHITECTURE.md, "The feed"). */
export const feedSql = {
  /**
   * CTE `fan_m`: the counter rows of every member of the list `listSql`, locked in user_id order (so
   * that two writes to lists with members in common never wait on each other in a cycle); `owner`
   * says which member owns the list. Then `fan_s`: each member's next sequence number.
   * `extraSet` adds assignments to the counter update (`fan_m.owner` may be used). `step`: how
   * many numbers the write takes in each member's feed (one per entity it changes); `fan_s.seq` is
   * the last of them.
   */
  fanOut(listSql: string, condition = 'true', extraSet = '', step = '1'): string {
    return (
      // The owner is the member whose role is owner (one per list): no join of lists.
      `fan_m as (select u.user_id, u.task_count, (fm.role = 'owner') as owner from list_members fm ` +
      `join user_changes u on u.user_id = fm.user_id ` +
      `where fm.list_id = (${listSql}) order by u.user_id for update of u), ` +
      `fan_s as (update user_changes u set seq = u.seq + ${step}${extraSet} from fan_m where u.user_id = fan_m.user_id and ${condition} ` +
      'returning u.user_id, u.seq, fan_m.owner)'
    );
  },
  /**
   * CTE `fan_s` as fanOut makes it, for the single-statement writes of a list's tasks that check
   * nothing more than the owner's task count (a create, creates of a batch, a PUT of plain
   * fields): the counters are locked and moved on by the function feed_advance (migration 0022),
   * in statements of their own, so that a write that waited for another is not run a second time
   * whole (EvalPlanQual), and the members are those once the counters are held (a member who
   * joined meanwhile is told too). `count`: tasks added to the owner's count, at most `max` in
   * all (no row, nothing written, beyond it); `step` as fanOut's.
   */
  advance(listSql: string, count = '0', max = '0', step = '1'): string {
    return `fan_s as (select * from feed_advance((${listSql}), ${step}, ${count}, ${max}))`;
  },
  /**
   * CTEs `fan_m` and `fan_s` for a change only one user sees (a member's own order of their lists):
   * that user's counter row alone, locked, and their next sequence number.
   */
  fanOutTo(userSql: string): string {
    return (
      `fan_m as (select u.user_id, u.task_count, true as owner from user_changes u where u.user_id = ${userSql} for update), ` +
      'fan_s as (update user_changes u set seq = u.seq + 1 from fan_m where u.user_id = fan_m.user_id returning u.user_id, u.seq, fan_m.owner)'
    );
  },
  /**
   * CTE `fan_f`: the entity (`entity`, a CTE with an `id`) recorded in each member's feed, at `seq`
   * (SQL over `fan_s` and `entity`; a write of several entities numbers them from its step).
   */
  record(kind: FeedKind, entity: string, deleted: boolean, seq = 'fan_s.seq'): string {
    return (
      `fan_f as (insert into feed_entries (user_id, kind, entity_id, seq, deleted) select fan_s.user_id, ${kind.id}, ${entity}.id, ${seq}, ${deleted} from fan_s, ${entity} ` +
      'on conflict (user_id, kind, entity_id) do update set seq = excluded.seq, deleted = excluded.deleted, changed_at = now())'
    );
  },
  /** Columns of a write's result: who was told (the members) and at which sequence number each. */
  told: 'array(select user_id from fan_s order by user_id) as told_users, array(select seq from fan_s order by user_id) as told_seqs',
};

/** The members told of a write, and the sequence number of the change in each one's feed. */
export interface Told {
  told_users: string[];
  told_seqs: (number | string)[];
}

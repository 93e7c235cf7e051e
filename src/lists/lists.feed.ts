import type { FeedKind } from '../feed/feed.js';
import { ListSchema } from './lists.schemas.js';

const FIELDS = Object.keys(ListSchema.properties);

/**
 * A list as `user` (SQL: a column or a parameter) sees it: their role, their own position, is_default
 * only for the owner's own Inbox. `source` is the lists table or a CTE of its rows; `textTimes`
 * selects the timestamps as PostgreSQL's text (the feed reads them back itself).
 */
export function listViewSql(user: string, options: { textTimes?: boolean } = {}): string {
  const time = (c: string) => (options.textTimes ? `l.${c}::text as ${c}` : `l.${c}`);
  return (
    'select l.id, l.name, (l.is_default and l.owner_id = m.user_id) as is_default, l.owner_id, m.role, m.position, ' +
    '(select count(*)::int from tasks t where t.list_id = l.id and not t.completed) as open_count, ' +
    '(select count(*)::int from list_members c where c.list_id = l.id) as member_count, ' +
    `l.version, ${time('created_at')}, ${time('updated_at')} ` +
    `from lists l join list_members m on m.list_id = l.id and m.user_id = ${user}`
  );
}

/**
 * Lists in the users' feeds, for clients that ask with `include=lists`: `{type: "list_upsert", list}`
 * (as that member sees it) and `{type: "list_delete", id}`. Each member has their own entry: a
 * change of the list's name or members is one for every member, a member's position theirs alone.
 */
export const LIST_FEED: FeedKind = {
  id: 2,
  name: 'list',
  upsert: 'list_upsert',
  remove: 'list_delete',
  select: listViewSql('null'),
  selectFor: (user) => listViewSql(user, { textTimes: true }),
  idColumn: 'l.id',
  fields: FIELDS,
  timestamps: ['created_at', 'updated_at'],
  schema: ListSchema,
  include: 'lists',
  entryNames: ['ListUpsert', 'ListDelete'],
};

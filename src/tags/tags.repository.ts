import type { Database } from '../db/client.js';

export interface TagCount {
  name: string;
  count: number;
}

/**
 * Every tag the user's tasks carry, grouped case-insensitively (a task holds each at most once),
 * named as most of its tasks spell it, with how many tasks carry it: most used first, then by name.
 */
const TAG_COUNTS = `
  with spellings as (
    select lower(t) as key, t as spelling, count(*)::int as n
    from tasks, unnest(tags) as t
    where user_id = $1
    group by 1, 2
  )
  select (array_agg(spelling order by n desc, spelling))[1] as name, sum(n)::int as count
  from spellings
  group by key
  order by count desc, name`;

export function createTagsRepository(database: Pick<Database, 'rows'>) {
  return {
    counts: (userId: string) => database.rows<TagCount>(TAG_COUNTS, [userId], { budgeted: true }),
  };
}

export type TagsRepository = ReturnType<typeof createTagsRepository>;

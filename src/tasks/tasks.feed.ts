import type { FeedKind } from '../feed/feed.js';
import { TaskSchema } from './tasks.schemas.js';

const FIELDS = Object.keys(TaskSchema.properties);
const TIMESTAMPS = FIELDS.filter((f) => f.endsWith('_at'));

/** Tasks in the users' feeds (src/sync/feed.ts): `{type: "upsert", task}` and `{type: "delete", id}`. */
export const TASK_FEED: FeedKind = {
  id: 1,
  name: 'task',
  upsert: 'upsert',
  remove: 'delete',
  // Timestamps as PostgreSQL's text, which the feed reads back exactly as every other route does.
  select: `select ${FIELDS.map((f) => (TIMESTAMPS.includes(f) ? `${f}::text as ${f}` : f)).join(', ')} from tasks`,
  idColumn: 'id',
  fields: FIELDS,
  timestamps: TIMESTAMPS,
  schema: TaskSchema,
};

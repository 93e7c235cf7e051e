import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preValidationHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '../errors.js';
import type { TaskRow } from '../db/schema.js';
import { AUTHED, errorResponses } from '../http/errors.js';
import { ItemParamsSchema, UserParamsSchema } from '../http/params.js';
import { ref } from '../http/refs.js';
import { Envelope } from '../http/envelope.js';
import { IdempotentReplayedHeader, LinkHeader } from '../http/headers.js';
import { ETagHeader, IdempotencyHeaders, IfMatchHeaders, IfNoneMatchHeaders, noneMatch, versionsMatched, versionTag } from '../http/conditional.js';
import type { Executor } from '../db/client.js';
import { send, type Idempotent, type Outcome } from '../sync/idempotency.js';
import { instantIso } from '../lib/instant.js';
import { KeyedLimit, type ReadLimits } from '../lib/keyed-limit.js';
import type { ListCache } from './list-cache.js';
import { decodeCursor, encodeCursor, queryHash } from './tasks.cursor.js';
import type { ListSpec } from './tasks.query.js';
import {
  ListQuerySchema,
  PAGE_MAX,
  STATUS_WORDS,
  type ListQuery,
  type Priority,
  type SortField,
  TaskCompletionSchema,
  TaskCreateSchema,
  TaskListEnvelopeSchema,
  TaskSchema,
  TaskUpdateSchema,
} from './tasks.schemas.js';
import type { TasksRepository, VersionMatch, WrittenRow } from './tasks.repository.js';

export interface TasksRoutesOptions {
  repository: TasksRepository;
  /** Most tasks a list without `limit` returns; a longer one says where to go on (Link). */
  maxTasksPerList: number;
  maxTasksPerUser: number;
  /** Runs a write with Idempotency-Key semantics (src/sync/idempotency.ts). */
  idempotent: Idempotent;
  /** The user's change counter (lists' ETags) and what to do after a committed change (wake streams). */
  changes: { current(userId: string): Promise<number>; changed(userId: string, seq: number): void };
  /** Serialized lists, validated against the change counter (LIST_CACHE_MB; off at 0). */
  listCache: ListCache;
  /** A user's reads in flight at once (shared with the other read routes). */
  reads: ReadLimits;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** src/lib/keyed-limit.ts: 2 keeps the next write ready in PostgreSQL, without a crowd waiting on the lock. */
const WRITES_IN_FLIGHT_PER_USER = 2;
/** How long closing waits for writes in flight (the server's own shutdown bound is 10 s). */
const SHUTDOWN_WAIT_MS = 8000;

/** The page size of a request that sends a cursor but no limit. */
const PAGE_DEFAULT = 50;

export const TASK_NOT_FOUND = 'Task not found';

const tags = ['tasks'];
const security = [{ bearerAuth: [] }];

/** Tags as stored: trimmed, duplicates that differ only in case collapsed to the first spelling, order kept. */
function normalizeTags(tags: unknown[]): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const tag of tags) {
    if (typeof tag !== 'string') {
      out.push(tag); // left for validation to refuse
      continue;
    }
    const trimmed = tag.trim();
    const key = trimmed.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(trimmed);
  }
  return out;
}

/**
 * Titles and tags count after trimming (and tags after collapsing duplicates): normalizing before
 * validation lets the schema's limits apply to what is stored.
 */
const normalizeBody: preValidationHookHandler = async (request) => {
  const body = request.body as { title?: unknown; tags?: unknown } | undefined;
  if (body === null || typeof body !== 'object') return;
  if (typeof body.title === 'string') body.title = body.title.trim();
  if (Array.isArray(body.tags)) body.tags = normalizeTags(body.tags);
};

/** `q` taken literally: LIKE's own characters match themselves. */
const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const unique = <T>(values: readonly T[]) => [...new Set(values)];

/**
 * The list query as the repository takes it, the hash its cursors carry, and whether it is paged.
 * Exported for bench/explain.ts, which EXPLAINs the queries this makes.
 */
export function listSpec(userId: string, query: ListQuery, maxPerList: number): { spec: ListSpec; hash: string; paged: boolean } {
  const status = STATUS_WORDS[query.status ?? query.filter ?? 'all'];
  const sort = query.sort ?? '-created_at';
  const field = sort.replace(/^-/, '') as SortField;
  const priorities = query.priority ? (unique(query.priority.flatMap((p) => p.split(','))).sort() as Priority[]) : undefined;
  const tags = query.tag ? unique(query.tag.map((t) => t.trim()).filter((t) => t !== '')) : undefined;
  const instant = (v: string | undefined) => (v === undefined ? undefined : instantIso(v));
  const [dueBefore, dueAfter] = [instant(query.due_before), instant(query.due_after)];
  const hash = queryHash({
    status,
    q: query.q,
    priorities,
    tags: tags ? unique(tags.map((t) => t.toLowerCase())).sort() : undefined,
    dueBefore,
    dueAfter,
    sort,
  });
  const paged = query.limit !== undefined || query.cursor !== undefined;
  return {
    hash,
    paged,
    spec: {
      userId,
      filters: {
        completed: status === 'all' ? undefined : status === 'completed',
        like: query.q === undefined ? undefined : likePattern(query.q),
        priorities,
        tags: tags && tags.length > 0 ? tags : undefined,
        dueBefore,
        dueAfter,
      },
      sort: { field, direction: sort.startsWith('-') ? 'desc' : 'asc' },
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor, hash, field),
      limit: query.limit ?? (paged ? PAGE_DEFAULT : maxPerList),
    },
  };
}

/** The Link of the next page: this request's own query, with the next cursor (and a page size). */
function nextLink(request: FastifyRequest, cursor: string, limit: number | undefined): string {
  const [path, search = ''] = request.url.split('?', 2) as [string, string?];
  const params = new URLSearchParams(search);
  params.delete('cursor');
  if (limit !== undefined) params.set('limit', String(limit));
  params.set('cursor', cursor);
  return `<${path}?${params.toString()}>; rel="next"`;
}

function found(task: TaskRow | null): TaskRow {
  if (task === null) throw new ApiError('NOT_FOUND', TASK_NOT_FOUND);
  return task;
}

const completedMessage = (task: TaskRow) => (task.completed ? 'Task marked as completed' : 'Task marked as pending');

/** One task in the envelope, with the route's own message as the example, and its ETag. */
const one = (message: string, description: string) => ({ ...Envelope(ref(TaskSchema), message), description, headers: WRITTEN_HEADERS });
const WRITTEN_HEADERS = { ETag: ETagHeader, 'Idempotent-Replayed': IdempotentReplayedHeader };

const NOT_MODIFIED = { 304: { description: 'Not modified: If-None-Match still matches; no body', type: 'null' } };

/** A written task as an answer: status, envelope, ETag; `seq` tells the streams (not sent). */
function written(status: number, row: WrittenRow, message: string): Outcome & { seq: number } {
  return { status, body: { data: row, message }, headers: { etag: versionTag(row.version) }, seq: Number(row.change_seq) };
}

/** A list's ETag: the user's change counter and the query, so it changes with any change and differs between queries. */
function listTag(seq: number, url: string): string {
  return `"l${seq}.${createHash('sha1').update(url).digest('base64url').slice(0, 12)}"`;
}

/** The six task routes, under /api/:user_id/tasks. Thin: the SQL is in the repository. */
export const tasksRoutes: FastifyPluginAsync<TasksRoutesOptions> = async (fastify, options) => {
  const { repository, maxTasksPerList, maxTasksPerUser, idempotent, changes, listCache, reads } = options;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  /** A user's writes in flight at once from this process (they serialise in PostgreSQL anyway). */
  const writesPerUser = new KeyedLimit(WRITES_IN_FLIGHT_PER_USER);
  // Writes still running or waiting their turn: on close they finish before the pool closes (a
  // client that went away stops waiting for its answer, not the write it sent).
  const running = new Set<Promise<unknown>>();
  fastify.addHook('onClose', async () => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...running]), new Promise((r) => (timer = setTimeout(r, SHUTDOWN_WAIT_MS)))]);
    clearTimeout(timer);
  });

  /** A write that matched nothing: 412 with the current ETag if the task exists (If-Match), else 404. */
  async function unmatched(userId: string, id: number, match: VersionMatch | undefined, exec: Executor): Promise<never> {
    if (match !== undefined) {
      const version = await repository.version(userId, id, exec);
      if (version !== null) {
        throw new ApiError('PRECONDITION_FAILED', `The task has changed since the version in If-Match (it is now at version ${version})`, { etag: versionTag(version) });
      }
    }
    throw new ApiError('NOT_FOUND', TASK_NOT_FOUND);
  }

  /** Runs a write (with Idempotency-Key if sent), answers it, then wakes the user's streams. */
  async function answer(request: FastifyRequest, reply: FastifyReply, write: (exec: Executor) => Promise<Outcome & { seq?: number }>) {
    const userId = request.userId as string;
    const done = writesPerUser.run(userId, () => idempotent(request, write));
    running.add(done);
    const outcome: Outcome & { seq?: number } = await done.finally(() => running.delete(done));
    if (outcome.seq !== undefined) changes.changed(userId, outcome.seq);
    return send(reply, outcome);
  }

  app.get(
    '/',
    {
      schema: {
        operationId: 'listTasks',
        tags,
        security,
        summary: "List the user's tasks: filtered, sorted, in pages",
        description:
          'Newest first unless `sort` says otherwise; the filters combine with AND. With `limit` or `cursor` the answer is one ' +
          'page and carries `next_cursor` (and a `Link: <...>; rel="next"` header while there is a next page). Without them ' +
          `it holds at most ${maxTasksPerList} tasks, and a Link header says where the rest starts. The ETag changes with any ` +
          'change of the user\'s tasks: poll with If-None-Match and get 304 while nothing changed.',
        params: UserParamsSchema,
        querystring: ListQuerySchema,
        headers: IfNoneMatchHeaders,
        response: {
          200: { ...TaskListEnvelopeSchema, headers: { ETag: ETagHeader, Link: LinkHeader } },
          ...NOT_MODIFIED,
          ...errorResponses(400, ...AUTHED),
        },
      },
    },
    async (request, reply) => {
      const userId = request.userId as string;
      const ifNoneMatch = request.headers['if-none-match'];
      // A poll, or a list that may be cached: the counter first (one primary-key lookup). Unchanged
      // since the client's copy: 304. Unchanged since a cached answer: that answer, as it is.
      if (ifNoneMatch !== undefined || listCache.enabled) {
        const current = await reads.run(userId, () => changes.current(userId));
        const etag = listTag(current, request.url);
        if (ifNoneMatch !== undefined && noneMatch(ifNoneMatch, etag)) return reply.header('etag', etag).code(304).send();
        const cached = listCache.get(request.url, current);
        if (cached !== undefined) {
          reply.header('etag', etag).type(JSON_TYPE);
          if (cached.link !== undefined) reply.header('link', cached.link);
          return reply.send(cached.body);
        }
      }
      const { spec, hash, paged } = listSpec(userId, request.query, maxTasksPerList);
      // A q shorter than a trigram: no index narrows it, every task of the user is read.
      const costly = request.query.q !== undefined && [...request.query.q].length < 3;
      const { rows, seq } = await reads.run(userId, () => repository.list({ ...spec, limit: spec.limit + 1 }), costly);
      reply.header('etag', listTag(seq, request.url));
      const more = rows.length > spec.limit;
      if (more) rows.length = spec.limit;
      const last = rows.at(-1);
      const next = more && last ? encodeCursor(hash, last.sort_key, last.id) : null;
      const link = next === null ? undefined : nextLink(request, next, paged ? undefined : PAGE_MAX);
      if (link !== undefined) reply.header('link', link);
      const payload = paged ? { data: rows, message: 'Tasks retrieved successfully', next_cursor: next } : { data: rows, message: 'Tasks retrieved successfully' };
      if (!listCache.enabled) return payload;
      const body = reply.serialize(payload) as string;
      listCache.set(request.url, { seq, body, link });
      return reply.type(JSON_TYPE).send(body);
    },
  );

  app.post(
    '/',
    {
      preValidation: normalizeBody,
      schema: {
        operationId: 'createTask',
        tags,
        security,
        summary: 'Create a task',
        description: `A user keeps at most ${maxTasksPerUser} tasks (403 TASK_LIMIT_REACHED beyond). With Idempotency-Key a retried create makes one task.`,
        params: UserParamsSchema,
        headers: IdempotencyHeaders,
        body: ref(TaskCreateSchema),
        response: { 201: one('Task created successfully', 'The task as stored'), ...errorResponses(400, 409, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) =>
      answer(request, reply, async (exec) => {
        const row = await repository.create(request.userId as string, request.body, exec);
        if (row === null) {
          throw new ApiError('TASK_LIMIT_REACHED', `You keep ${maxTasksPerUser} tasks, the most allowed: delete some to create more`);
        }
        return written(201, row, 'Task created successfully');
      }),
  );

  app.get(
    '/:id',
    {
      schema: {
        operationId: 'getTask',
        tags,
        security,
        summary: 'Get one task',
        params: ItemParamsSchema,
        headers: IfNoneMatchHeaders,
        response: { 200: one('Task retrieved successfully', 'The task'), ...NOT_MODIFIED, ...errorResponses(400, 404, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const userId = request.userId as string;
      const data = found(await reads.run(userId, () => repository.get(userId, request.params.id)));
      const etag = versionTag(data.version);
      reply.header('etag', etag);
      if (noneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return { data, message: 'Task retrieved successfully' };
    },
  );

  app.put(
    '/:id',
    {
      preValidation: normalizeBody,
      schema: {
        operationId: 'updateTask',
        tags,
        security,
        summary: "Change any of a task's writable fields",
        description: 'With If-Match: only if the task is still at that version (else 412, nothing changes).',
        params: ItemParamsSchema,
        headers: IfMatchHeaders,
        body: ref(TaskUpdateSchema),
        response: { 200: one('Task updated successfully', 'The task as changed'), ...errorResponses(400, 404, 409, 412, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const userId = request.userId as string;
      const match = versionsMatched(request.headers['if-match']);
      return answer(request, reply, async (exec) => {
        // The validated body holds only writable fields (validation dropped the rest): it goes on as is.
        const row = await repository.update(userId, request.params.id, request.body, match, exec);
        if (row === null) return unmatched(userId, request.params.id, match, exec);
        return written(200, row, 'Task updated successfully');
      });
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        operationId: 'deleteTask',
        tags,
        security,
        summary: 'Delete a task; answers the deleted task',
        description: 'With If-Match: only if the task is still at that version (else 412, nothing changes).',
        params: ItemParamsSchema,
        headers: IfMatchHeaders,
        response: { 200: one('Task deleted successfully', 'The task as it was'), ...errorResponses(400, 404, 409, 412, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const userId = request.userId as string;
      const match = versionsMatched(request.headers['if-match']);
      return answer(request, reply, async (exec) => {
        const row = await repository.remove(userId, request.params.id, match, exec);
        if (row === null) return unmatched(userId, request.params.id, match, exec);
        return written(200, row, 'Task deleted successfully');
      });
    },
  );

  app.patch(
    '/:id/complete',
    {
      schema: {
        operationId: 'completeTask',
        tags,
        security,
        summary: 'Toggle completion (no body), or set it ({"completed": bool})',
        description: 'Setting is safe to retry as it is; a toggle is safe to retry with Idempotency-Key. With If-Match: only at that version.',
        params: ItemParamsSchema,
        headers: IfMatchHeaders,
        body: ref(TaskCompletionSchema),
        response: {
          200: one('Task marked as completed', 'The task; the message says which state it is in'),
          ...errorResponses(400, 404, 409, 412, 413, 415, 422, ...AUTHED),
        },
      },
    },
    async (request, reply) => {
      const userId = request.userId as string;
      const id = request.params.id;
      const completed = request.body?.completed;
      const match = versionsMatched(request.headers['if-match']);
      return answer(request, reply, async (exec) => {
        const row =
          completed === undefined ? await repository.toggle(userId, id, match, exec) : await repository.update(userId, id, { completed }, match, exec);
        if (row === null) return unmatched(userId, id, match, exec);
        return written(200, row, completedMessage(row));
      });
    },
  );
};

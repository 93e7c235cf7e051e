import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest, preValidationHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '../errors.js';
import type { TaskRow } from '../db/schema.js';
import { AUTHED, errorResponses } from '../http/errors.js';
import { ID_MAX, ItemParamsSchema, UserParamsSchema } from '../http/params.js';
import { ref } from '../http/refs.js';
import { Envelope } from '../http/envelope.js';
import { Type } from 'typebox';
import { IdempotentReplayedHeader, LinkHeader } from '../http/headers.js';
import { ETagHeader, IdempotencyHeaders, IfMatchHeaders, IfNoneMatchHeaders, noneMatch, versionsMatched, versionTag } from '../http/conditional.js';
import type { AccessScope } from '../access/scope.js';
import type { WritePipeline } from '../writes/pipeline.js';
import { instantIso } from '../lib/instant.js';
import type { ReadLimits } from '../lib/keyed-limit.js';
import type { PageCache } from './page-cache.js';
import { decodeCursor, encodeCursor, queryHash } from './tasks.cursor.js';
import type { PageSpec } from './tasks.query.js';
import {
  PageQuerySchema,
  PAGE_MAX,
  STATUS_WORDS,
  type PageQuery,
  type Priority,
  type SortField,
  TaskCompletionSchema,
  TaskCompletionRecordSchema,
  TaskCreateSchema,
  TaskMoveSchema,
  TaskPageEnvelopeSchema,
  TaskSchema,
  TaskUpdateSchema,
} from './tasks.schemas.js';
import type { TasksRepository } from './tasks.repository.js';
import type { TaskTree } from './tasks.tree.js';
import type { Database } from '../db/client.js';
import { batchRoutes } from './tasks.batch.js';
import { createTaskWrites, normalizeTaskBody, LIST_NOT_FOUND, TASK_NOT_FOUND } from './tasks.writes.js';

export interface TasksRoutesOptions {
  repository: TasksRepository;
  /** The writes that change a task's place or more than one task (tasks.tree.ts). */
  tree: TaskTree;
  /** Most tasks a list without `limit` returns; a longer one says where to go on (Link). */
  maxTasksPerPage: number;
  maxTasksPerUser: number;
  /** How every write runs (src/writes/pipeline.ts). */
  pipeline: WritePipeline;
  /** The user's change counter (pages' ETags). */
  changes: { current(userId: string): Promise<number> };
  /** Serialized pages, validated against the change counter (LIST_CACHE_MB; off at 0). */
  pageCache: PageCache;
  /** A user's reads in flight at once (shared with the other read routes). */
  reads: ReadLimits;
  /** For the one transaction of an atomic batch (tasks.batch.ts). */
  database: Pick<Database, 'transaction'>;
  /** The body limit of POST /tasks/batch. */
  batchBodyLimit: number;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** The page size of a request that sends a cursor but no limit. */
const PAGE_DEFAULT = 50;


const CompletionsQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_MAX, description: `Page size, 1 to ${PAGE_MAX}`, examples: [50] })),
  cursor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 40,
      pattern: '^[A-Za-z0-9_-]+$',
      'x-error-message': 'is not a cursor of this API (take next_cursor of the previous page)',
      description: 'Opaque: next_cursor of the previous page',
    }),
  ),
});

/** The completion before which a page of completions starts. */
function readCompletionCursor(cursor: string): number {
  const m = /^c([1-9][0-9]{0,17})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (m === null) throw new ApiError('VALIDATION_ERROR', 'cursor is not a cursor of this API (take next_cursor of the previous page)');
  return Number(m[1]);
}

const tags = ['tasks'];
const security = [{ bearerAuth: [] }];

/** Titles and tags count after trimming (tasks.writes.ts, normalizeTaskBody). */
const normalizeBody: preValidationHookHandler = async (request) => normalizeTaskBody(request.body);

/** `q` taken literally: LIKE's own characters match themselves. */
const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const unique = <T>(values: readonly T[]) => [...new Set(values)];

/**
 * The page query as the repository takes it, the hash its cursors carry, and whether it is paged.
 * Exported for bench/explain.ts, which EXPLAINs the queries this makes.
 */
export function pageSpec(scope: AccessScope, query: PageQuery, maxPerPage: number): { spec: PageSpec; hash: string; paged: boolean } {
  const status = STATUS_WORDS[query.status ?? query.filter ?? 'all'];
  const sort = query.sort ?? '-created_at';
  const field = sort.replace(/^-/, '') as SortField;
  const priorities = query.priority ? (unique(query.priority.flatMap((p) => p.split(','))).sort() as Priority[]) : undefined;
  const tags = query.tag ? unique(query.tag.map((t) => t.trim()).filter((t) => t !== '')) : undefined;
  const instant = (v: string | undefined) => (v === undefined ? undefined : instantIso(v));
  const [dueBefore, dueAfter] = [instant(query.due_before), instant(query.due_after)];
  const parentId = query.parent_id === undefined ? undefined : query.parent_id === 'none' ? null : Number(query.parent_id);
  if (parentId !== undefined && parentId !== null && parentId > ID_MAX) throw new ApiError('VALIDATION_ERROR', `parent_id must be a task id or none`);
  const placement = {
    ...(query.list_id === undefined ? {} : { listId: query.list_id }),
    ...(parentId === undefined ? {} : { parentId }),
    ...(query.uid === undefined ? {} : { uid: query.uid }),
    ...(query.assignee_id === undefined ? {} : { assigneeId: query.assignee_id }),
  };
  const hash = queryHash({
    status,
    q: query.q,
    priorities,
    tags: tags ? unique(tags.map((t) => t.toLowerCase())).sort() : undefined,
    dueBefore,
    dueAfter,
    sort,
    ...placement,
  });
  const paged = query.limit !== undefined || query.cursor !== undefined;
  return {
    hash,
    paged,
    spec: {
      scope,
      filters: {
        completed: status === 'all' ? undefined : status === 'completed',
        like: query.q === undefined ? undefined : likePattern(query.q),
        priorities,
        tags: tags && tags.length > 0 ? tags : undefined,
        dueBefore,
        dueAfter,
        ...placement,
      },
      sort: { field, direction: sort.startsWith('-') ? 'desc' : 'asc' },
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor, hash, field),
      limit: query.limit ?? (paged ? PAGE_DEFAULT : maxPerPage),
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

/** One task in the envelope, with the route's own message as the example, and its ETag. */
const one = (message: string, description: string) => ({ ...Envelope(ref(TaskSchema), message), description, headers: WRITTEN_HEADERS });
const WRITTEN_HEADERS = { ETag: ETagHeader, 'Idempotent-Replayed': IdempotentReplayedHeader };

const NOT_MODIFIED = { 304: { description: 'Not modified: If-None-Match still matches; no body', type: 'null' } };

/** A page's ETag: the user's change counter and the query, so it changes with any change and differs between queries. */
function pageTag(seq: number, url: string): string {
  return `"l${seq}.${createHash('sha1').update(url).digest('base64url').slice(0, 12)}"`;
}

/** The six task routes, under /api/:user_id/tasks. Thin: the SQL is in the repository. */
export const tasksRoutes: FastifyPluginAsync<TasksRoutesOptions> = async (fastify, options) => {
  const { repository, tree, maxTasksPerPage, maxTasksPerUser, pipeline, changes, pageCache, reads, database, batchBodyLimit } = options;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const writes = createTaskWrites({ repository, tree, maxTasksPerUser });
  // POST /batch: each operation through the same writes (tasks.batch.ts).
  await fastify.register(batchRoutes, { writes, repository, pipeline, database, bodyLimit: batchBodyLimit });
  const answer = pipeline.answer;

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
          `it holds at most ${maxTasksPerPage} tasks, and a Link header says where the rest starts. The ETag changes with any ` +
          'change of the user\'s tasks: poll with If-None-Match and get 304 while nothing changed.',
        params: UserParamsSchema,
        querystring: PageQuerySchema,
        headers: IfNoneMatchHeaders,
        response: {
          200: { ...TaskPageEnvelopeSchema, headers: { ETag: ETagHeader, Link: LinkHeader } },
          ...NOT_MODIFIED,
          ...errorResponses(400, 404, ...AUTHED),
        },
      },
    },
    async (request, reply) => {
      const userId = request.userId as string;
      const ifNoneMatch = request.headers['if-none-match'];
      // A poll, or a list that may be cached: the counter first (one primary-key lookup). Unchanged
      // since the client's copy: 304. Unchanged since a cached answer: that answer, as it is.
      if (ifNoneMatch !== undefined || pageCache.enabled) {
        const current = await reads.run(userId, () => changes.current(userId));
        const etag = pageTag(current, request.url);
        if (ifNoneMatch !== undefined && noneMatch(ifNoneMatch, etag)) return reply.header('etag', etag).code(304).send();
        const cached = pageCache.get(request.url, current);
        if (cached !== undefined) {
          reply.header('etag', etag).type(JSON_TYPE);
          if (cached.link !== undefined) reply.header('link', cached.link);
          return reply.send(cached.body);
        }
      }
      const { spec, hash, paged } = pageSpec(request.scope, request.query, maxTasksPerPage);
      // A q shorter than a trigram: no index narrows it, every task of the caller's lists is read.
      const costly = request.query.q !== undefined && [...request.query.q].length < 3;
      const { rows, seq, member } = await reads.run(userId, () => repository.page({ ...spec, limit: spec.limit + 1 }), costly);
      if (!member) throw new ApiError('NOT_FOUND', LIST_NOT_FOUND);
      reply.header('etag', pageTag(seq, request.url));
      const more = rows.length > spec.limit;
      if (more) rows.length = spec.limit;
      const last = rows.at(-1);
      const next = more && last ? encodeCursor(hash, last.sort_key, last.id) : null;
      const link = next === null ? undefined : nextLink(request, next, paged ? undefined : PAGE_MAX);
      if (link !== undefined) reply.header('link', link);
      const payload = paged ? { data: rows, message: 'Tasks retrieved successfully', next_cursor: next } : { data: rows, message: 'Tasks retrieved successfully' };
      if (!pageCache.enabled) return payload;
      const body = reply.serialize(payload) as string;
      pageCache.set(request.url, { seq, body, link });
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
        description:
          `In the caller's Inbox unless list_id names another of their lists (404 if not a member, 403 for a viewer). The lists a user owns hold at most ${maxTasksPerUser} tasks ` +
          '(403 TASK_LIMIT_REACHED beyond). A uid in use is 409 CONFLICT. parent_id makes a subtask (same list, at most 5 levels). With Idempotency-Key a retried create makes one task.',
        params: UserParamsSchema,
        headers: IdempotencyHeaders,
        body: ref(TaskCreateSchema),
        response: { 201: one('Task created successfully', 'The task as stored'), ...errorResponses(400, 404, 409, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      writes.checkCreate(request.body);
      return answer(request, reply, (exec) => writes.create(request.scope, request.body, exec));
    },
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
      const data = found(await reads.run(userId, () => repository.get(request.scope, request.params.id)));
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
        description:
          'With If-Match: only if the task is still at that version (else 412, nothing changes). completed: true completes the pending descendants, false reopens the ' +
          'completed ancestors; list_id moves the task with its subtree (write access to both lists); uid is immutable.',
        params: ItemParamsSchema,
        headers: IfMatchHeaders,
        body: ref(TaskUpdateSchema),
        response: { 200: one('Task updated successfully', 'The task as changed'), ...errorResponses(400, 404, 409, 412, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const match = versionsMatched(request.headers['if-match']);
      writes.checkUpdate(request.body);
      return answer(request, reply, (exec) => writes.update(request.scope, request.params.id, request.body, match, exec));
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        operationId: 'deleteTask',
        tags,
        security,
        summary: 'Delete a task (with its subtasks); answers the deleted task',
        description: 'Its descendants are deleted with it, each a deletion of its own in the feed. With If-Match: only if the task is still at that version (else 412, nothing changes).',
        params: ItemParamsSchema,
        headers: IfMatchHeaders,
        response: { 200: one('Task deleted successfully', 'The task as it was'), ...errorResponses(400, 404, 409, 412, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const match = versionsMatched(request.headers['if-match']);
      // With its descendants (tasks.tree.ts).
      return answer(request, reply, (exec) => writes.remove(request.scope, request.params.id, match, exec));
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
        description:
          'Setting is safe to retry as it is; a toggle is safe to retry with Idempotency-Key. With If-Match: only at that version. Completing completes the pending ' +
          'descendants; reopening reopens the completed ancestors (each its own change).',
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
      const match = versionsMatched(request.headers['if-match']);
      return answer(request, reply, (exec) => writes.complete(request.scope, request.params.id, request.body, match, exec));
    },
  );

  app.post(
    '/:id/move',
    {
      schema: {
        operationId: 'moveTask',
        tags,
        security,
        summary: 'Place a task: after or before a sibling, first among its siblings, under another parent, in another list',
        description:
          'The server computes `position` (fractional-indexing) between the neighbours: right after `after_id`, right before `before_id`, between ' +
          'both when both are given, first among the siblings when neither. `list_id` moves the task with its subtree (write access to both lists; ' +
          'a subtask moved to another list must name `parent_id`); `parent_id` puts it under another task of the list (or at the top level with null). ' +
          'With If-Match: only at that version.',
        params: ItemParamsSchema,
        headers: IfMatchHeaders,
        body: ref(TaskMoveSchema),
        response: { 200: one('Task moved successfully', 'The task, placed'), ...errorResponses(400, 404, 409, 412, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const match = versionsMatched(request.headers['if-match']);
      return answer(request, reply, (exec) => writes.move(request.scope, request.params.id, request.body, match, exec));
    },
  );

  app.post(
    '/:id/skip',
    {
      schema: {
        operationId: 'skipTask',
        tags,
        security,
        summary: "Skip a recurring task's occurrence",
        description:
          'Moves due_at to the first occurrence after both the old due_at and now, without recording a completion (it counts for COUNT). 400 if the task does not ' +
          'recur; 409 CONFLICT when its series has no next occurrence. With If-Match: only at that version.',
        params: ItemParamsSchema,
        headers: IfMatchHeaders,
        response: { 200: one('Task skipped successfully', 'The task at its next occurrence'), ...errorResponses(400, 404, 409, 412, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const match = versionsMatched(request.headers['if-match']);
      return answer(request, reply, (exec) => writes.skip(request.scope, request.params.id, match, exec));
    },
  );

  app.get(
    '/:id/completions',
    {
      schema: {
        operationId: 'listTaskCompletions',
        tags,
        security,
        summary: "A recurring task's completions, newest first, in pages",
        description: `limit: 1 to ${PAGE_MAX} (default ${PAGE_DEFAULT}); next_cursor: the cursor of the next page, null on the last.`,
        params: ItemParamsSchema,
        querystring: CompletionsQuerySchema,
        response: {
          200: Type.Object({
            data: Type.Array(ref(TaskCompletionRecordSchema)),
            message: Type.String({ examples: ['Completions retrieved successfully'] }),
            next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' }),
          }),
          ...errorResponses(400, 404, ...AUTHED),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? PAGE_DEFAULT;
      const cursor = request.query.cursor;
      const before = cursor === undefined ? null : readCompletionCursor(cursor);
      const userId = request.userId as string;
      const rows = await reads.run(userId, () => repository.completions(request.scope, request.params.id, limit, before));
      if (rows === null) throw new ApiError('NOT_FOUND', TASK_NOT_FOUND);
      const more = rows.length > limit;
      if (more) rows.length = limit;
      const last = rows.at(-1);
      return {
        data: rows.map(({ occurrence_due_at, completed_at, completed_by }) => ({ occurrence_due_at, completed_at, completed_by })),
        message: 'Completions retrieved successfully',
        next_cursor: more && last ? Buffer.from(`c${last.id}`).toString('base64url') : null,
      };
    },
  );
};

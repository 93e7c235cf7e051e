import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest, preValidationHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '../errors.js';
import type { TaskRow } from '../db/schema.js';
import { AUTHED, errorResponses } from '../http/errors.js';
import { ID_MAX, ItemParamsSchema, UserParamsSchema } from '../http/params.js';
import { ref } from '../http/refs.js';
import { Envelope } from '../http/envelope.js';
import { Type, type Static } from 'typebox';
import { IdempotentReplayedHeader, LinkHeader } from '../http/headers.js';
import { ETagHeader, IdempotencyHeaders, IfMatchHeaders, IfNoneMatchHeaders, noneMatch, versionsMatched, versionTag } from '../http/conditional.js';
import { leastRoleFor } from '../access/roles.js';
import type { AccessScope } from '../access/scope.js';
import type { Executor } from '../db/client.js';
import type { WritePipeline, Written } from '../writes/pipeline.js';
import { instantIso } from '../lib/instant.js';
import type { ReadLimits } from '../lib/keyed-limit.js';
import type { PageCache } from './page-cache.js';
import { checkRecurrenceFields, checkRecurrenceNeedsDue } from './recurrence.js';
import { checkReminders, checkRemindersNeedDue, hasRelative } from './reminders.js';
import { decodeCursor, encodeCursor, queryHash } from './tasks.cursor.js';
import type { PageSpec } from './tasks.query.js';
import {
  PageQuerySchema,
  LEVELS_MAX,
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
import type { TasksRepository, VersionMatch, WrittenRow } from './tasks.repository.js';
import { recurred, type TaskTree } from './tasks.tree.js';
import { isPositionKey } from './positions.js';
import { allows, type Role } from '../access/roles.js';

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
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** The page size of a request that sends a cursor but no limit. */
const PAGE_DEFAULT = 50;

export const TASK_NOT_FOUND = 'Task not found';
export const LIST_NOT_FOUND = 'List not found';

/** A position the package could not have made is a 400 naming it (before anything runs). */
function checkPosition(position: string | undefined): void {
  if (position !== undefined && !isPositionKey(position)) {
    throw new ApiError('VALIDATION_ERROR', 'position must be a fractional-indexing key (base 62), as generateKeyBetween of the npm package fractional-indexing makes them');
  }
}

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

/** The fields of a PUT that go through the tree's writes (tasks.tree.ts) rather than one UPDATE. */
const TREE_FIELDS = ['completed', 'list_id', 'parent_id', 'position', 'assignee_id', 'uid'] as const;

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

/** A recurring task completed stays pending at its next occurrence: still "completed" (tasks.tree.ts, recurred). */
const completedMessage = (task: TaskRow) => (task.completed || recurred.has(task) ? 'Task marked as completed' : 'Task marked as pending');

/** One task in the envelope, with the route's own message as the example, and its ETag. */
const one = (message: string, description: string) => ({ ...Envelope(ref(TaskSchema), message), description, headers: WRITTEN_HEADERS });
const WRITTEN_HEADERS = { ETag: ETagHeader, 'Idempotent-Replayed': IdempotentReplayedHeader };

const NOT_MODIFIED = { 304: { description: 'Not modified: If-None-Match still matches; no body', type: 'null' } };

/** A written task as an answer: status, envelope, ETag, and whom to tell (each member, at the change's number in their feed). */
function written(status: number, row: WrittenRow, message: string): Written {
  const { told_users: users, told_seqs: seqs, ...task } = row;
  return { status, body: { data: task, message }, headers: { etag: versionTag(row.version) }, told: users.map((u, i) => [u, Number(seqs[i])]) };
}

/** A page's ETag: the user's change counter and the query, so it changes with any change and differs between queries. */
function pageTag(seq: number, url: string): string {
  return `"l${seq}.${createHash('sha1').update(url).digest('base64url').slice(0, 12)}"`;
}

/** The six task routes, under /api/:user_id/tasks. Thin: the SQL is in the repository. */
export const tasksRoutes: FastifyPluginAsync<TasksRoutesOptions> = async (fastify, options) => {
  const { repository, tree, maxTasksPerPage, maxTasksPerUser, pipeline, changes, pageCache, reads } = options;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  /**
   * A write that matched nothing: a task the caller cannot see is a 404; one they may only read, a 403
   * naming the role it needs; one at another version than If-Match's, a 412 with the current ETag.
   */
  async function unmatched(scope: AccessScope, id: number, match: VersionMatch | undefined, exec: Executor): Promise<never> {
    const found = await repository.unmatched(scope, id, exec);
    if (found === null) throw new ApiError('NOT_FOUND', TASK_NOT_FOUND);
    if (!found.mayWrite) throw new ApiError('FORBIDDEN', `Changing this list's tasks needs the ${leastRoleFor('task.write')} role`);
    if (match !== undefined) {
      throw new ApiError('PRECONDITION_FAILED', `The task has changed since the version in If-Match (it is now at version ${found.version})`, {
        etag: versionTag(found.version),
      });
    }
    throw new ApiError('NOT_FOUND', TASK_NOT_FOUND);
  }

  const answer = pipeline.answer;

  /** Why a create wrote nothing, checked in the contract's order: the list, the role, the fields, the uid, the limit. */
  async function createRefused(scope: AccessScope, body: Static<typeof TaskCreateSchema>, exec: Executor): Promise<never> {
    const why = await repository.createRefusal(scope, body, exec);
    if (why.role === null) throw new ApiError('NOT_FOUND', LIST_NOT_FOUND);
    if (!allows(why.role as Role, 'task.write')) throw new ApiError('FORBIDDEN', `Adding tasks to this list needs the ${leastRoleFor('task.write')} role`);
    if (body.parent_id != null && why.parent_level === 0) throw new ApiError('VALIDATION_ERROR', 'parent_id must be a task of the same list');
    if (body.parent_id != null && why.parent_level >= LEVELS_MAX) {
      throw new ApiError('VALIDATION_ERROR', `parent_id would make more than ${LEVELS_MAX} levels of subtasks`);
    }
    if (!why.assignee_ok) throw new ApiError('VALIDATION_ERROR', "assignee_id must be null or a member of the task's list");
    if (why.uid_taken) throw new ApiError('CONFLICT', 'uid is already in use by another task: choose another (nothing was created)');
    throw new ApiError('TASK_LIMIT_REACHED', `The list's owner keeps ${maxTasksPerUser} tasks, the most allowed: delete some to create more`);
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
      checkPosition(request.body.position);
      checkRecurrenceFields(request.body);
      checkRecurrenceNeedsDue(request.body.recurrence, request.body.due_at);
      checkReminders(request.body.reminders);
      checkRemindersNeedDue(request.body.reminders, request.body.due_at);
      return answer(request, reply, async (exec) => {
        // A subtask: the list's writes are held first (tasks.tree.ts), so its parent cannot move or go meanwhile.
        const row =
          request.body.parent_id != null
            ? await tree.locked(request.scope, request.body.list_id ?? request.scope.inboxId, exec, (tx) => repository.create(request.scope, request.body, tx))
            : await repository.create(request.scope, request.body, exec);
        if (row === null) return createRefused(request.scope, request.body, exec);
        return written(201, row, 'Task created successfully');
      });
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
      checkPosition(request.body.position);
      checkRecurrenceFields(request.body);
      const body = request.body;
      checkReminders(body.reminders);
      // A rule or a relative reminder set, or due_at cleared: checked against the task as it is, under its lock (both need a due_at).
      const recurrenceChecked = body.recurrence != null || body.due_at === null || hasRelative(body.reminders);
      return answer(request, reply, async (exec) => {
        // A change of completion or of the task's place: with what follows from it (tasks.tree.ts).
        if (recurrenceChecked || TREE_FIELDS.some((f) => body[f] !== undefined)) {
          return written(200, await tree.update(request.scope, request.params.id, { changes: body }, match, exec), 'Task updated successfully');
        }
        // The validated body holds only writable fields (validation dropped the rest): it goes on as is.
        for (let attempt = 0; ; attempt++) {
          const row = await repository.update(request.scope, request.params.id, request.body, match, exec);
          if (row !== null) return written(200, row, 'Task updated successfully');
          // Moved to another list of the caller's while the statement ran (its list check failed under
          // the row lock): still theirs to write, at a version If-Match accepts, so it runs again.
          const now = attempt < 3 ? await repository.unmatched(request.scope, request.params.id, exec) : null;
          const accepted = now !== null && now.mayWrite && (match === undefined || 'any' in match || match.versions.includes(now.version));
          if (!accepted) return unmatched(request.scope, request.params.id, match, exec);
        }
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
      return answer(request, reply, async (exec) => written(200, await tree.remove(request.scope, request.params.id, match, exec), 'Task deleted successfully'));
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
      const id = request.params.id;
      const completed = request.body?.completed;
      const occurrence = request.body?.occurrence;
      const match = versionsMatched(request.headers['if-match']);
      return answer(request, reply, async (exec) => {
        // Completing completes the pending descendants; reopening reopens the completed ancestors (tasks.tree.ts).
        const change = completed === undefined ? { changes: {}, toggle: true } : { changes: { completed } };
        const row = await tree.update(request.scope, id, occurrence === undefined ? change : { ...change, occurrence }, match, exec);
        return written(200, row, completedMessage(row));
      });
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
      const { list_id, parent_id, after_id, before_id } = request.body;
      const changes = { ...(list_id === undefined ? {} : { list_id }), ...(parent_id === undefined ? {} : { parent_id }) };
      return answer(request, reply, async (exec) =>
        written(200, await tree.update(request.scope, request.params.id, { changes, place: { after_id, before_id } }, match, exec), 'Task moved successfully'),
      );
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
      return answer(request, reply, async (exec) => written(200, await tree.skip(request.scope, request.params.id, match, exec), 'Task skipped successfully'));
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

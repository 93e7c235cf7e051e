import type { FastifyPluginAsync, FastifyRequest, preValidationHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '../errors.js';
import type { TaskRow } from '../db/schema.js';
import { AUTHED, errorResponses } from '../http/errors.js';
import { ItemParamsSchema, UserParamsSchema } from '../http/params.js';
import { ref } from '../http/refs.js';
import { Envelope } from '../http/envelope.js';
import { LinkHeader } from '../http/headers.js';
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
import type { TasksRepository } from './tasks.repository.js';

export interface TasksRoutesOptions {
  repository: TasksRepository;
  /** Most tasks a list without `limit` returns; a longer one says where to go on (Link). */
  maxTasksPerList: number;
}

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

/** The list query as the repository takes it, the hash its cursors carry, and whether it is paged. */
function listSpec(userId: string, query: ListQuery, maxPerList: number): { spec: ListSpec; hash: string; paged: boolean } {
  const status = STATUS_WORDS[query.status ?? query.filter ?? 'all'];
  const sort = query.sort ?? '-created_at';
  const field = sort.replace(/^-/, '') as SortField;
  const priorities = query.priority ? (unique(query.priority.flatMap((p) => p.split(','))).sort() as Priority[]) : undefined;
  const tags = query.tag ? unique(query.tag.map((t) => t.trim()).filter((t) => t !== '')) : undefined;
  const instant = (v: string | undefined) => (v === undefined ? undefined : new Date(v).toISOString());
  const hash = queryHash({
    status,
    q: query.q,
    priorities,
    tags: tags ? unique(tags.map((t) => t.toLowerCase())).sort() : undefined,
    dueBefore: instant(query.due_before),
    dueAfter: instant(query.due_after),
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
        dueBefore: instant(query.due_before),
        dueAfter: instant(query.due_after),
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

/** One task in the envelope, with the route's own message as the example. */
const one = (message: string, description: string) => ({ ...Envelope(ref(TaskSchema), message), description });

/** The six task routes, under /api/:user_id/tasks. Thin: the SQL is in the repository. */
export const tasksRoutes: FastifyPluginAsync<TasksRoutesOptions> = async (fastify, { repository, maxTasksPerList }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

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
          `it holds at most ${maxTasksPerList} tasks, and a Link header says where the rest starts.`,
        params: UserParamsSchema,
        querystring: ListQuerySchema,
        response: {
          200: { ...TaskListEnvelopeSchema, headers: { Link: LinkHeader } },
          ...errorResponses(400, ...AUTHED),
        },
      },
    },
    async (request, reply) => {
      const { spec, hash, paged } = listSpec(request.userId as string, request.query, maxTasksPerList);
      const rows = await repository.list({ ...spec, limit: spec.limit + 1 });
      const more = rows.length > spec.limit;
      if (more) rows.length = spec.limit;
      const last = rows.at(-1);
      const next = more && last ? encodeCursor(hash, last.sort_key, last.id) : null;
      if (next !== null) reply.header('link', nextLink(request, next, paged ? undefined : PAGE_MAX));
      return paged ? { data: rows, message: 'Tasks retrieved successfully', next_cursor: next } : { data: rows, message: 'Tasks retrieved successfully' };
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
        params: UserParamsSchema,
        body: ref(TaskCreateSchema),
        response: { 201: one('Task created successfully', 'The task as stored'), ...errorResponses(400, 413, 415, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const data = await repository.create(request.userId as string, request.body);
      return reply.code(201).send({ data, message: 'Task created successfully' });
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
        response: { 200: one('Task retrieved successfully', 'The task'), ...errorResponses(400, 404, ...AUTHED) },
      },
    },
    async (request) => {
      const data = found(await repository.get(request.userId as string, request.params.id));
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
        summary: 'Change any of a task\'s writable fields',
        params: ItemParamsSchema,
        body: ref(TaskUpdateSchema),
        response: { 200: one('Task updated successfully', 'The task as changed'), ...errorResponses(400, 404, 413, 415, ...AUTHED) },
      },
    },
    async (request) => {
      // The validated body holds only writable fields (validation dropped the rest): it goes on as is.
      const data = found(await repository.update(request.userId as string, request.params.id, request.body));
      return { data, message: 'Task updated successfully' };
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
        params: ItemParamsSchema,
        response: { 200: one('Task deleted successfully', 'The task as it was'), ...errorResponses(400, 404, ...AUTHED) },
      },
    },
    async (request) => {
      const data = found(await repository.remove(request.userId as string, request.params.id));
      return { data, message: 'Task deleted successfully' };
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
        params: ItemParamsSchema,
        body: ref(TaskCompletionSchema),
        response: { 200: one('Task marked as completed', 'The task; the message says which state it is in'), ...errorResponses(400, 404, 413, 415, ...AUTHED) },
      },
    },
    async (request) => {
      const userId = request.userId as string;
      const completed = request.body?.completed;
      const data = found(
        completed === undefined
          ? await repository.toggle(userId, request.params.id)
          : await repository.update(userId, request.params.id, { completed }),
      );
      return { data, message: completedMessage(data) };
    },
  );
};

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '../errors.js';
import { ETagHeader, IdempotencyHeaders, versionTag } from '../http/conditional.js';
import { Envelope } from '../http/envelope.js';
import { AUTHED, errorResponses } from '../http/errors.js';
import { IdempotentReplayedHeader } from '../http/headers.js';
import { ID_MAX, UserParamsSchema } from '../http/params.js';
import { ref } from '../http/refs.js';
import { isPosition } from '../lib/instant.js';
import type { ReadLimits } from '../lib/keyed-limit.js';
import { TaskSchema } from '../tasks/tasks.schemas.js';
import type { WritePipeline } from '../writes/pipeline.js';
import { TRASH_NOT_FOUND, type TrashRepository } from './trash.repository.js';
import {
  TRASH_PAGE_DEFAULT,
  TrashEmptiedEnvelopeSchema,
  TrashEntryEnvelopeSchema,
  TrashPageEnvelopeSchema,
  TrashParamsSchema,
  TrashQuerySchema,
  TrashedTaskSchema,
} from './trash.schemas.js';

export interface TrashRoutesOptions {
  repository: TrashRepository;
  pipeline: WritePipeline;
  reads: ReadLimits;
  /** How often this instance purges what is older than TRASH_RETENTION_DAYS (ms; SYNC_PURGE_INTERVAL_MS). */
  purgeIntervalMs: number;
}

const tags = ['trash'];
const security = [{ bearerAuth: [] }];
const notFound = () => new ApiError('NOT_FOUND', TRASH_NOT_FOUND);
const badCursor = () => new ApiError('VALIDATION_ERROR', 'cursor is not a cursor of this API (take next_cursor of the previous page)');

/** A page cursor: `base64url(JSON [deleted_at, id])` of the page's last entry. */
const encode = (deletedAt: string, id: number) => Buffer.from(JSON.stringify([deletedAt, id])).toString('base64url');
function decode(cursor: string): { deleted_at: string; id: number } {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  if (!Array.isArray(parts) || parts.length !== 2) throw badCursor();
  const [at, id] = parts as [unknown, unknown];
  if (typeof at !== 'string' || !isPosition(at) || typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > ID_MAX) throw badCursor();
  return { deleted_at: at, id };
}

/**
 * The trash (API.md, version 3, "Trash"), under /api/:user_id/trash. The SQL, and who may see and
 * restore what, are in trash.repository.ts. Each instance purges expired entries every
 * `purgeIntervalMs`; until then they are not shown either.
 */
export const trashRoutes: FastifyPluginAsync<TrashRoutesOptions> = async (fastify, { repository, pipeline, reads, purgeIntervalMs }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const purge = () => void repository.purgeExpired().catch(() => {});
  const purger = setInterval(purge, purgeIntervalMs);
  purger.unref();
  app.addHook('onClose', async () => clearInterval(purger));

  app.get(
    '/',
    {
      schema: {
        operationId: 'listTrash',
        tags,
        security,
        summary: "The caller's trash: the tasks they may restore, newest first, in pages",
        description:
          'Tasks deleted from lists where the caller is owner or editor, and those of the lists the caller deleted (only they see those), each with ' +
          '`deleted_at`. A task deleted with its parent has no entry of its own: it comes back with it. `next_cursor` says where the next page starts.',
        params: UserParamsSchema,
        querystring: TrashQuerySchema,
        response: { 200: TrashPageEnvelopeSchema, ...errorResponses(400, ...AUTHED) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? TRASH_PAGE_DEFAULT;
      const after = request.query.cursor === undefined ? null : decode(request.query.cursor);
      const rows = await reads.run(request.scope.userId, () => repository.page(request.scope, after, limit + 1));
      const more = rows.length > limit;
      if (more) rows.length = limit;
      const last = rows.at(-1);
      return { data: rows, message: 'Trash retrieved successfully', next_cursor: more && last !== undefined ? encode(last.deleted_at, last.id) : null };
    },
  );

  app.delete(
    '/',
    {
      schema: {
        operationId: 'emptyTrash',
        tags,
        security,
        summary: 'Empty the trash: purges every task the caller may restore',
        description: 'Each entry goes with its subtree, for good. Entries the caller may not restore stay.',
        params: UserParamsSchema,
        headers: IdempotencyHeaders,
        response: { 200: { ...TrashEmptiedEnvelopeSchema, headers: { 'Idempotent-Replayed': IdempotentReplayedHeader } }, ...errorResponses(409, 422, ...AUTHED) },
      },
    },
    async (request, reply) =>
      pipeline.answer(request, reply, async (exec) => ({
        status: 200,
        body: { data: { purged: await repository.purgeAll(request.scope, exec) }, message: 'Trash emptied successfully' },
      })),
  );

  app.get(
    '/:id',
    {
      schema: {
        operationId: 'getTrashedTask',
        tags,
        security,
        summary: 'One entry of the trash',
        description: 'A task deleted with its parent, or one the caller may not restore, is 404.',
        params: TrashParamsSchema,
        response: { 200: TrashEntryEnvelopeSchema, ...errorResponses(400, 404, ...AUTHED) },
      },
    },
    async (request) => {
      const entry = await repository.get(request.scope, request.params.id);
      if (entry === null) throw notFound();
      return { data: entry, message: 'Trashed task retrieved successfully' };
    },
  );

  app.post(
    '/:id/restore',
    {
      schema: {
        operationId: 'restoreTask',
        tags,
        security,
        summary: 'Restore a task (with the subtree deleted with it); answers the task',
        description:
          'Back in its list at its old position (same id and uid, version + 1), at the top level if its parent is gone, in the caller\'s Inbox if its ' +
          'list is gone. Each restored task is an `upsert` in the feed. 403 TASK_LIMIT_REACHED beyond MAX_TASKS_PER_USER; 409 when its uid is in use meanwhile.',
        params: TrashParamsSchema,
        headers: IdempotencyHeaders,
        response: {
          200: { ...Envelope(ref(TaskSchema), 'Task restored successfully'), description: 'The task, restored', headers: { ETag: ETagHeader, 'Idempotent-Replayed': IdempotentReplayedHeader } },
          ...errorResponses(400, 404, 409, 422, ...AUTHED),
        },
      },
    },
    async (request, reply) =>
      pipeline.answer(request, reply, async (exec) => {
        const { told_users: users, told_seqs: seqs, ...task } = await repository.restore(request.scope, request.params.id, exec);
        return {
          status: 200,
          body: { data: task, message: 'Task restored successfully' },
          headers: { etag: versionTag(task.version) },
          told: users.map((u, i) => [u, Number(seqs[i])] as const),
        };
      }),
  );

  app.delete(
    '/:id',
    {
      schema: {
        operationId: 'purgeTrashedTask',
        tags,
        security,
        summary: 'Purge one entry of the trash (with its subtree); answers it as it was',
        params: TrashParamsSchema,
        headers: IdempotencyHeaders,
        response: {
          200: { ...Envelope(ref(TrashedTaskSchema), 'Task purged successfully'), headers: { 'Idempotent-Replayed': IdempotentReplayedHeader } },
          ...errorResponses(400, 404, 409, 422, ...AUTHED),
        },
      },
    },
    async (request, reply) =>
      pipeline.answer(request, reply, async (exec) => {
        const entry = await repository.get(request.scope, request.params.id, exec);
        if (entry === null || !(await repository.purge(request.scope, request.params.id, exec))) throw notFound();
        return { status: 200, body: { data: entry, message: 'Task purged successfully' } };
      }),
  );
};

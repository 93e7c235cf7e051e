import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '../errors.js';
import type { ReadLimits } from '../lib/keyed-limit.js';
import { AUTHED, errorResponses } from '../http/errors.js';
import { UserParamsSchema } from '../http/params.js';
import { changeJson } from './events.hub.js';
import { decodeSyncCursor, encodeSyncCursor } from './sync.cursor.js';
import { CursorExpired, type SyncRepository } from './sync.repository.js';
import { ChangesEnvelopeSchema, ChangesQuerySchema, includeWords } from './sync.schemas.js';

export interface ChangesRoutesOptions {
  repository: SyncRepository;
  retentionDays: number;
  /** A user's reads in flight at once (shared with the other read routes). */
  reads: ReadLimits;
}

export function cursorExpired(retentionDays: number): ApiError {
  return new ApiError('CURSOR_EXPIRED', `The cursor is older than the deletions kept (${retentionDays} days): start again without since`);
}

/** GET /api/:user_id/tasks/changes: what changed after a cursor, for clients that keep a copy. */
export const changesRoutes: FastifyPluginAsync<ChangesRoutesOptions> = async (fastify, { repository, retentionDays, reads }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/',
    {
      schema: {
        operationId: 'listChanges',
        tags: ['sync'],
        security: [{ bearerAuth: [] }],
        summary: 'What changed since a cursor (or a snapshot of every task)',
        description:
          'Without `since`: every current task as an upsert, and the cursor where the snapshot ends. With `since`: every task ' +
          'created, changed or deleted after it, each once, in the order in which the changes committed; a deleted task is ' +
          '`{type: "delete", id}`. `has_more`: ask again at once with `cursor`. A cursor older than the deletions kept ' +
          `(SYNC_RETENTION_DAYS, ${retentionDays}) is 410 CURSOR_EXPIRED: start again without since. ` +
          '`include=lists` adds the entries of the lists the user is a member of (`list_upsert`, `list_delete`); ' +
          'a cursor from an answer with or without it works with either.',
        params: UserParamsSchema,
        querystring: ChangesQuerySchema,
        response: { 200: { ...ChangesEnvelopeSchema, description: 'The changes, in commit order' }, ...errorResponses(400, 410, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const since = request.query.since === undefined ? undefined : decodeSyncCursor(request.query.since, 'since');
      let page;
      try {
        const userId = request.userId as string;
        page = await reads.run(userId, () => repository.changes(userId, since, request.query.limit ?? 500, includeWords(request.query.include)));
      } catch (err) {
        if (err instanceof CursorExpired) throw cursorExpired(retentionDays);
        throw err;
      }
      // The entries are plain JSON already (changeJson); the schema is for the document.
      reply.serializer(JSON.stringify);
      return {
        data: { changes: page.changes.map(changeJson), cursor: encodeSyncCursor(page.seq), has_more: page.hasMore },
        message: 'Changes retrieved successfully',
      };
    },
  );
};

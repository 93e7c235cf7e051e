import type { FastifyPluginAsync } from 'fastify';
import type { ReadLimits } from '../lib/keyed-limit.js';
import { AUTHED, errorResponses } from '../http/errors.js';
import { UserParamsSchema } from '../http/params.js';
import { TagListEnvelopeSchema } from './tags.schemas.js';
import type { TagsRepository } from './tags.repository.js';

export interface TagsRoutesOptions {
  repository: TagsRepository;
  /** A user's reads in flight at once (shared with the other read routes). */
  reads: ReadLimits;
}

/** GET /api/:user_id/tags: the user's tags with their counts. */
export const tagsRoutes: FastifyPluginAsync<TagsRoutesOptions> = async (app, { repository, reads }) => {
  app.get(
    '/',
    {
      schema: {
        operationId: 'listTags',
        tags: ['tags'],
        security: [{ bearerAuth: [] }],
        summary: "The user's tags, most used first",
        description: 'Every tag the user\'s tasks carry (compared case-insensitively), with how many tasks carry it; most used first, then by name.',
        params: UserParamsSchema,
        response: { 200: { ...TagListEnvelopeSchema, description: "The user's tags" }, ...errorResponses(...AUTHED) },
      },
    },
    async (request) => {
      const userId = request.userId as string;
      // Every task of the user is read: a costly read.
      return { data: await reads.run(userId, () => repository.counts(request.scope), true), message: 'Tags retrieved successfully' };
    },
  );
};

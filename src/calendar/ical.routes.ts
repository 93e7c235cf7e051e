import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError, rateLimited } from '../errors.js';
import { errorResponses } from '../http/errors.js';
import { noneMatch } from '../http/conditional.js';
import type { RateLimiter } from '../lib/rate-limiter.js';
import { isSecretShaped, type CalendarRepository } from './calendar.repository.js';
import { renderCalendar, type CalendarTask } from './calendar.ical.js';

export interface IcalRoutesOptions {
  repository: CalendarRepository;
  limiter: RateLimiter | undefined;
}

const NOT_FOUND = 'Calendar feed not found';

/**
 * GET /ical/<secret>.ics, without a token (calendar apps cannot send one): the secret is the key. The
 * caller's address is counted before anything is looked up; a secret not of the shape the API
 * makes costs no query. ETag (the feed's user's change counter, its format) and If-None-Match: a
 * calendar app's poll of an unchanged feed is a 304 after one primary-key lookup.
 */
export const icalRoutes: FastifyPluginAsync<IcalRoutesOptions> = async (fastify, { repository, limiter }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/ical/:file',
    {
      schema: {
        operationId: 'readCalendarFeed',
        tags: ['calendar feeds'],
        summary: 'A calendar feed as iCalendar (RFC 5545), read without a token',
        description: 'The address a calendar feed answers with (`url`). `text/calendar; charset=utf-8`; ETag and If-None-Match (304).',
        params: Type.Object({ file: Type.String({ maxLength: 100, description: '`<secret>.ics`' }) }),
        response: {
          200: { description: 'The calendar', content: { 'text/calendar': { schema: Type.String() } } },
          304: { description: 'Not modified', type: 'null' },
          ...errorResponses(404, 429),
        },
      },
    },
    async (request, reply) => {
      if (limiter !== undefined) {
        const decision = await limiter.consume(`ip:${request.ip}`);
        if (!decision.allowed) throw rateLimited(decision.retryAfter);
      }
      const file = request.params.file;
      const secret = file.endsWith('.ics') ? file.slice(0, -4) : '';
      if (!isSecretShaped(secret)) throw new ApiError('NOT_FOUND', NOT_FOUND);
      const feed = await repository.published(secret);
      if (feed === null || !feed.visible) throw new ApiError('NOT_FOUND', NOT_FOUND);
      const etag = `"ics${feed.id}.${feed.seq}.${feed.format[0]}"`;
      reply.header('etag', etag).header('cache-control', 'private, no-cache');
      if (noneMatch(request.headers['if-none-match'], etag)) return (reply as FastifyReply).code(304).send();
      const tasks = (await repository.tasks(feed)) as unknown as CalendarTask[];
      const body = renderCalendar(tasks, { format: feed.format, name: feed.list_name ?? 'Tasks', host: 'task-api' });
      return reply.type('text/calendar; charset=utf-8').header('content-disposition', 'inline; filename="tasks.ics"').send(body);
    },
  );
};

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError } from '../errors.js';
import { Envelope } from '../http/envelope.js';
import { AUTHED, errorResponses } from '../http/errors.js';
import { IdempotencyHeaders } from '../http/conditional.js';
import { IdempotentReplayedHeader } from '../http/headers.js';
import { ItemParamsSchema, UserParamsSchema } from '../http/params.js';
import { ref } from '../http/refs.js';
import type { WritePipeline } from '../writes/pipeline.js';
import type { CalendarRepository } from './calendar.repository.js';
import { CalendarFeedCreateSchema, CalendarFeedSchema } from './calendar.schemas.js';

/** A write's answer may be a replay (Idempotency-Key). */
const REPLAYED = { headers: { 'Idempotent-Replayed': IdempotentReplayedHeader } };

export interface CalendarRoutesOptions {
  repository: CalendarRepository;
  pipeline: WritePipeline;
  maxFeedsPerUser: number;
}

const tags = ['calendar feeds'];
const security = [{ bearerAuth: [] }];
const FEED_NOT_FOUND = 'Calendar feed not found';

/** /api/:user_id/calendar-feeds: make, list and revoke the addresses calendar apps subscribe to. */
export const calendarRoutes: FastifyPluginAsync<CalendarRoutesOptions> = async (fastify, { repository, pipeline, maxFeedsPerUser }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/',
    {
      schema: {
        operationId: 'createCalendarFeed',
        tags,
        security,
        summary: 'Make a calendar feed (an iCalendar address read without a token)',
        description:
          'Of one list (`list_id`) or of every list the user is a member of (null or absent), as `events` (default: a VEVENT per pending ' +
          'task with a due date, for Google, Apple and Outlook calendars) or `todos` (a VTODO per task, for task clients). A list the ' +
          `user is not a member of is a 404. At most ${maxFeedsPerUser} feeds per user.`,
        params: UserParamsSchema,
        headers: IdempotencyHeaders,
        body: ref(CalendarFeedCreateSchema),
        response: { 201: { ...Envelope(ref(CalendarFeedSchema), 'Calendar feed created successfully'), ...REPLAYED }, ...errorResponses(400, 404, 409, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) =>
      pipeline.answer(request, reply, async (exec) => {
        const made = await repository.create(request.scope, request.body?.list_id ?? null, request.body?.format ?? 'events', exec);
        if (made === 'no_list') throw new ApiError('NOT_FOUND', 'List not found');
        if (made === 'full') throw new ApiError('FORBIDDEN', `You keep ${maxFeedsPerUser} calendar feeds, the most allowed: delete one to make another`);
        return { status: 201, body: { data: made, message: 'Calendar feed created successfully' } };
      }),
  );

  app.get(
    '/',
    {
      schema: {
        operationId: 'listCalendarFeeds',
        tags,
        security,
        summary: "The user's calendar feeds, oldest first",
        params: UserParamsSchema,
        response: { 200: Envelope(Type.Array(ref(CalendarFeedSchema)), 'Calendar feeds retrieved successfully'), ...errorResponses(400, ...AUTHED) },
      },
    },
    async (request) => ({ data: await repository.all(request.scope), message: 'Calendar feeds retrieved successfully' }),
  );

  app.delete(
    '/:id',
    {
      schema: {
        operationId: 'deleteCalendarFeed',
        tags,
        security,
        summary: 'Revoke a calendar feed: its address answers 404 from now on',
        params: ItemParamsSchema,
        headers: IdempotencyHeaders,
        response: { 200: { ...Envelope(ref(CalendarFeedSchema), 'Calendar feed deleted successfully'), ...REPLAYED }, ...errorResponses(400, 404, 409, 422, ...AUTHED) },
      },
    },
    async (request, reply) =>
      pipeline.answer(request, reply, async (exec) => {
        const gone = await repository.remove(request.scope, request.params.id, exec);
        if (gone === null) throw new ApiError('NOT_FOUND', FEED_NOT_FOUND);
        return { status: 200, body: { data: gone, message: 'Calendar feed deleted successfully' } };
      }),
  );
};

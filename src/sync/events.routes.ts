import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError, rateLimited } from '../errors.js';
import { IdempotencyHeaders, LastEventIdHeaders } from '../http/conditional.js';
import { AUTHED, errorResponses } from '../http/errors.js';
import { IdempotentReplayedHeader } from '../http/headers.js';
import { UserParamsSchema } from '../http/params.js';
import { cursorExpired } from './changes.routes.js';
import type { EventHub } from './events.hub.js';
import { send, type Idempotent } from '../writes/idempotency.js';
import { decodeSyncCursor, encodeSyncCursor } from './sync.cursor.js';
import type { SyncRepository } from './sync.repository.js';
import { EventsQuerySchema, includeWords, TicketEnvelopeSchema } from './sync.schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route also takes `?ticket=` (an event-stream ticket) instead of the Authorization header. */
    ticket?: boolean;
  }
}

const instanceFull = () =>
  new ApiError('SERVICE_UNAVAILABLE', 'Too many event streams on this instance; try again shortly', { 'retry-after': '5' });

export interface EventsRoutesOptions {
  repository: SyncRepository;
  hub: EventHub;
  idempotent: Idempotent;
  retentionDays: number;
  ticketTtlMs: number;
}

/**
 * The live event stream (Server-Sent Events) and its tickets, under /api/:user_id/tasks/events.
 * A stream starts with `retry:` and a `ready` event whose id is the cursor it starts from; then
 * every change after that cursor (the replay, on a resume), then each change as it commits.
 */
export const eventsRoutes: FastifyPluginAsync<EventsRoutesOptions> = async (fastify, options) => {
  const { repository, hub, idempotent, retentionDays, ticketTtlMs } = options;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/ticket',
    {
      schema: {
        operationId: 'createEventTicket',
        tags: ['sync'],
        security: [{ bearerAuth: [] }],
        summary: 'A ticket for the event stream (EventSource cannot send headers)',
        description: `Valid once, within ${Math.round(ticketTtlMs / 1000)} s, for this user only, on any instance: GET .../tasks/events?ticket=<ticket>.`,
        params: UserParamsSchema,
        headers: IdempotencyHeaders,
        response: {
          201: { ...TicketEnvelopeSchema, description: 'The ticket', headers: { 'Idempotent-Replayed': IdempotentReplayedHeader } },
          ...errorResponses(400, 409, 422, ...AUTHED),
        },
      },
    },
    async (request, reply) =>
      send(
        reply,
        await idempotent(request, async (exec) => {
          const { ticket, expiresAt } = await repository.issueTicket(request.userId as string, ticketTtlMs, exec);
          return { status: 201, body: { data: { ticket, expires_at: expiresAt }, message: 'Ticket created successfully' } };
        }),
      ),
  );

  app.get(
    '/',
    {
      exposeHeadRoute: false,
      config: { ticket: true },
      schema: {
        operationId: 'streamEvents',
        tags: ['sync'],
        security: [{ bearerAuth: [] }, {}],
        summary: 'Live updates: every change of the user\'s tasks as Server-Sent Events',
        description:
          '`text/event-stream`. First `retry: 3000` and an `event: ready` whose `id` is the cursor the stream starts from ' +
          '(`data: {"cursor": ...}`); then one event per change: `id: <cursor>`, `event: upsert` or `delete`, `data:` the ' +
          'change as /changes gives it; a comment at least every 15 s. Resume with `Last-Event-ID` (or `?since=`): every ' +
          'change after it is replayed first, then the stream goes live, with no gap. An expired cursor gives `event: reset` ' +
          'and the stream ends. Authorization: the header, or `?ticket=` from POST .../events/ticket. `include=lists` adds ' +
          'the list entries (`event: list_upsert`, `event: list_delete`).',
        params: UserParamsSchema,
        querystring: EventsQuerySchema,
        headers: LastEventIdHeaders,
        response: {
          200: {
            description: 'The stream (text/event-stream)',
            content: { 'text/event-stream': { schema: { type: 'string', examples: ['retry: 3000\n\nid: czo0Mg\nevent: ready\ndata: {"cursor":"czo0Mg"}\n\n'] } } },
          },
          ...errorResponses(400, ...AUTHED),
        },
      },
    },
    async (request, reply) => {
      const userId = request.userId as string;
      const lastEventId = request.headers['last-event-id'];
      const from =
        typeof lastEventId === 'string' && lastEventId !== ''
          ? decodeSyncCursor(lastEventId, 'Last-Event-ID')
          : request.query.since === undefined
            ? undefined
            : decodeSyncCursor(request.query.since, 'since');
      // The slot is taken before the first await, so that opens arriving together cannot pass the
      // limits together; from here on it is freed when the connection closes, at whatever point.
      const slot = hub.reserve(userId, reply.raw);
      if (slot === 'user') throw rateLimited(5);
      if (slot === 'instance') throw instanceFull();
      let expired: boolean;
      let start: number;
      try {
        expired = from !== undefined && (await repository.expired(userId, from));
        start = from ?? (await repository.current(userId));
      } catch (err) {
        slot.release();
        throw err;
      }
      if (slot.closed) {
        // The client went away meanwhile: nothing to answer. Or the instance is shutting down.
        if (!reply.raw.destroyed) throw instanceFull();
        reply.hijack();
        return;
      }

      reply.hijack();
      const res = reply.raw;
      request.raw.socket.setTimeout(0);
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
        'x-request-id': request.id,
      });
      res.write('retry: 3000\n\n');
      if (expired) {
        slot.release();
        res.end(`event: reset\ndata: ${JSON.stringify({ code: 'CURSOR_EXPIRED', error: cursorExpired(retentionDays).message })}\n\n`);
        return;
      }
      const cursor = encodeSyncCursor(start);
      res.write(`id: ${cursor}\nevent: ready\ndata: ${JSON.stringify({ cursor })}\n\n`);
      slot.open(start, includeWords(request.query.include));
    },
  );
};

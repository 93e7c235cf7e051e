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
import type { WebhooksRepository } from './webhooks.repository.js';
import { DeliverySchema, WebhookCreatedSchema, WebhookCreateSchema, WebhookSchema, WebhookUpdateSchema } from './webhooks.schemas.js';
import { checkTarget } from './webhooks.targets.js';

/** A write's answer may be a replay (Idempotency-Key). */
const REPLAYED = { headers: { 'Idempotent-Replayed': IdempotentReplayedHeader } };

export interface WebhooksRoutesOptions {
  repository: WebhooksRepository;
  pipeline: WritePipeline;
  maxPerUser: number;
  /** WEBHOOKS_ALLOW_PRIVATE: http and private addresses allowed (tests, development). */
  allowPrivate: boolean;
}

const tags = ['webhooks'];
const security = [{ bearerAuth: [] }];
const NOT_FOUND = 'Webhook not found';

/** /api/:user_id/webhooks: a user's webhooks (the deliveries themselves: webhooks.deliver.ts). */
export const webhooksRoutes: FastifyPluginAsync<WebhooksRoutesOptions> = async (fastify, { repository, pipeline, maxPerUser, allowPrivate }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const found = <T>(row: T | null): T => {
    if (row === null) throw new ApiError('NOT_FOUND', NOT_FOUND);
    return row;
  };

  app.post(
    '/',
    {
      schema: {
        operationId: 'createWebhook',
        tags,
        security,
        summary: 'Subscribe an endpoint to events of every list the user is a member of',
        description: `The \`secret\` (Standard Webhooks signing key) is shown only in this answer. At most ${maxPerUser} webhooks per user (403 WEBHOOK_LIMIT_REACHED).`,
        params: UserParamsSchema,
        headers: IdempotencyHeaders,
        body: ref(WebhookCreateSchema),
        response: { 201: { ...Envelope(ref(WebhookCreatedSchema), 'Webhook created successfully'), ...REPLAYED }, ...errorResponses(400, 409, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const url = (await checkTarget(request.body.url, { allowPrivate })).toString();
      return pipeline.answer(request, reply, async (exec) => {
        const made = await repository.create(request.scope, url, request.body.events as string[], exec);
        if (made === null) throw new ApiError('WEBHOOK_LIMIT_REACHED', `You keep ${maxPerUser} webhooks, the most allowed: delete one to make another`);
        return { status: 201, body: { data: made, message: 'Webhook created successfully' } };
      });
    },
  );

  app.get(
    '/',
    {
      schema: {
        operationId: 'listWebhooks',
        tags,
        security,
        summary: "The user's webhooks (without their secrets)",
        params: UserParamsSchema,
        response: { 200: Envelope(Type.Array(ref(WebhookSchema)), 'Webhooks retrieved successfully'), ...errorResponses(400, ...AUTHED) },
      },
    },
    async (request) => ({ data: await repository.all(request.scope), message: 'Webhooks retrieved successfully' }),
  );

  app.get(
    '/:id',
    {
      schema: {
        operationId: 'getWebhook',
        tags,
        security,
        summary: 'One webhook (without its secret)',
        params: ItemParamsSchema,
        response: { 200: Envelope(ref(WebhookSchema), 'Webhook retrieved successfully'), ...errorResponses(400, 404, ...AUTHED) },
      },
    },
    async (request) => ({ data: found(await repository.get(request.scope, request.params.id)), message: 'Webhook retrieved successfully' }),
  );

  app.put(
    '/:id',
    {
      schema: {
        operationId: 'updateWebhook',
        tags,
        security,
        summary: "Change a webhook's url, events, or enable it again",
        params: ItemParamsSchema,
        headers: IdempotencyHeaders,
        body: ref(WebhookUpdateSchema),
        response: { 200: { ...Envelope(ref(WebhookSchema), 'Webhook updated successfully'), ...REPLAYED }, ...errorResponses(400, 404, 409, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const url = request.body.url === undefined ? undefined : (await checkTarget(request.body.url, { allowPrivate })).toString();
      return pipeline.answer(request, reply, async (exec) => {
        const row = found(await repository.update(request.scope, request.params.id, { ...request.body, ...(url === undefined ? {} : { url }) }, exec));
        return { status: 200, body: { data: row, message: 'Webhook updated successfully' } };
      });
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        operationId: 'deleteWebhook',
        tags,
        security,
        summary: 'Delete a webhook: nothing more is delivered to it',
        params: ItemParamsSchema,
        headers: IdempotencyHeaders,
        response: { 200: { ...Envelope(ref(WebhookSchema), 'Webhook deleted successfully'), ...REPLAYED }, ...errorResponses(400, 404, 409, 422, ...AUTHED) },
      },
    },
    async (request, reply) =>
      pipeline.answer(request, reply, async (exec) => {
        const row = found(await repository.remove(request.scope, request.params.id, exec));
        return { status: 200, body: { data: row, message: 'Webhook deleted successfully' } };
      }),
  );

  app.post(
    '/:id/deliveries/:delivery_id/redeliver',
    {
      schema: {
        operationId: 'redeliverWebhookDelivery',
        tags,
        security,
        summary: 'One more counted attempt of a delivery (the same event, the same webhook-id)',
        params: Type.Object({ ...ItemParamsSchema.properties, delivery_id: Type.String({ minLength: 1, maxLength: 100, description: 'The delivery id (its webhook-id)' }) }),
        response: { 202: Envelope(Type.Null(), 'Redelivery scheduled successfully'), ...errorResponses(400, 404, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const done = await repository.redeliver(request.scope, request.params.id, request.params.delivery_id);
      if (!done) throw new ApiError('NOT_FOUND', 'Delivery not found');
      return reply.code(202).send({ data: null, message: 'Redelivery scheduled successfully' });
    },
  );

  app.get(
    '/:id/deliveries',
    {
      schema: {
        operationId: 'listWebhookDeliveries',
        tags,
        security,
        summary: "A webhook's latest 100 deliveries, newest first",
        params: ItemParamsSchema,
        response: { 200: Envelope(Type.Array(ref(DeliverySchema)), 'Deliveries retrieved successfully'), ...errorResponses(400, 404, ...AUTHED) },
      },
    },
    async (request) => ({ data: found(await repository.deliveries(request.scope, request.params.id)), message: 'Deliveries retrieved successfully' }),
  );
};

import { createPublicKey } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import { ApiError } from '../errors.js';
import { IdempotencyHeaders } from '../http/conditional.js';
import { IdempotentReplayedHeader } from '../http/headers.js';
import { AUTHED, errorResponses } from '../http/errors.js';
import { ref } from '../http/refs.js';
import { UserParamsSchema } from '../http/params.js';
import { PrivateAddressError, publicAddresses } from '../lib/public-address.js';
import type { WritePipeline } from '../writes/pipeline.js';
import type { PushRepository } from './push.repository.js';
import {
  PUBLIC_KEY_RETRIEVED,
  PublicKeyEnvelopeSchema,
  PUSH_SUBSCRIPTION_CREATED,
  PUSH_SUBSCRIPTION_DELETED,
  PUSH_SUBSCRIPTION_NOT_FOUND,
  PushSubscriptionBodySchema,
  PushSubscriptionCreatedSchema,
  PushSubscriptionDeletedSchema,
  PushSubscriptionParamsSchema,
} from './push.schemas.js';


const tags = ['push'];
const PUSH_OFF = 'Web Push is not configured on this server (no VAPID keys)';

function invalid(field: string, why: string): ApiError {
  return new ApiError('VALIDATION_ERROR', `${field} ${why}`);
}

/** The browser's P-256 public key: 65 bytes, uncompressed, a point on the curve. */
function checkP256dh(value: string): string {
  const raw = Buffer.from(value, 'base64url');
  let ok = raw.length === 65 && raw[0] === 4;
  if (ok) {
    try {
      createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' });
    } catch {
      ok = false;
    }
  }
  if (!ok) throw invalid('keys.p256dh', 'must be a P-256 public key in base64url (65 bytes), as PushSubscription.toJSON() gives it');
  return raw.toString('base64url');
}

function checkAuth(value: string): string {
  const raw = Buffer.from(value, 'base64url');
  if (raw.length !== 16) throw invalid('keys.auth', 'must be a 16-byte secret in base64url, as PushSubscription.toJSON() gives it');
  return raw.toString('base64url');
}

/**
 * The endpoint: an https URL (http too with PUSH_ALLOW_PRIVATE) whose host resolves to public
 * addresses only (any with PUSH_ALLOW_PRIVATE). Checked again at every delivery (push.delivery.ts).
 * The messages never repeat the URL: its path is the browser's token at the push service.
 */
async function checkEndpoint(value: string, allowPrivate: boolean): Promise<string> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('endpoint', 'must be an https URL');
  }
  const schemeOk = url.protocol === 'https:' || (allowPrivate && url.protocol === 'http:');
  if (!schemeOk) throw invalid('endpoint', 'must be an https URL');
  if (url.username !== '' || url.password !== '') throw invalid('endpoint', 'must not carry a user name or password');
  if (!allowPrivate) {
    try {
      await publicAddresses(url.hostname);
    } catch (err) {
      if (err instanceof PrivateAddressError) throw invalid('endpoint', "must be on a public address: its host resolves to a private, loopback or link-local one");
      throw invalid('endpoint', 'has a host that does not resolve');
    }
  }
  return url.toString();
}

export interface PushRoutesOptions {
  repository: PushRepository;
  pipeline: WritePipeline;
  enabled: boolean;
  allowPrivate: boolean;
  maxPerUser: number;
}

/** Under /api/:user_id/push-subscriptions: a browser subscribes and unsubscribes. */
export const pushSubscriptionRoutes: FastifyPluginAsync<PushRoutesOptions> = async (app, { repository, pipeline, enabled, allowPrivate, maxPerUser }) => {
  const security = [{ bearerAuth: [] }];
  app.post(
    '/',
    {
      schema: {
        operationId: 'createPushSubscription',
        tags,
        security,
        summary: "Subscribe a browser to the user's Web Push messages",
        description:
          "The body is the browser's `PushSubscription.toJSON()` after `pushManager.subscribe({userVisibleOnly: true, applicationServerKey})` with the key of " +
          '`GET /push/public-key`. The endpoint must be https on a public address. The same endpoint again updates its keys and answers the same id. ' +
          `A user keeps at most ${maxPerUser} subscriptions: a new one beyond replaces the oldest. A subscription the push service answers 404 or 410 is removed.`,
        params: UserParamsSchema,
        headers: IdempotencyHeaders,
        body: ref(PushSubscriptionBodySchema),
        response: { 201: { ...PushSubscriptionCreatedSchema, description: 'Subscribed', headers: { 'Idempotent-Replayed': IdempotentReplayedHeader } }, ...errorResponses(400, 409, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      if (!enabled) throw new ApiError('SERVICE_UNAVAILABLE', PUSH_OFF);
      const body = request.body as Static<typeof PushSubscriptionBodySchema>;
      const endpoint = await checkEndpoint(body.endpoint, allowPrivate);
      const p256dh = checkP256dh(body.keys.p256dh);
      const auth = checkAuth(body.keys.auth);
      const expirationTime = body.expirationTime == null ? null : new Date(body.expirationTime).toISOString();
      return pipeline.answer(request, reply, async (exec) => {
        const id = await repository.save(request.userId as string, { endpoint, p256dh, auth, expirationTime }, maxPerUser, exec);
        return { status: 201, body: { data: { id }, message: PUSH_SUBSCRIPTION_CREATED } };
      });
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        operationId: 'deletePushSubscription',
        tags,
        security,
        summary: 'Unsubscribe a browser',
        description: "404 for an id that is not one of the user's subscriptions.",
        params: PushSubscriptionParamsSchema,
        headers: IdempotencyHeaders,
        response: { 200: { ...PushSubscriptionDeletedSchema, description: 'Unsubscribed', headers: { 'Idempotent-Replayed': IdempotentReplayedHeader } }, ...errorResponses(400, 404, 409, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const { id } = request.params as Static<typeof PushSubscriptionParamsSchema>;
      return pipeline.answer(request, reply, async (exec) => {
        if (!(await repository.remove(request.userId as string, id, exec))) throw new ApiError('NOT_FOUND', PUSH_SUBSCRIPTION_NOT_FOUND);
        return { status: 200, body: { data: { id }, message: PUSH_SUBSCRIPTION_DELETED } };
      });
    },
  );
};

/** GET /push/public-key, without a token: what a browser subscribes with. */
export const pushPublicKeyRoutes: FastifyPluginAsync<{ publicKey: string | undefined }> = async (app, { publicKey }) => {
  app.get(
    '/public-key',
    {
      schema: {
        operationId: 'getPushPublicKey',
        tags,
        summary: "The server's VAPID public key, for pushManager.subscribe",
        description: 'No token needed. 503 when the server has no VAPID keys (Web Push off).',
        response: { 200: { ...PublicKeyEnvelopeSchema, description: 'The key' }, ...errorResponses(500, 503) },
      },
    },
    async () => {
      if (publicKey === undefined) throw new ApiError('SERVICE_UNAVAILABLE', PUSH_OFF);
      return { data: { public_key: publicKey }, message: PUBLIC_KEY_RETRIEVED };
    },
  );
};

import { Type, type TSchema } from 'typebox';
import { Envelope } from '../http/envelope.js';
import { ID_MAX, UserId } from '../http/params.js';

/** The longest endpoint taken: push services' URLs are a few hundred characters. */
export const ENDPOINT_MAX = 2048;

const BASE64URL = '^[A-Za-z0-9_-]+={0,2}$';
const EXPIRATION_RULE = 'must be a time in milliseconds since 1970, or null';

/** A browser's `PushSubscription.toJSON()`: what `POST /push-subscriptions` takes. */
export const PushSubscriptionBodySchema = Type.Object(
  {
    endpoint: Type.String({
      minLength: 1,
      maxLength: ENDPOINT_MAX,
      description: "The push service's URL for this browser: https, on a public address. A secret of the user: never sent back",
      examples: ['https://fcm.googleapis.com/fcm/send/dXJ0aGlzIGlzIGFuIGV4YW1wbGU'],
    }),
    expirationTime: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0, maximum: 253_402_300_799_999, 'x-error-message': EXPIRATION_RULE }), Type.Null()], {
        description: 'When the push service drops the subscription (milliseconds since 1970), or null',
        examples: [null],
        'x-error-message': EXPIRATION_RULE,
      }),
    ),
    keys: Type.Object(
      {
        p256dh: Type.String({
          minLength: 80,
          maxLength: 100,
          pattern: BASE64URL,
          description: "The browser's P-256 public key, base64url (65 bytes)",
          examples: ['BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM'],
          'x-error-message': 'must be a P-256 public key in base64url (65 bytes), as PushSubscription.toJSON() gives it',
        }),
        auth: Type.String({
          minLength: 16,
          maxLength: 30,
          pattern: BASE64URL,
          description: "The browser's authentication secret, base64url (16 bytes)",
          examples: ['tBHItJI5svbpez7KI4CCXg'],
          'x-error-message': 'must be a 16-byte secret in base64url, as PushSubscription.toJSON() gives it',
        }),
      },
      { description: "The subscription's keys (RFC 8291)" },
    ),
  },
  {
    $id: 'PushSubscriptionInput',
    title: 'PushSubscriptionInput',
    description: "A browser's PushSubscription.toJSON(): endpoint, expirationTime and keys. Other fields are ignored",
  },
);

export const PushSubscriptionParamsSchema = Type.Object({
  user_id: UserId,
  id: Type.Integer({
    minimum: 1,
    maximum: ID_MAX,
    description: 'Push subscription id, in canonical decimal',
    examples: [3],
    'x-error-message': `must be a positive integer no larger than ${ID_MAX}`,
  }),
});

const SubscriptionId = Type.Object({ id: Type.Integer({ minimum: 1, description: "The subscription's id", examples: [3] }) });

export const PUSH_SUBSCRIPTION_CREATED = 'Push subscription created successfully';
export const PUSH_SUBSCRIPTION_DELETED = 'Push subscription deleted successfully';
export const PUBLIC_KEY_RETRIEVED = 'Public key retrieved successfully';
export const PUSH_SUBSCRIPTION_NOT_FOUND = 'Push subscription not found';

export const PushSubscriptionCreatedSchema = Envelope(SubscriptionId, PUSH_SUBSCRIPTION_CREATED);
export const PushSubscriptionDeletedSchema = Envelope(SubscriptionId, PUSH_SUBSCRIPTION_DELETED);
export const PublicKeyEnvelopeSchema = Envelope(
  Type.Object({
    public_key: Type.String({
      description: "The server's VAPID public key (RFC 8292), base64url: a browser's pushManager.subscribe({applicationServerKey}) takes it",
      examples: ['BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U'],
    }),
  }),
  PUBLIC_KEY_RETRIEVED,
);

export const pushSchemas: TSchema[] = [PushSubscriptionBodySchema];

import { Type, type Static } from 'typebox';

/** The events a webhook may subscribe to (API.md, Version 3, "Webhooks"), or `*` for all. */
export const WEBHOOK_EVENTS = [
  'task.created',
  'task.updated',
  'task.completed',
  'task.deleted',
  'task.restored',
  'task.reminder',
  'list.created',
  'list.updated',
  'list.deleted',
  'member.added',
  'member.updated',
  'member.removed',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const EventName = Type.Union([...WEBHOOK_EVENTS, '*'].map((e) => Type.Literal(e)) as [ReturnType<typeof Type.Literal>], {
  description: 'An event type, or `*` for every one',
  'x-error-message': `must be one of ${WEBHOOK_EVENTS.join(', ')}, or *`,
});

const Url = Type.String({
  minLength: 1,
  maxLength: 2000,
  description: 'Where deliveries are POSTed: https on a public address (unless WEBHOOKS_ALLOW_PRIVATE=true)',
  examples: ['https://example.com/hooks/tasks'],
});
const Events = Type.Array(EventName, { minItems: 1, maxItems: WEBHOOK_EVENTS.length + 1, uniqueItems: true, examples: [['task.created', 'task.completed']] });

export const WebhookSchema = Type.Object(
  {
    id: Type.Integer({ examples: [5] }),
    url: Url,
    events: Events,
    enabled: Type.Boolean({ description: 'false once the endpoint answered 410 (a PUT enables it again)', examples: [true] }),
    created_at: Type.String({ format: 'date-time', examples: ['2026-12-06T10:00:00.000Z'] }),
  },
  { $id: 'Webhook', title: 'Webhook' },
);
export type Webhook = Static<typeof WebhookSchema>;

export const WebhookCreatedSchema = Type.Object(
  {
    id: Type.Integer({ examples: [5] }),
    url: Url,
    events: Events,
    secret: Type.String({ description: 'The signing secret (Standard Webhooks): shown only in this answer', examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] }),
  },
  { $id: 'WebhookCreated', title: 'WebhookCreated' },
);

export const WebhookCreateSchema = Type.Object({ url: Url, events: Events }, { $id: 'WebhookCreate', title: 'WebhookCreate' });
export type WebhookCreate = Static<typeof WebhookCreateSchema>;

export const WebhookUpdateSchema = Type.Object(
  { url: Type.Optional(Url), events: Type.Optional(Events), enabled: Type.Optional(Type.Boolean()) },
  { $id: 'WebhookUpdate', title: 'WebhookUpdate', description: 'Any of the fields; a webhook disabled by a 410 is enabled again by `enabled: true`' },
);
export type WebhookUpdate = Static<typeof WebhookUpdateSchema>;

export const DeliverySchema = Type.Object(
  {
    id: Type.String({ description: 'The `webhook-id` of the event (the same on every attempt)', examples: ['msg_2KWPBgLlAfxdpx2AI54pPJ85f4W'] }),
    type: Type.String({ examples: ['task.completed'] }),
    attempts: Type.Integer({ examples: [1] }),
    last_status: Type.Union([Type.Integer(), Type.Null()], { description: 'The HTTP status of the last attempt; null before one, or when none came (timeout, refused)', examples: [200] }),
    next_attempt_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'null once delivered or failed for good', examples: [null] }),
  },
  { $id: 'WebhookDelivery', title: 'WebhookDelivery' },
);

export const webhookSchemas = [WebhookSchema, WebhookCreatedSchema, WebhookCreateSchema, WebhookUpdateSchema, DeliverySchema];

/**
 * The one way tests reach the API: the project's own client stack (openapi-fetch, typed by the
 * generated `paths` of packages/client) over a `fetch` that goes either to `app.inject` (in
 * process) or to a real server's URL. This file is the only one that knows each route's path.
 *
 * Every call answers what tests assert on: `statusCode`, `headers`, `body` (the raw text) and
 * `json()`. In process that is light-my-request's own answer, exactly as `app.inject` gives it.
 *
 * Bodies and queries are typed by the contract; a test that sends what the contract forbids on
 * purpose (a wrong type, an unknown field, a value out of range) says so with `loose(...)`, and a
 * query may be given as the exact string to send (`'?status=bogus'`) where its spelling matters.
 * Requests no client would send (bad JSON, raw bytes, path tricks) stay raw, with `routes` for
 * their paths.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import createClient from 'openapi-fetch';
import type { operations, paths } from '../../packages/client/src/schema.js';
import { signToken } from './tokens.js';

/** What a call answers: light-my-request's answer in process, the same shape over HTTP. */
export interface ApiReply {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  /** The body as text. */
  body: string;
  payload: string;
  json<T = any>(): T; // eslint-disable-line @typescript-eslint/no-explicit-any -- as light-my-request types it
}

/** Where calls go: an app (or a function giving it, for an app built later) in process, or a server's URL. */
export type Target = FastifyInstance | (() => FastifyInstance) | string;

/** The answer type of a target: light-my-request's own in process. */
export type ReplyOf<T extends Target> = T extends string ? ApiReply : LightMyRequestResponse;

type Headers = Record<string, string>;
type Id = number | string;
type JsonBody<O extends keyof operations> = operations[O] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type Query<O extends keyof operations> = operations[O] extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

declare const looseBrand: unique symbol;
/** A body or query the contract does not allow, sent on purpose. */
export type Loose = { readonly [looseBrand]: true };
/** Marks a value sent on purpose against the contract's types (the server must reject or ignore what is wrong). */
export function loose(value: unknown): Loose {
  return value as Loose;
}

/** The paths of the API, for the requests that must stay raw (and for assertions on `Link` or `Location`). */
export const routes = {
  tasks: (user: string) => `/api/${encodeURIComponent(user)}/tasks`,
  task: (user: string, id: Id) => `${routes.tasks(user)}/${id}`,
  complete: (user: string, id: Id) => `${routes.task(user, id)}/complete`,
  move: (user: string, id: Id) => `${routes.task(user, id)}/move`,
  changes: (user: string) => `${routes.tasks(user)}/changes`,
  events: (user: string) => `${routes.tasks(user)}/events`,
  ticket: (user: string) => `${routes.events(user)}/ticket`,
  tags: (user: string) => `/api/${encodeURIComponent(user)}/tags`,
  lists: (user: string) => `/api/${encodeURIComponent(user)}/lists`,
  list: (user: string, id: Id) => `${routes.lists(user)}/${id}`,
  moveList: (user: string, id: Id) => `${routes.list(user, id)}/move`,
  pushSubscriptions: (user: string) => `/api/${encodeURIComponent(user)}/push-subscriptions`,
  pushSubscription: (user: string, id: Id) => `${routes.pushSubscriptions(user)}/${id}`,
  pushPublicKey: '/push/public-key',
  calendarFeeds: (user: string) => `/api/${encodeURIComponent(user)}/calendar-feeds`,
  trash: (user: string) => `/api/${encodeURIComponent(user)}/trash`,
  health: '/health',
  ready: '/ready',
  openapi: '/openapi.json',
  docs: '/docs',
} as const;

const INJECT_BASE = 'http://inject.invalid';

function headersOf(request: Request): Headers {
  const headers: Headers = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return headers;
}

/** A `fetch` for openapi-fetch that sends to the target, and remembers each answer as tests assert on it. */
function fetcher(target: Target, answers: WeakMap<Response, ApiReply | LightMyRequestResponse>, remoteAddress?: string): typeof fetch {
  if (typeof target === 'string') {
    return async (input, init) => {
      const response = await fetch(input, init);
      const text = await response.clone().text();
      const headers: ApiReply['headers'] = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      const setCookie = response.headers.getSetCookie();
      if (setCookie.length > 0) headers['set-cookie'] = setCookie.length === 1 ? setCookie[0] : setCookie;
      answers.set(response, { statusCode: response.status, headers, body: text, payload: text, json: () => JSON.parse(text) });
      return response;
    };
  }
  const app = typeof target === 'function' ? target : () => target;
  return async (input) => {
    const request = input as Request;
    const url = new URL(request.url);
    const body = request.body === null ? undefined : await request.text();
    const reply = await app().inject({
      method: request.method as 'GET',
      url: `${url.pathname}${url.search}`,
      headers: headersOf(request),
      ...(body === undefined ? {} : { payload: body }),
      ...(remoteAddress === undefined ? {} : { remoteAddress }),
    });
    const headers = new globalThis.Headers();
    for (const [name, value] of Object.entries(reply.headers)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) headers.append(name, String(one));
    }
    const empty = [101, 204, 205, 304].includes(reply.statusCode);
    const response = new Response(empty ? null : new Uint8Array(reply.rawPayload), { status: reply.statusCode, headers });
    answers.set(response, reply);
    return response;
  };
}

export interface ApiOptions {
  /** The bearer token to send; null for none. Default: a valid token of `user`. */
  token?: string | null;
  /** Headers on every call. */
  headers?: Headers;
  /** In process: the client's address as the app sees it (default 127.0.0.1). */
  remoteAddress?: string;
}

/**
 * Calls of the API as `user` (their path, their token unless `token` says otherwise), to `target`.
 * Each call takes the headers of that call last (`{ 'if-match': '"3"' }`, `{ 'idempotency-key': 'k' }`).
 */
export async function api<T extends Target>(target: T, user: string, options: ApiOptions = {}) {
  const answers = new WeakMap<Response, ApiReply | LightMyRequestResponse>();
  const client = createClient<paths>({
    baseUrl: typeof target === 'string' ? target : INJECT_BASE,
    fetch: fetcher(target, answers, options.remoteAddress),
  });
  const token = options.token === undefined ? await signToken(user) : options.token;
  const auth: Headers = token === null ? {} : { authorization: `Bearer ${token}` };
  const common = { ...auth, ...options.headers };
  const path = { user_id: user };
  type Sent = Promise<{ response: Response }>;
  const reply = async (sent: Sent): Promise<ReplyOf<T>> => {
    const { response } = await sent;
    const answer = answers.get(response);
    if (answer === undefined) throw new Error('no answer recorded');
    return answer as ReplyOf<T>;
  };
  /** A query string sent as given (with or without its `?`), else openapi-fetch's own serializer. */
  const query = (q: object | string | undefined) =>
    typeof q === 'string' ? { querySerializer: () => q.replace(/^\?/, '') } : {};
  const init = (headers: Headers | undefined) => ({ headers: { ...common, ...headers }, parseAs: 'stream' as const });

  return {
    user,
    /** GET .../tasks: a query object, or the exact query string (`'?status=pending&sort=title'`). */
    list: (q?: Query<'listTasks'> | string | Loose, headers?: Headers) =>
      reply(client.GET('/api/{user_id}/tasks', { params: { path, query: (typeof q === 'string' ? {} : q) as Query<'listTasks'> }, ...query(q), ...init(headers) })),
    create: (body: JsonBody<'createTask'> | Loose, headers?: Headers) =>
      reply(client.POST('/api/{user_id}/tasks', { params: { path }, body: body as JsonBody<'createTask'>, ...init(headers) })),
    get: (id: Id, headers?: Headers) =>
      reply(client.GET('/api/{user_id}/tasks/{id}', { params: { path: { ...path, id: id as number } }, ...init(headers) })),
    put: (id: Id, body: JsonBody<'updateTask'> | Loose, headers?: Headers) =>
      reply(client.PUT('/api/{user_id}/tasks/{id}', { params: { path: { ...path, id: id as number } }, body: body as JsonBody<'updateTask'>, ...init(headers) })),
    del: (id: Id, headers?: Headers) =>
      reply(client.DELETE('/api/{user_id}/tasks/{id}', { params: { path: { ...path, id: id as number } }, ...init(headers) })),
    /** PATCH .../complete: without a body it toggles. */
    complete: (id: Id, body?: JsonBody<'completeTask'> | Loose, headers?: Headers) =>
      reply(client.PATCH('/api/{user_id}/tasks/{id}/complete', { params: { path: { ...path, id: id as number } }, ...(body === undefined ? {} : { body: body as JsonBody<'completeTask'> }), ...init(headers) })),
    /** POST .../move: after_id / before_id / first, in another list or under another parent when named. */
    move: (id: Id, body: JsonBody<'moveTask'> | Loose, headers?: Headers) =>
      reply(client.POST('/api/{user_id}/tasks/{id}/move', { params: { path: { ...path, id: id as number } }, body: body as JsonBody<'moveTask'>, ...init(headers) })),
    /** POST .../tasks/batch: operations, each answered as its own route. */
    batch: (body: JsonBody<'batchTasks'> | Loose, headers?: Headers) =>
      reply(client.POST('/api/{user_id}/tasks/batch', { params: { path }, body: body as JsonBody<'batchTasks'>, ...init(headers) })),
    /** POST .../skip: a recurring task to its next occurrence. */
    skip: (id: Id, headers?: Headers) =>
      reply(client.POST('/api/{user_id}/tasks/{id}/skip', { params: { path: { ...path, id: id as number } }, ...init(headers) })),
    /** GET .../completions: a recurring task's completions, newest first. */
    completions: (id: Id, q?: Query<'listTaskCompletions'> | string | Loose, headers?: Headers) =>
      reply(
        client.GET('/api/{user_id}/tasks/{id}/completions', {
          params: { path: { ...path, id: id as number }, query: (typeof q === 'string' ? {} : q) as Query<'listTaskCompletions'> },
          ...query(q),
          ...init(headers),
        }),
      ),
    tags: (headers?: Headers) => reply(client.GET('/api/{user_id}/tags', { params: { path }, ...init(headers) })),
    /** GET .../tasks/changes: a query object, or the exact query string. */
    changes: (q?: Query<'listChanges'> | string | Loose, headers?: Headers) =>
      reply(client.GET('/api/{user_id}/tasks/changes', { params: { path, query: (typeof q === 'string' ? {} : q) as Query<'listChanges'> }, ...query(q), ...init(headers) })),
    ticket: (headers?: Headers) => reply(client.POST('/api/{user_id}/tasks/events/ticket', { params: { path }, ...init(headers) })),
    /** GET .../lists. */
    lists: (headers?: Headers) => reply(client.GET('/api/{user_id}/lists', { params: { path }, ...init(headers) })),
    createList: (body: JsonBody<'createList'> | Loose, headers?: Headers) =>
      reply(client.POST('/api/{user_id}/lists', { params: { path }, body: body as JsonBody<'createList'>, ...init(headers) })),
    getList: (id: Id, headers?: Headers) =>
      reply(client.GET('/api/{user_id}/lists/{list_id}', { params: { path: { ...path, list_id: id as number } }, ...init(headers) })),
    putList: (id: Id, body: JsonBody<'updateList'> | Loose, headers?: Headers) =>
      reply(client.PUT('/api/{user_id}/lists/{list_id}', { params: { path: { ...path, list_id: id as number } }, body: body as JsonBody<'updateList'>, ...init(headers) })),
    /** POST .../lists/{id}/move: without a body, first. */
    moveList: (id: Id, body?: JsonBody<'moveList'> | Loose, headers?: Headers) =>
      reply(client.POST('/api/{user_id}/lists/{list_id}/move', { params: { path: { ...path, list_id: id as number } }, ...(body === undefined ? {} : { body: body as JsonBody<'moveList'> }), ...init(headers) })),
    delList: (id: Id, headers?: Headers) =>
      reply(client.DELETE('/api/{user_id}/lists/{list_id}', { params: { path: { ...path, list_id: id as number } }, ...init(headers) })),
    /** POST .../push-subscriptions: a browser's PushSubscription.toJSON(). */
    subscribePush: (body: JsonBody<'createPushSubscription'> | Loose, headers?: Headers) =>
      reply(client.POST('/api/{user_id}/push-subscriptions', { params: { path }, body: body as JsonBody<'createPushSubscription'>, ...init(headers) })),
    unsubscribePush: (id: Id, headers?: Headers) =>
      reply(client.DELETE('/api/{user_id}/push-subscriptions/{id}', { params: { path: { ...path, id: id as number } }, ...init(headers) })),
    webhooks: {
      create: (body: JsonBody<'createWebhook'> | Loose, headers?: Headers) =>
        reply(client.POST('/api/{user_id}/webhooks', { params: { path }, body: body as JsonBody<'createWebhook'>, ...init(headers) })),
      list: (headers?: Headers) => reply(client.GET('/api/{user_id}/webhooks', { params: { path }, ...init(headers) })),
      get: (id: Id, headers?: Headers) => reply(client.GET('/api/{user_id}/webhooks/{id}', { params: { path: { ...path, id: id as number } }, ...init(headers) })),
      put: (id: Id, body: JsonBody<'updateWebhook'> | Loose, headers?: Headers) =>
        reply(client.PUT('/api/{user_id}/webhooks/{id}', { params: { path: { ...path, id: id as number } }, body: body as JsonBody<'updateWebhook'>, ...init(headers) })),
      del: (id: Id, headers?: Headers) => reply(client.DELETE('/api/{user_id}/webhooks/{id}', { params: { path: { ...path, id: id as number } }, ...init(headers) })),
      deliveries: (id: Id, headers?: Headers) =>
        reply(client.GET('/api/{user_id}/webhooks/{id}/deliveries', { params: { path: { ...path, id: id as number } }, ...init(headers) })),
    },
    sharing: {
      invite: (listId: Id, body: JsonBody<'createInvitation'> | Loose, headers?: Headers) =>
        reply(client.POST('/api/{user_id}/lists/{list_id}/invitations', { params: { path: { ...path, list_id: listId as number } }, body: body as JsonBody<'createInvitation'>, ...init(headers) })),
      invitations: (listId: Id, headers?: Headers) =>
        reply(client.GET('/api/{user_id}/lists/{list_id}/invitations', { params: { path: { ...path, list_id: listId as number } }, ...init(headers) })),
      revoke: (listId: Id, id: Id, headers?: Headers) =>
        reply(client.DELETE('/api/{user_id}/lists/{list_id}/invitations/{id}', { params: { path: { ...path, list_id: listId as number, id: id as number } }, ...init(headers) })),
      accept: (token: string, headers?: Headers) =>
        reply(client.POST('/api/{user_id}/invitations/{token}/accept', { params: { path: { ...path, token } }, ...init(headers) })),
      members: (listId: Id, headers?: Headers) =>
        reply(client.GET('/api/{user_id}/lists/{list_id}/members', { params: { path: { ...path, list_id: listId as number } }, ...init(headers) })),
      setRole: (listId: Id, memberId: string, body: JsonBody<'updateMember'> | Loose, headers?: Headers) =>
        reply(client.PUT('/api/{user_id}/lists/{list_id}/members/{member_id}', { params: { path: { ...path, list_id: listId as number, member_id: memberId } }, body: body as JsonBody<'updateMember'>, ...init(headers) })),
      remove: (listId: Id, memberId: string, headers?: Headers) =>
        reply(client.DELETE('/api/{user_id}/lists/{list_id}/members/{member_id}', { params: { path: { ...path, list_id: listId as number, member_id: memberId } }, ...init(headers) })),
    },
    trash: {
      /** GET .../trash: a query object, or the exact query string. */
      list: (q?: Query<'listTrash'> | string | Loose, headers?: Headers) =>
        reply(client.GET('/api/{user_id}/trash', { params: { path, query: (typeof q === 'string' ? {} : q) as Query<'listTrash'> }, ...query(q), ...init(headers) })),
      get: (id: Id, headers?: Headers) => reply(client.GET('/api/{user_id}/trash/{id}', { params: { path: { ...path, id: id as number } }, ...init(headers) })),
      restore: (id: Id, headers?: Headers) =>
        reply(client.POST('/api/{user_id}/trash/{id}/restore', { params: { path: { ...path, id: id as number } }, ...init(headers) })),
      purge: (id: Id, headers?: Headers) => reply(client.DELETE('/api/{user_id}/trash/{id}', { params: { path: { ...path, id: id as number } }, ...init(headers) })),
      empty: (headers?: Headers) => reply(client.DELETE('/api/{user_id}/trash', { params: { path }, ...init(headers) })),
    },
    calendarFeeds: {
      create: (body: JsonBody<'createCalendarFeed'> | Loose, headers?: Headers) =>
        reply(client.POST('/api/{user_id}/calendar-feeds', { params: { path }, body: body as JsonBody<'createCalendarFeed'>, ...init(headers) })),
      list: (headers?: Headers) => reply(client.GET('/api/{user_id}/calendar-feeds', { params: { path }, ...init(headers) })),
      del: (id: Id, headers?: Headers) =>
        reply(client.DELETE('/api/{user_id}/calendar-feeds/{id}', { params: { path: { ...path, id: id as number } }, ...init(headers) })),
    },
  };
}

export type Api<T extends Target = FastifyInstance> = Awaited<ReturnType<typeof api<T>>>;

/** Calls that need no user: health, readiness, the OpenAPI document. */
export function publicApi<T extends Target>(target: T) {
  const answers = new WeakMap<Response, ApiReply | LightMyRequestResponse>();
  const client = createClient<paths>({ baseUrl: typeof target === 'string' ? target : INJECT_BASE, fetch: fetcher(target, answers) });
  const reply = async (sent: Promise<{ response: Response }>): Promise<ReplyOf<T>> => answers.get((await sent).response) as ReplyOf<T>;
  const init = (headers: Headers = {}) => ({ headers, parseAs: 'stream' as const });
  return {
    health: (headers?: Headers) => reply(client.GET('/health', init(headers))),
    ready: (headers?: Headers) => reply(client.GET('/ready', init(headers))),
    pushPublicKey: (headers?: Headers) => reply(client.GET('/push/public-key', init(headers))),
  };
}

import createClient, { type Client } from 'openapi-fetch';

import { ApiError, errorFromResponse } from './errors.js';
import { subscribeEvents, type EventHandlers, type EventSourceConstructor, type SubscribeOptions, type Unsubscribe } from './events.js';
import { TaskReplica, type ReplicaOptions } from './replica.js';
import type { TokenProvider } from './token.js';
import { createTransport, type RetryEvent, type RetryOptions } from './transport.js';
import type {
  ApiPaths,
  BatchOperation,
  BatchResult,
  CalendarFeed,
  CalendarFeedCreate,
  ChangesPage,
  CompletionsQuery,
  EventTicket,
  Invitation,
  InvitationCreated,
  List,
  ListCreate,
  ListQueryWire,
  ListUpdate,
  Member,
  Priority,
  PushSubscriptionInput,
  PushSubscriptionRef,
  Role,
  TagCount,
  Task,
  TaskCompletion,
  TaskCreate,
  TaskMove,
  TaskUpdate,
  Webhook,
  WebhookCreate,
  WebhookCreated,
  WebhookDelivery,
  WebhookUpdate,
} from './types.js';
import { webcalUrl } from './settings.js';

export interface TaskClientOptions {
  /** Where the API is, e.g. `http://127.0.0.1:8000` (no trailing slash needed). */
  baseUrl: string;
  /** `{user_id}` of every path: with Better Auth, `session.user.id`. */
  userId: string | (() => string | Promise<string>);
  /** The bearer token, sync or async (see `cachedToken`). */
  token?: TokenProvider;
  /** Retries on 503/429 with `Retry-After` (see transport.ts). */
  retry?: RetryOptions;
  /** Called before each wait, e.g. to show "retrying in 1 s". */
  onRetry?: (event: RetryEvent) => void;
  /** Called when a request ends in 401 (after one token refresh): send the user to sign in. */
  onUnauthorized?: (error: ApiError) => void;
  /** Default: globalThis.fetch. */
  fetch?: (request: Request) => Promise<Response>;
  /** Default: globalThis.EventSource (browsers). */
  EventSource?: EventSourceConstructor;
}

/** The list's query, friendlier than the wire: one value or an array where the API takes several. */
export type ListQuery = Omit<ListQueryWire, 'priority' | 'tag'> & {
  /** Any of these levels: `'high'`, `['high', 'medium']`, or the wire's `'high,medium'`. */
  priority?: Priority | Priority[] | string;
  /** Every one of these tags. */
  tag?: string | string[];
};

export interface TaskPage {
  tasks: Task[];
  /** Pass as `cursor` (with the same query) for the next page; null on the last one. */
  nextCursor: string | null;
  /** The list's ETag: pass as `ifNoneMatch` to poll cheaply. */
  etag: string | null;
  message: string;
}

/**
 * What `push.subscribe` takes: the browser's `PushSubscription` itself, its `toJSON()`, or the body
 * as the API documents it.
 */
export type PushSubscriptionLike = PushSubscriptionInput | PushSubscriptionJSON | { toJSON(): PushSubscriptionJSON };

function pushSubscriptionBody(subscription: PushSubscriptionLike): PushSubscriptionInput {
  const json: PushSubscriptionJSON | PushSubscriptionInput =
    'toJSON' in subscription && typeof subscription.toJSON === 'function' ? subscription.toJSON() : (subscription as PushSubscriptionJSON);
  const { endpoint, keys } = json;
  const p256dh = keys?.['p256dh'];
  const auth = keys?.['auth'];
  if (typeof endpoint !== 'string' || typeof p256dh !== 'string' || typeof auth !== 'string') {
    throw new TypeError('push.subscribe needs a subscription with endpoint, keys.p256dh and keys.auth (PushSubscription.toJSON())');
  }
  return { endpoint, expirationTime: json.expirationTime ?? null, keys: { p256dh, auth } };
}

/** A page of a recurring task's completions, newest first. */
export interface CompletionPage {
  completions: TaskCompletion[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
  message: string;
}

/** Every page of a cursor-paged call, from `cursor` on, following each page's `nextCursor`. */
async function* followCursor<P extends { nextCursor: string | null }>(cursor: string | undefined, page: (cursor: string | undefined) => Promise<P>): AsyncGenerator<P> {
  for (;;) {
    const got = await page(cursor);
    yield got;
    if (got.nextCursor === null) return;
    cursor = got.nextCursor;
  }
}

/** `If-Match`: a task (its version), a version number, an ETag as sent, or `'*'`. */
export type IfMatch = { version?: number | undefined } | number | string;

export interface CallOptions {
  signal?: AbortSignal;
}
export interface ListOptions extends CallOptions {
  /** The `etag` of an earlier page of the same query: the answer is null while nothing changed (304). */
  ifNoneMatch?: string | null | undefined;
}
/** `tasks.list`: a page; with `ifNoneMatch`, a page or null (unchanged). */
export interface ListTasks {
  (query: ListQuery | undefined, options: CallOptions & { ifNoneMatch: string | null }): Promise<TaskPage | null>;
  (query?: ListQuery, options?: CallOptions & { ifNoneMatch?: undefined }): Promise<TaskPage>;
}
export interface WriteOptions extends CallOptions {
  /** Only write if the task is still at this version (412 PRECONDITION_FAILED otherwise). */
  ifMatch?: IfMatch;
  /** Reuse a key to make a retry of the same logical request safe; `false` sends none. */
  idempotencyKey?: string | false;
}
export interface CreateOptions extends CallOptions {
  /** Default: a fresh key per call, reused by every automatic retry of that call. `false`: none. */
  idempotencyKey?: string | false;
}

export interface BatchOptions extends CreateOptions {
  /** All or nothing in one transaction: a refused operation throws its ApiError (its `body.index` says which); nothing is applied. */
  atomic?: boolean;
}

export type ConditionalUpdate =
  | { ok: true; task: Task }
  /** Someone changed (or deleted: `current` null) the task since `base`: nothing was written. */
  | { ok: false; current: Task | null; error: ApiError };

/** A fresh Idempotency-Key (random, 128 bits; works outside secure contexts too). */
export function newIdempotencyKey(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A fresh task `uid` (a UUID): chosen by the client, so an offline or retried create is one task. */
export function newUid(): string {
  const c = globalThis.crypto as Crypto & { randomUUID?: () => string };
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The version an ETag (`"3"`, `W/"3"`) stands for, or null. */
export function versionFromEtag(etag: string | null): number | null {
  const m = etag?.match(/^(?:W\/)?"(\d+)"$/);
  return m?.[1] !== undefined ? Number(m[1]) : null;
}

function ifMatchValue(ifMatch: IfMatch): string | null {
  if (typeof ifMatch === 'number') return `"${ifMatch}"`;
  if (typeof ifMatch === 'string') return ifMatch;
  return typeof ifMatch.version === 'number' ? `"${ifMatch.version}"` : null;
}

function toWireQuery(query: ListQuery | undefined): ListQueryWire | undefined {
  if (!query) return undefined;
  const { priority, tag, ...rest } = query;
  const wire: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined && v !== '') wire[k] = v;
  // One comma-separated value (`priority=high,medium`), as the document describes it.
  if (priority !== undefined && priority.length > 0) wire.priority = [Array.isArray(priority) ? priority.join(',') : priority];
  if (tag !== undefined) {
    const tags = (Array.isArray(tag) ? tag : [tag]).filter((t) => t !== '');
    if (tags.length > 0) wire.tag = tags;
  }
  return wire as ListQueryWire;
}

export class TaskClient {
  /** openapi-fetch, typed from the OpenAPI document, with the token and retries: for anything the helpers do not cover. */
  readonly raw: Client<ApiPaths>;
  readonly baseUrl: string;
  private readonly options: TaskClientOptions;
  private readonly baseFetch: (request: Request) => Promise<Response>;

  constructor(options: TaskClientOptions) {
    this.options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.baseFetch = options.fetch ?? ((request) => globalThis.fetch(request));
    const transport = createTransport({
      fetch: this.baseFetch,
      token: options.token,
      retry: options.retry,
      onRetry: options.onRetry,
      onUnauthorized: options.onUnauthorized,
    });
    this.raw = createClient<ApiPaths>({ baseUrl: this.baseUrl, fetch: transport });
  }

  async userId(): Promise<string> {
    const { userId } = this.options;
    return typeof userId === 'function' ? userId() : userId;
  }

  /** The headers with a value (`If-Match`, `If-None-Match`, `Idempotency-Key`; the API's CORS allows them all). */
  private headers(wanted: Record<string, string | null | undefined>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(wanted)) if (value) out[name] = value;
    return out;
  }

  /** Runs one openapi-fetch call and turns a failure into an ApiError. */
  private async call<T>(
    method: string,
    idempotencyKey: string | null,
    run: () => Promise<{ data?: T; error?: unknown; response: Response }>,
  ): Promise<{ data: T; response: Response }> {
    let result: { data?: T; error?: unknown; response: Response };
    try {
      result = await run();
    } catch (err) {
      if (err instanceof ApiError || (err instanceof Error && err.name === 'AbortError')) throw err;
      throw new ApiError({
        status: 0,
        code: 'NETWORK_ERROR',
        detail: `No answer from ${this.baseUrl}: ${err instanceof Error ? err.message : String(err)}`,
        method,
        url: this.baseUrl,
        idempotencyKey,
        cause: err,
      });
    }
    const { data, error, response } = result;
    if (!response.ok) throw errorFromResponse(response, error, { method, url: response.url, idempotencyKey });
    return { data: data as T, response };
  }

  readonly tasks = {
    /**
     * One page (or, without `limit`/`cursor`, the whole list as before). With `ifNoneMatch` (the
     * `etag` of an earlier page): null while the list is unchanged (304), which costs the API next to nothing.
     */
    list: (async (query?: ListQuery, options: ListOptions = {}): Promise<TaskPage | null> => {
      const user_id = await this.userId();
      const headers = this.headers({ 'if-none-match': options.ifNoneMatch });
      const wire = toWireQuery(query);
      try {
        const { data: body, response } = await this.call('GET', null, () =>
          this.raw.GET('/api/{user_id}/tasks', {
            params: { path: { user_id }, ...(wire ? { query: wire } : {}) },
            headers,
            ...(options.signal ? { signal: options.signal } : {}),
          }),
        );
        return { tasks: body.data, nextCursor: body.next_cursor ?? null, etag: response.headers.get('etag'), message: body.message };
      } catch (err) {
        if (err instanceof ApiError && err.status === 304) return null;
        throw err;
      }
    }) as ListTasks,

    /** Every page of a query, following `next_cursor` (page size `limit`, default 50). */
    pages: (query: ListQuery = {}, options: CallOptions = {}): AsyncIterableIterator<TaskPage> => {
      const list = this.tasks.list;
      return followCursor(query.cursor, (cursor) => list({ ...query, limit: query.limit ?? 50, ...(cursor !== undefined ? { cursor } : {}) }, options));
    },

    /** Every task of a query, page after page. */
    all: (query: ListQuery = {}, options: CallOptions = {}): AsyncIterableIterator<Task> => {
      const pages = this.tasks.pages(query, options);
      return (async function* all() {
        for await (const page of pages) yield* page.tasks;
      })();
    },

    get: async (id: number, options: CallOptions = {}): Promise<Task> => {
      const user_id = await this.userId();
      const { data } = await this.call('GET', null, () =>
        this.raw.GET('/api/{user_id}/tasks/{id}', {
          params: { path: { user_id, id } },
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
      return data.data;
    },

    /**
     * POST. Safe to retry by default: one Idempotency-Key per call, reused by every retry, and a
     * `uid` chosen here unless the input has one (so an offline client knows the task by it at once).
     * With an `idempotencyKey` of the caller's (a retry of its own, across calls), no uid is added:
     * the repeated body must be the same, so the caller picks the uid, if any.
     */
    create: async (input: TaskCreate, options: CreateOptions = {}): Promise<Task> => {
      const user_id = await this.userId();
      const key = options.idempotencyKey === false ? null : (options.idempotencyKey ?? newIdempotencyKey());
      const headers = this.headers({ 'idempotency-key': key });
      const body = input.uid !== undefined || typeof options.idempotencyKey === 'string' ? input : { ...input, uid: newUid() };
      const { data } = await this.call('POST', headers['idempotency-key'] ?? null, () =>
        this.raw.POST('/api/{user_id}/tasks', {
          params: { path: { user_id } },
          body,
          headers,
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
      return data.data;
    },

    /** PUT; with `ifMatch`, only if the task is still at that version (else ApiError PRECONDITION_FAILED). */
    update: async (id: number, patch: TaskUpdate, options: WriteOptions = {}): Promise<Task> => {
      const user_id = await this.userId();
      const headers = this.writeHeaders(options);
      const { data } = await this.call('PUT', headers['idempotency-key'] ?? null, () =>
        this.raw.PUT('/api/{user_id}/tasks/{id}', {
          params: { path: { user_id, id } },
          body: patch,
          headers,
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
      return data.data;
    },

    /**
     * PUT with `If-Match: base.version`. On 412 (someone else changed it) nothing is written and
     * the current task is fetched, so the caller can show it instead of overwriting it.
     */
    updateIfUnchanged: async (base: Task, patch: TaskUpdate, options: CallOptions = {}): Promise<ConditionalUpdate> => {
      try {
        return { ok: true, task: await this.tasks.update(base.id, patch, { ...options, ifMatch: base }) };
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== 'PRECONDITION_FAILED') throw err;
        try {
          return { ok: false, current: await this.tasks.get(base.id, options), error: err };
        } catch (again) {
          if (again instanceof ApiError && again.status === 404) return { ok: false, current: null, error: err };
          throw again;
        }
      }
    },

    /** PATCH .../complete with a body: sets it (idempotent, safe to retry). */
    setCompleted: async (id: number, completed: boolean, options: WriteOptions = {}): Promise<Task> =>
      this.complete(id, { completed }, options),

    /**
     * A recurring task: PATCH .../complete `{completed: true, occurrence}`, completing that occurrence
     * only (`occurrence`: the `due_at` the user saw). While `due_at` is still that instant the
     * completion is recorded and the task comes back pending at its next occurrence (or completed,
     * when the series has ended); otherwise it comes back unchanged. So it is safe to retry and a
     * duplicated click never skips an occurrence.
     */
    completeOccurrence: async (id: number, occurrence: string, options: WriteOptions = {}): Promise<Task> =>
      this.complete(id, { completed: true, occurrence }, options),

    /**
     * POST .../skip: a recurring task moves to its next occurrence without a completion (it counts
     * for `COUNT`). Not idempotent by nature, so a fresh Idempotency-Key by default: a retry skips once.
     * 400 VALIDATION_ERROR when the task does not recur, 409 CONFLICT when its series has ended.
     */
    skip: async (id: number, options: WriteOptions = {}): Promise<Task> => {
      const user_id = await this.userId();
      const headers = this.writeHeaders({ ...options, idempotencyKey: options.idempotencyKey ?? newIdempotencyKey() });
      const { data } = await this.call('POST', headers['idempotency-key'] ?? null, () =>
        this.raw.POST('/api/{user_id}/tasks/{id}/skip', {
          params: { path: { user_id, id } },
          headers,
          ...this.signal(options),
        }),
      );
      return data.data;
    },

    /** GET .../completions: one page of a recurring task's completions, newest first (`limit` 1–200, default 50). */
    completions: async (id: number, query: CompletionsQuery = {}, options: CallOptions = {}): Promise<CompletionPage> => {
      const user_id = await this.userId();
      const wire: CompletionsQuery = {};
      if (query.limit !== undefined) wire.limit = query.limit;
      if (query.cursor !== undefined && query.cursor !== '') wire.cursor = query.cursor;
      const { data } = await this.call('GET', null, () =>
        this.raw.GET('/api/{user_id}/tasks/{id}/completions', {
          params: { path: { user_id, id }, query: wire },
          ...this.signal(options),
        }),
      );
      return { completions: data.data, nextCursor: data.next_cursor ?? null, message: data.message };
    },

    /** Every completion of a recurring task, newest first, page after page (page size `limit`, default 50). */
    allCompletions: (id: number, query: CompletionsQuery = {}, options: CallOptions = {}): AsyncIterableIterator<TaskCompletion> => {
      const pages = followCursor(query.cursor, (cursor) => this.tasks.completions(id, { ...query, ...(cursor !== undefined ? { cursor } : {}) }, options));
      return (async function* all() {
        for await (const page of pages) yield* page.completions;
      })();
    },

    /** PATCH .../complete without a body: toggles atomically. A fresh Idempotency-Key by default, so a retry toggles once. */
    toggle: async (id: number, options: WriteOptions = {}): Promise<Task> =>
      this.complete(id, undefined, { ...options, idempotencyKey: options.idempotencyKey ?? newIdempotencyKey() }),

    /** POST .../move: after or before a sibling (first when neither), in another list or under another parent when named. */
    move: async (id: number, to: NonNullable<TaskMove>, options: WriteOptions = {}): Promise<Task> => {
      const user_id = await this.userId();
      const headers = this.writeHeaders(options);
      const { data } = await this.call('POST', headers['idempotency-key'] ?? null, () =>
        this.raw.POST('/api/{user_id}/tasks/{id}/move', {
          params: { path: { user_id, id } },
          body: to,
          headers,
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
      return data.data;
    },

    /**
     * POST .../tasks/batch: 1 to 100 operations in one request, each answered as its own route
     * (`{status, data, message}` or `{status, error, code, detail}`, in order). Not atomic by
     * default: every operation runs and has its result. `atomic: true`: all or nothing; a refused
     * operation throws its ApiError (`body.index`: which one) and nothing is applied. Safe to retry:
     * one Idempotency-Key per call (the caller's with `idempotencyKey`), and a `uid` on every create
     * without one, unless the key is the caller's (its repeated body must be the same).
     */
    batch: async (operations: BatchOperation[], options: BatchOptions = {}): Promise<BatchResult[]> => {
      const user_id = await this.userId();
      const key = options.idempotencyKey === false ? null : (options.idempotencyKey ?? newIdempotencyKey());
      const headers = this.headers({ 'idempotency-key': key });
      const withUids =
        typeof options.idempotencyKey === 'string'
          ? operations
          : operations.map((o) => (o.op === 'create' && o.task.uid === undefined ? { ...o, task: { ...o.task, uid: newUid() } } : o));
      const { data } = await this.call('POST', headers['idempotency-key'] ?? null, () =>
        this.raw.POST('/api/{user_id}/tasks/batch', {
          params: { path: { user_id } },
          body: { ...(options.atomic === undefined ? {} : { atomic: options.atomic }), operations: withUids },
          headers,
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
      return data.data.results;
    },

    /** DELETE; answers the deleted task. */
    delete: async (id: number, options: WriteOptions = {}): Promise<Task> => {
      const user_id = await this.userId();
      const headers = this.writeHeaders(options);
      const { data } = await this.call('DELETE', headers['idempotency-key'] ?? null, () =>
        this.raw.DELETE('/api/{user_id}/tasks/{id}', {
          params: { path: { user_id, id } },
          headers,
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
      return data.data;
    },
  };

  /** Lists (version 3): each user's own order, sharing with roles. */
  readonly lists = {
    /** Every list the user is a member of, in their order. */
    list: async (options: CallOptions = {}): Promise<List[]> => {
      const user_id = await this.userId();
      const { data } = await this.call('GET', null, () => this.raw.GET('/api/{user_id}/lists', { params: { path: { user_id } }, ...this.signal(options) }));
      return data.data;
    },
    /**
     * The lists with the answer's `etag`; with `ifNoneMatch` (an earlier `etag`): null while nothing
     * the answer shows changed (304).
     */
    poll: async (options: CallOptions & { ifNoneMatch?: string | null } = {}): Promise<{ lists: List[]; etag: string | null } | null> => {
      const user_id = await this.userId();
      const headers = this.headers({ 'if-none-match': options.ifNoneMatch });
      try {
        const { data, response } = await this.call('GET', null, () =>
          this.raw.GET('/api/{user_id}/lists', { params: { path: { user_id } }, headers, ...this.signal(options) }),
        );
        return { lists: data.data, etag: response.headers.get('etag') };
      } catch (err) {
        if (err instanceof ApiError && err.status === 304) return null;
        throw err;
      }
    },
    get: async (listId: number, options: CallOptions = {}): Promise<List> => {
      const user_id = await this.userId();
      const { data } = await this.call('GET', null, () =>
        this.raw.GET('/api/{user_id}/lists/{list_id}', { params: { path: { user_id, list_id: listId } }, ...this.signal(options) }),
      );
      return data.data;
    },
    create: async (input: ListCreate, options: CreateOptions = {}): Promise<List> => {
      const user_id = await this.userId();
      const headers = this.headers({ 'idempotency-key': options.idempotencyKey === false ? null : (options.idempotencyKey ?? newIdempotencyKey()) });
      const { data } = await this.call('POST', headers['idempotency-key'] ?? null, () =>
        this.raw.POST('/api/{user_id}/lists', { params: { path: { user_id } }, body: input, headers, ...this.signal(options) }),
      );
      return data.data;
    },
    /** Rename (owner) or place in the user's own order (any member). */
    update: async (listId: number, patch: ListUpdate, options: WriteOptions = {}): Promise<List> => {
      const user_id = await this.userId();
      const headers = this.writeHeaders(options);
      const { data } = await this.call('PUT', headers['idempotency-key'] ?? null, () =>
        this.raw.PUT('/api/{user_id}/lists/{list_id}', { params: { path: { user_id, list_id: listId } }, body: patch, headers, ...this.signal(options) }),
      );
      return data.data;
    },
    /** After or before another of the user's lists (first when neither). */
    move: async (listId: number, to: { after_id?: number; before_id?: number } = {}, options: WriteOptions = {}): Promise<List> => {
      const user_id = await this.userId();
      const headers = this.writeHeaders(options);
      const { data } = await this.call('POST', headers['idempotency-key'] ?? null, () =>
        this.raw.POST('/api/{user_id}/lists/{list_id}/move', { params: { path: { user_id, list_id: listId } }, body: to, headers, ...this.signal(options) }),
      );
      return data.data;
    },
    delete: async (listId: number, options: WriteOptions = {}): Promise<List> => {
      const user_id = await this.userId();
      const headers = this.writeHeaders(options);
      const { data } = await this.call('DELETE', headers['idempotency-key'] ?? null, () =>
        this.raw.DELETE('/api/{user_id}/lists/{list_id}', { params: { path: { user_id, list_id: listId } }, headers, ...this.signal(options) }),
      );
      return data.data;
    },
    /** The list's members, the owner first. */
    members: async (listId: number, options: CallOptions = {}): Promise<Member[]> => {
      const user_id = await this.userId();
      const { data } = await this.call('GET', null, () =>
        this.raw.GET('/api/{user_id}/lists/{list_id}/members', { params: { path: { user_id, list_id: listId } }, ...this.signal(options) }),
      );
      return data.data;
    },
    /** A member's role (owner); `owner` gives the list away. */
    setRole: async (listId: number, memberId: string, role: Role, options: CallOptions = {}): Promise<Member> => {
      const user_id = await this.userId();
      const { data } = await this.call('PUT', null, () =>
        this.raw.PUT('/api/{user_id}/lists/{list_id}/members/{member_id}', {
          params: { path: { user_id, list_id: listId, member_id: memberId } },
          body: { role },
          ...this.signal(options),
        }),
      );
      return data.data;
    },
    /** Removes a member (owner), or, with the user's own id, leaves the list. */
    removeMember: async (listId: number, memberId: string, options: CallOptions = {}): Promise<Member> => {
      const user_id = await this.userId();
      const { data } = await this.call('DELETE', null, () =>
        this.raw.DELETE('/api/{user_id}/lists/{list_id}/members/{member_id}', {
          params: { path: { user_id, list_id: listId, member_id: memberId } },
          ...this.signal(options),
        }),
      );
      return data.data;
    },
    /** Leaves a list shared with the user. */
    leave: async (listId: number, options: CallOptions = {}): Promise<Member> => this.lists.removeMember(listId, await this.userId(), options),
    /** An invitation link's token (shown only now), for `editor` or `viewer`, expiring after `expiresInHours` (default 168). */
    invite: async (listId: number, role: 'editor' | 'viewer', options: CallOptions & { expiresInHours?: number } = {}): Promise<InvitationCreated> => {
      const user_id = await this.userId();
      const body = options.expiresInHours === undefined ? { role } : { role, expires_in_hours: options.expiresInHours };
      const { data } = await this.call('POST', null, () =>
        this.raw.POST('/api/{user_id}/lists/{list_id}/invitations', { params: { path: { user_id, list_id: listId } }, body, ...this.signal(options) }),
      );
      return data.data;
    },
    /** The list's open invitations (owner), without tokens. */
    invitations: async (listId: number, options: CallOptions = {}): Promise<Invitation[]> => {
      const user_id = await this.userId();
      const { data } = await this.call('GET', null, () =>
        this.raw.GET('/api/{user_id}/lists/{list_id}/invitations', { params: { path: { user_id, list_id: listId } }, ...this.signal(options) }),
      );
      return data.data;
    },
    /** Revokes an invitation (owner): its link stops working. */
    revoke: async (listId: number, invitationId: number, options: CallOptions = {}): Promise<Invitation> => {
      const user_id = await this.userId();
      const { data } = await this.call('DELETE', null, () =>
        this.raw.DELETE('/api/{user_id}/lists/{list_id}/invitations/{id}', {
          params: { path: { user_id, list_id: listId, id: invitationId } },
          ...this.signal(options),
        }),
      );
      return data.data;
    },
    /** Joins the list an invitation's token is for; answers the list. */
    accept: async (token: string, options: CallOptions = {}): Promise<List> => {
      const user_id = await this.userId();
      const { data } = await this.call('POST', null, () =>
        this.raw.POST('/api/{user_id}/invitations/{token}/accept', { params: { path: { user_id, token } }, ...this.signal(options) }),
      );
      return data.data;
    },
  };

  private signal(options: CallOptions): { signal?: AbortSignal } {
    return options.signal ? { signal: options.signal } : {};
  }

  readonly tags = {
    /** Every tag the user's tasks carry, most used first. */
    list: async (options: CallOptions = {}): Promise<TagCount[]> => {
      const user_id = await this.userId();
      const { data } = await this.call('GET', null, () =>
        this.raw.GET('/api/{user_id}/tags', {
          params: { path: { user_id } },
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
      return data.data;
    },
  };

  /**
   * Webhooks (version 3): the events of every list the user is a member of, POSTed to a URL and
   * signed as Standard Webhooks says (verify them with the `standardwebhooks` package and the secret).
   */
  readonly webhooks = {
    /**
     * Subscribes `url` to `events` (or `['*']`). The answer carries the signing `secret` (`whsec_...`):
     * shown only now, keep it. One Idempotency-Key per call by default, as `tasks.create`.
     */
    create: async (input: WebhookCreate, options: CreateOptions = {}): Promise<WebhookCreated> => {
      const user_id = await this.userId();
      const headers = this.headers({ 'idempotency-key': options.idempotencyKey === false ? null : (options.idempotencyKey ?? newIdempotencyKey()) });
      const { data } = await this.call('POST', headers['idempotency-key'] ?? null, () =>
        this.raw.POST('/api/{user_id}/webhooks', { params: { path: { user_id } }, body: input, headers, ...this.signal(options) }),
      );
      return data.data;
    },
    /** The user's webhooks, oldest first, without their secrets. */
    list: async (options: CallOptions = {}): Promise<Webhook[]> => {
      const user_id = await this.userId();
      const { data } = await this.call('GET', null, () => this.raw.GET('/api/{user_id}/webhooks', { params: { path: { user_id } }, ...this.signal(options) }));
      return data.data;
    },
    get: async (id: number, options: CallOptions = {}): Promise<Webhook> => {
      const user_id = await this.userId();
      const { data } = await this.call('GET', null, () => this.raw.GET('/api/{user_id}/webhooks/{id}', { params: { path: { user_id, id } }, ...this.signal(options) }));
      return data.data;
    },
    /** Changes `url`, `events`, or `enabled` (`true` turns on again an endpoint a 410 turned off). */
    update: async (id: number, patch: WebhookUpdate, options: CreateOptions = {}): Promise<Webhook> => {
      const user_id = await this.userId();
      const headers = this.headers({ 'idempotency-key': options.idempotencyKey || null });
      const { data } = await this.call('PUT', headers['idempotency-key'] ?? null, () =>
        this.raw.PUT('/api/{user_id}/webhooks/{id}', { params: { path: { user_id, id } }, body: patch, headers, ...this.signal(options) }),
      );
      return data.data;
    },
    /** Deletes a webhook: nothing more is delivered to it. Answers it as it was. */
    delete: async (id: number, options: CreateOptions = {}): Promise<Webhook> => {
      const user_id = await this.userId();
      const headers = this.headers({ 'idempotency-key': options.idempotencyKey || null });
      const { data } = await this.call('DELETE', headers['idempotency-key'] ?? null, () =>
        this.raw.DELETE('/api/{user_id}/webhooks/{id}', { params: { path: { user_id, id } }, headers, ...this.signal(options) }),
      );
      return data.data;
    },
    /** The webhook's latest 100 deliveries, newest first: `{id (the webhook-id), type, attempts, last_status, next_attempt_at}`. */
    deliveries: async (id: number, options: CallOptions = {}): Promise<WebhookDelivery[]> => {
      const user_id = await this.userId();
      const { data } = await this.call('GET', null, () =>
        this.raw.GET('/api/{user_id}/webhooks/{id}/deliveries', { params: { path: { user_id, id } }, ...this.signal(options) }),
      );
      return data.data;
    },
    /** One more counted attempt of a delivery (the same event, the same `webhook-id`), scheduled now (202). */
    redeliver: async (id: number, deliveryId: string, options: CallOptions = {}): Promise<void> => {
      const user_id = await this.userId();
      await this.call('POST', null, () =>
        this.raw.POST('/api/{user_id}/webhooks/{id}/deliveries/{delivery_id}/redeliver', {
          params: { path: { user_id, id, delivery_id: deliveryId } },
          ...this.signal(options),
        }),
      );
    },
  };

  /**
   * Calendar feeds (version 3): iCalendar addresses a calendar app subscribes to, read without a
   * token (the secret in the address is the key). `url(feed)` is the address to copy,
   * `webcalUrl(feed)` its `webcal://` form.
   */
  readonly calendarFeeds = {
    /** A feed of one list (`list_id`) or of all the user's lists (default), as `events` (default) or `todos`. */
    create: async (input: CalendarFeedCreate = {}, options: CreateOptions = {}): Promise<CalendarFeed> => {
      const user_id = await this.userId();
      const headers = this.headers({ 'idempotency-key': options.idempotencyKey === false ? null : (options.idempotencyKey ?? newIdempotencyKey()) });
      const { data } = await this.call('POST', headers['idempotency-key'] ?? null, () =>
        this.raw.POST('/api/{user_id}/calendar-feeds', { params: { path: { user_id } }, body: input, headers, ...this.signal(options) }),
      );
      return data.data;
    },
    /** The user's feeds, oldest first, each with its `url`. */
    list: async (options: CallOptions = {}): Promise<CalendarFeed[]> => {
      const user_id = await this.userId();
      const { data } = await this.call('GET', null, () => this.raw.GET('/api/{user_id}/calendar-feeds', { params: { path: { user_id } }, ...this.signal(options) }));
      return data.data;
    },
    /** Revokes a feed (DELETE): its address answers 404 from now on. Answers the feed as it was. */
    revoke: async (id: number, options: CreateOptions = {}): Promise<CalendarFeed> => {
      const user_id = await this.userId();
      const headers = this.headers({ 'idempotency-key': options.idempotencyKey || null });
      const { data } = await this.call('DELETE', headers['idempotency-key'] ?? null, () =>
        this.raw.DELETE('/api/{user_id}/calendar-feeds/{id}', { params: { path: { user_id, id } }, headers, ...this.signal(options) }),
      );
      return data.data;
    },
    /** The feed's absolute address: `baseUrl` + its `url` (`/ical/<secret>.ics`), or `url` when already absolute. */
    url: (feed: Pick<CalendarFeed, 'url'>): string => (/^[a-z][a-z0-9+.-]*:/i.test(feed.url) ? feed.url : `${this.baseUrl}${feed.url}`),
    /** The `webcal://` form of that address (only the scheme changes): the "subscribe" link calendar apps open. */
    webcalUrl: (feed: Pick<CalendarFeed, 'url'>): string => webcalUrl(this.calendarFeeds.url(feed)),
  };

  /** GET .../tasks/changes: without `since` a snapshot, with it what changed after it. 410 CURSOR_EXPIRED: start again. */
  async changes(options: CallOptions & { since?: string | null; limit?: number } = {}): Promise<ChangesPage> {
    const user_id = await this.userId();
    const query: { since?: string; limit?: number } = {};
    if (options.since) query.since = options.since;
    if (options.limit !== undefined) query.limit = options.limit;
    const { data } = await this.call('GET', null, () =>
      this.raw.GET('/api/{user_id}/tasks/changes', {
        params: { path: { user_id }, query },
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
    return data.data;
  }

  readonly events = {
    /** POST .../tasks/events/ticket: a one-use, 60-second authorization for one EventSource. */
    ticket: async (options: CallOptions = {}): Promise<EventTicket> => {
      const user_id = await this.userId();
      const { data } = await this.call('POST', null, () =>
        this.raw.POST('/api/{user_id}/tasks/events/ticket', {
          params: { path: { user_id } },
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
      return data.data;
    },

    /** The URL of the event stream for a ticket, resuming after `since`; `include: ['lists']` adds the list entries. */
    url: async (ticket: string, since?: string | null, include?: readonly 'lists'[]): Promise<string> => {
      const user_id = await this.userId();
      const url = new URL(`${this.baseUrl}/api/${encodeURIComponent(user_id)}/tasks/events`);
      url.searchParams.set('ticket', ticket);
      if (since) url.searchParams.set('since', since);
      if (include?.length) url.searchParams.set('include', include.join(','));
      return url.toString();
    },

    /**
     * Live changes as a subscription: ticket, then EventSource; on a dropped connection a fresh
     * ticket and `?since=<last cursor>` (a ticket is good once, so the browser's own reconnect
     * cannot be used). With `include: ['lists']`, list entries go to `onListChange`. Returns the function that ends it.
     */
    subscribe: (handlers: EventHandlers, options: SubscribeOptions = {}): Unsubscribe => {
      const EventSourceCtor = this.options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
      if (!EventSourceCtor) throw new Error('No EventSource here: pass one as the EventSource option');
      return subscribeEvents(
        { ticket: () => this.events.ticket(), url: (ticket, since, include) => this.events.url(ticket, since, include), EventSource: EventSourceCtor },
        handlers,
        options,
      );
    },
  };

  /** Web Push (version 3): the browser subscriptions that reminders are pushed to. */
  readonly push = {
    /**
     * GET /push/public-key (no token): the server's VAPID public key, base64url, for
     * `pushManager.subscribe({ userVisibleOnly: true, applicationServerKey })`. A server without
     * keys (Web Push off) answers 503 SERVICE_UNAVAILABLE.
     */
    publicKey: async (options: CallOptions = {}): Promise<string> => {
      const { data } = await this.call('GET', null, () => this.raw.GET('/push/public-key', { ...this.signal(options) }));
      return data.data.public_key;
    },
    /**
     * POST .../push-subscriptions with the browser's subscription (the `PushSubscription`, or its
     * `toJSON()`): the user's reminders are pushed to it. The same endpoint again updates its keys and
     * answers the same id. Safe to retry: one Idempotency-Key per call (yours with `idempotencyKey`).
     */
    subscribe: async (subscription: PushSubscriptionLike, options: CreateOptions = {}): Promise<PushSubscriptionRef> => {
      const user_id = await this.userId();
      const body = pushSubscriptionBody(subscription);
      const headers = this.headers({ 'idempotency-key': options.idempotencyKey === false ? null : (options.idempotencyKey ?? newIdempotencyKey()) });
      const { data } = await this.call('POST', headers['idempotency-key'] ?? null, () =>
        this.raw.POST('/api/{user_id}/push-subscriptions', { params: { path: { user_id } }, body, headers, ...this.signal(options) }),
      );
      return data.data;
    },
    /** DELETE .../push-subscriptions/{id}: nothing is pushed to it any more (404 NOT_FOUND when it is not the user's). */
    unsubscribe: async (id: number, options: CallOptions = {}): Promise<PushSubscriptionRef> => {
      const user_id = await this.userId();
      const { data } = await this.call('DELETE', null, () =>
        this.raw.DELETE('/api/{user_id}/push-subscriptions/{id}', { params: { path: { user_id, id } }, ...this.signal(options) }),
      );
      return data.data;
    },
  };

  /** A local copy kept by `/tasks/changes` (and, with `live()`, the event stream). */
  replica(options: ReplicaOptions = {}): TaskReplica {
    return new TaskReplica(this, options);
  }

  private writeHeaders(options: WriteOptions): Record<string, string> {
    return this.headers({
      'if-match': options.ifMatch === undefined ? null : ifMatchValue(options.ifMatch),
      'idempotency-key': options.idempotencyKey || null,
    });
  }

  private async complete(id: number, body: { completed: boolean; occurrence?: string } | undefined, options: WriteOptions): Promise<Task> {
    const user_id = await this.userId();
    const headers = this.writeHeaders(options);
    const { data } = await this.call('PATCH', headers['idempotency-key'] ?? null, () =>
      this.raw.PATCH('/api/{user_id}/tasks/{id}/complete', {
        params: { path: { user_id, id } },
        ...(body ? { body } : {}),
        headers,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
    return data.data;
  }
}

export function createTaskClient(options: TaskClientOptions): TaskClient {
  return new TaskClient(options);
}

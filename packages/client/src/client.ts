import createClient, { type Client } from 'openapi-fetch';

import { ApiError, errorFromResponse } from './errors.js';
import { subscribeEvents, type EventHandlers, type EventSourceConstructor, type SubscribeOptions, type Unsubscribe } from './events.js';
import { TaskReplica, type ReplicaOptions } from './replica.js';
import type { TokenProvider } from './token.js';
import { createTransport, type RetryEvent, type RetryOptions } from './transport.js';
import type {
  ApiPaths,
  ChangesPage,
  EventTicket,
  ListQueryWire,
  Priority,
  TagCount,
  Task,
  TaskCreate,
  TaskUpdate,
} from './types.js';

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
      return (async function* pages() {
        let cursor: string | undefined = query.cursor;
        for (;;) {
          const page = await list({ ...query, limit: query.limit ?? 50, ...(cursor !== undefined ? { cursor } : {}) }, options);
          yield page;
          if (page.nextCursor === null) return;
          cursor = page.nextCursor;
        }
      })();
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

    /** POST. Safe to retry by default: one Idempotency-Key per call, reused by every retry. */
    create: async (input: TaskCreate, options: CreateOptions = {}): Promise<Task> => {
      const user_id = await this.userId();
      const key = options.idempotencyKey === false ? null : (options.idempotencyKey ?? newIdempotencyKey());
      const headers = this.headers({ 'idempotency-key': key });
      const { data } = await this.call('POST', headers['idempotency-key'] ?? null, () =>
        this.raw.POST('/api/{user_id}/tasks', {
          params: { path: { user_id } },
          body: input,
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

    /** PATCH .../complete without a body: toggles atomically. A fresh Idempotency-Key by default, so a retry toggles once. */
    toggle: async (id: number, options: WriteOptions = {}): Promise<Task> =>
      this.complete(id, undefined, { ...options, idempotencyKey: options.idempotencyKey ?? newIdempotencyKey() }),

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

    /** The URL of the event stream for a ticket, resuming after `since`. */
    url: async (ticket: string, since?: string | null): Promise<string> => {
      const user_id = await this.userId();
      const url = new URL(`${this.baseUrl}/api/${encodeURIComponent(user_id)}/tasks/events`);
      url.searchParams.set('ticket', ticket);
      if (since) url.searchParams.set('since', since);
      return url.toString();
    },

    /**
     * Live changes as a subscription: ticket, then EventSource; on a dropped connection a fresh
     * ticket and `?since=<last cursor>` (a ticket is good once, so the browser's own reconnect
     * cannot be used). Returns the function that ends it.
     */
    subscribe: (handlers: EventHandlers, options: SubscribeOptions = {}): Unsubscribe => {
      const EventSourceCtor = this.options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
      if (!EventSourceCtor) throw new Error('No EventSource here: pass one as the EventSource option');
      return subscribeEvents(
        { ticket: () => this.events.ticket(), url: (ticket, since) => this.events.url(ticket, since), EventSource: EventSourceCtor },
        handlers,
        options,
      );
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

  private async complete(id: number, body: { completed: boolean } | undefined, options: WriteOptions): Promise<Task> {
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

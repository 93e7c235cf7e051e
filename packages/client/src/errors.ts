/** What every failed call throws: the API's `{error, code, detail}` plus what the response said. */
export class ApiError extends Error {
  override name = 'ApiError';
  /** HTTP status; 0 when no answer came at all (network down, CORS refused, aborted). */
  readonly status: number;
  /** The API's machine-readable code (`NOT_FOUND`, `PRECONDITION_FAILED`, ...), `NETWORK_ERROR` without an answer. */
  readonly code: string;
  /** The human-readable text (`detail`, else `error`). */
  readonly detail: string;
  /** `Retry-After` in seconds (delta-seconds or an HTTP date), or null. */
  readonly retryAfter: number | null;
  readonly headers: Headers;
  /** The parsed body (or text) as the API sent it. */
  readonly body: unknown;
  readonly method: string;
  readonly url: string;
  /** The `Idempotency-Key` the request carried: send it again to retry the same logical request. */
  readonly idempotencyKey: string | null;

  constructor(init: {
    status: number;
    code: string;
    detail: string;
    retryAfter?: number | null;
    headers?: Headers;
    body?: unknown;
    method?: string;
    url?: string;
    idempotencyKey?: string | null;
    cause?: unknown;
  }) {
    super(`${init.status || 'no answer'} ${init.code}: ${init.detail}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.retryAfter = init.retryAfter ?? null;
    this.headers = init.headers ?? new Headers();
    this.body = init.body;
    this.method = init.method ?? '';
    this.url = init.url ?? '';
    this.idempotencyKey = init.idempotencyKey ?? null;
  }

  /** The `X-Request-Id` the API answered with, for support requests. */
  get requestId(): string | null {
    return this.headers.get('x-request-id');
  }
}

export function isApiError(err: unknown, code?: string): err is ApiError {
  return err instanceof ApiError && (code === undefined || err.code === code);
}

/** `Retry-After` as seconds: delta-seconds, or an HTTP date relative to now. Null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** Builds the ApiError of a non-2xx response whose body was already read (`body`: JSON or text). */
export function errorFromResponse(
  response: Response,
  body: unknown,
  request?: { method?: string; url?: string; idempotencyKey?: string | null },
): ApiError {
  const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const text = typeof body === 'string' && body !== '' ? body : undefined;
  const detail =
    (typeof b.detail === 'string' && b.detail) ||
    (typeof b.error === 'string' && b.error) ||
    text ||
    response.statusText ||
    `HTTP ${response.status}`;
  const code = typeof b.code === 'string' && b.code !== '' ? b.code : `HTTP_${response.status}`;
  return new ApiError({
    status: response.status,
    code,
    detail,
    retryAfter: parseRetryAfter(response.headers.get('retry-after')),
    headers: response.headers,
    body,
    method: request?.method ?? '',
    url: request?.url ?? response.url,
    idempotencyKey: request?.idempotencyKey ?? null,
  });
}

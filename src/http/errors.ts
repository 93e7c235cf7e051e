import { Type, type TSchema } from 'typebox';
import { codesOf, ErrorCode } from '../errors.js';
import { ETagHeader } from './conditional.js';
import { AllowHeader, RetryAfterHeader, WwwAuthenticateHeader } from './headers.js';

/**
 * Error bodies, for the OpenAPI document and the serializer: `{error, code, detail}`, `detail`
 * repeating `error` (what FastAPI frontends and RFC 9457 read). One named schema per status, whose
 * `code` is the enum of the codes that status can carry, with a matching example.
 */

/** What each status means, as the document says it. */
const MEANING: Record<number, [name: string, description: string]> = {
  400: ['ValidationError', 'Invalid input: a body, field, path or query parameter outside the contract (the message names it)'],
  401: ['UnauthorizedError', 'No usable token: missing or malformed Authorization header (UNAUTHORIZED), or a bad, expired or unverifiable token (INVALID_TOKEN)'],
  403: [
    'ForbiddenError',
    "The path's user is not the token's user, or the caller's role in the list does not allow the write (FORBIDDEN, naming the role it needs); " +
      'or the list\'s owner keeps the most tasks (TASK_LIMIT_REACHED) or owns the most lists (LIST_LIMIT_REACHED) allowed, or the list has the most members (MEMBER_LIMIT_REACHED), or keeps the most webhooks (WEBHOOK_LIMIT_REACHED)',
  ],
  404: ['NotFoundError', 'No such task or list for this user (a list they are not a member of does not exist for them), or no such route'],
  405: ['MethodNotAllowedError', 'Known path, other method; `Allow` lists the methods'],
  408: ['RequestTimeoutError', 'The request did not arrive in full within the request timeout (30 s)'],
  409: ['ConflictError', 'A request with this Idempotency-Key is still running (retry after `Retry-After`), a uid already in use, or the Inbox cannot be deleted'],
  410: ['CursorExpiredError', 'The cursor is older than the deletions kept (SYNC_RETENTION_DAYS): start again without `since`'],
  412: ['PreconditionFailedError', 'If-Match did not match the task\'s current version: nothing changed; `ETag` is the current one'],
  413: ['PayloadTooLargeError', 'The body is over the limit (default 64 KiB)'],
  415: ['UnsupportedMediaTypeError', 'A body that is not JSON'],
  422: ['IdempotencyKeyReusedError', 'This Idempotency-Key came with another method, path or body'],
  429: ['RateLimitedError', 'Over the rate limit; `Retry-After` says when to try again'],
  431: ['HeadersTooLargeError', 'The request headers are over the limit (16 KiB in all)'],
  500: ['InternalError', 'Something unexpected; nothing about it is in the body'],
  503: ['ServiceUnavailableError', 'The database (or the auth server, for a token that cannot be checked) is unreachable; nothing was written; retry after `Retry-After`'],
};

/** A message each code really carries, for the examples. */
const EXAMPLE: Record<ErrorCode, string> = {
  VALIDATION_ERROR: 'title must not be empty',
  UNAUTHORIZED: 'Missing Authorization header (expected: Bearer <token>)',
  INVALID_TOKEN: 'The token has expired',
  FORBIDDEN: "You can only access your own data: the path's user is not the token's user",
  TASK_LIMIT_REACHED: 'You keep 100000 tasks, the most allowed: delete some to create more',
  LIST_LIMIT_REACHED: 'You own 1000 lists, the most allowed: delete some to create more',
  MEMBER_LIMIT_REACHED: 'This list has 100 members, the most allowed',
  WEBHOOK_LIMIT_REACHED: 'You keep 20 webhooks, the most allowed: delete one to make another',
  NOT_FOUND: 'Task not found',
  METHOD_NOT_ALLOWED: 'Method not allowed here; allowed: GET, HEAD, POST',
  REQUEST_TIMEOUT: 'The request did not arrive in time',
  CONFLICT: 'A request with this Idempotency-Key is still running; retry in a moment',
  CURSOR_EXPIRED: 'The cursor is older than the deletions kept (30 days): start again without since',
  PRECONDITION_FAILED: 'The task has changed since the version in If-Match (it is now at version 4)',
  IDEMPOTENCY_KEY_REUSED: 'This Idempotency-Key was used with another method, path or body',
  PAYLOAD_TOO_LARGE: 'Request body is too large',
  UNSUPPORTED_MEDIA_TYPE: 'Request body must be JSON (Content-Type: application/json)',
  RATE_LIMITED: 'Too many requests; retry in 12 s',
  HEADERS_TOO_LARGE: 'The request headers are too large',
  INTERNAL_ERROR: 'Internal server error',
  SERVICE_UNAVAILABLE: 'The database is unavailable; try again shortly',
};

const HEADERS: Record<number, Record<string, TSchema>> = {
  401: { 'WWW-Authenticate': WwwAuthenticateHeader },
  405: { Allow: AllowHeader },
  409: { 'Retry-After': RetryAfterHeader },
  412: { ETag: ETagHeader },
  429: { 'Retry-After': RetryAfterHeader },
  503: { 'Retry-After': RetryAfterHeader },
};

function body(codes: readonly ErrorCode[], extra: Record<string, unknown>) {
  return Type.Object(
    {
      error: Type.String({ description: 'What went wrong, for people' }),
      code: Type.Unsafe<string>({ type: 'string', enum: [...codes], description: 'What went wrong, for programs' }),
      detail: Type.String({ description: 'The same text as `error` (FastAPI clients and RFC 9457 read `detail`)' }),
    },
    extra,
  );
}

/** Any error body: every code of the contract. */
export const ErrorSchema = body(Object.keys(ErrorCode) as ErrorCode[], {
  $id: 'Error',
  title: 'Error',
  examples: [{ error: EXAMPLE.NOT_FOUND, code: 'NOT_FOUND', detail: EXAMPLE.NOT_FOUND }],
});

/** The named error schemas, one per status (added to the app once, by plugins/openapi.ts). */
export const errorSchemas: TSchema[] = Object.entries(MEANING).map(([status, [name, description]]) => {
  const codes = codesOf(Number(status));
  return body(codes, {
    $id: name,
    title: name,
    description,
    examples: codes.map((c) => ({ error: EXAMPLE[c], code: c, detail: EXAMPLE[c] })),
  });
});

/**
 * The error responses of a route, for `schema.response`: each status refers to its named schema,
 * with the status's meaning and headers.
 */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(
    statuses.map((s) => {
      const meaning = MEANING[s];
      if (meaning === undefined) throw new Error(`no error schema for status ${s}`);
      return [s, { $ref: `${meaning[0]}#`, description: meaning[1], ...(HEADERS[s] ? { headers: HEADERS[s] } : {}) } as unknown as TSchema];
    }),
  );
}

/** The statuses every authenticated route can answer, besides its own. */
export const AUTHED = [401, 403, 429, 500, 503] as const;

/** The error body of the contract: `detail` repeats `error` (FastAPI clients read it). */
export function errorBody(error: string, code: string): { error: string; code: string; detail: string } {
  return { error, code, detail: error };
}

/** The error codes of the contract (API.md, Errors), with their status: the one catalog. */
export const ErrorCode = {
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  INVALID_TOKEN: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  TASK_LIMIT_REACHED: 403,
  LIST_LIMIT_REACHED: 403,
  MEMBER_LIMIT_REACHED: 403,
  WEBHOOK_LIMIT_REACHED: 403,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  CURSOR_EXPIRED: 410,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;
export type ErrorCode = keyof typeof ErrorCode;

/** The codes a status can carry, in catalog order. */
export function codesOf(status: number): ErrorCode[] {
  return (Object.keys(ErrorCode) as ErrorCode[]).filter((c) => ErrorCode[c] === status);
}

/** An error meant for the client: its message and code are sent in the contract's error body. */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: ErrorCode;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, headers?: Record<string, string>) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.statusCode = ErrorCode[code];
    this.headers = headers;
  }
}

export function rateLimited(retryAfter: number): ApiError {
  return new ApiError('RATE_LIMITED', `Too many requests; retry in ${retryAfter} s`, { 'retry-after': String(retryAfter) });
}

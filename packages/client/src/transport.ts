/**
 * The fetch every request goes through (openapi-fetch's `fetch` option): it adds the bearer token,
 * asks the token provider again once after a 401, and sends a request again when the API says so.
 *
 * Retried: 503 and 429 (the API answers them before doing anything: "fails fast and nothing is
 * half-written", so any method is safe to repeat), and 409 with Retry-After (an Idempotency-Key
 * whose first request is still running), waiting `Retry-After` (default 1 s) each time. A request
 * that got no answer at all (network error) is sent again only when repeating it is safe: GET,
 * HEAD, PUT, DELETE, or any request carrying an Idempotency-Key.
 */
import { errorFromResponse, parseRetryAfter, type ApiError } from './errors.js';
import type { TokenProvider } from './token.js';

export interface RetryOptions {
  /** Times a request is sent again. Default 3; 0 turns retrying off. */
  retries?: number;
  /** Longest wait before one retry; a longer `Retry-After` is not waited for (the error is thrown). Default 30 000. */
  maxDelayMs?: number;
  /** Wait when a retryable answer has no `Retry-After`, doubled each time. Default 1000. */
  baseDelayMs?: number;
}

export interface RetryEvent {
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  /** The status that caused it; 0 for a network error. */
  status: number;
  method: string;
  url: string;
}

export interface TransportOptions {
  fetch: (request: Request) => Promise<Response>;
  token?: TokenProvider | undefined;
  retry?: RetryOptions | undefined;
  onRetry?: ((event: RetryEvent) => void) | undefined;
  onUnauthorized?: ((error: ApiError) => void) | undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

function sleep(ms: number, signal: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function createTransport(options: TransportOptions): (request: Request) => Promise<Response> {
  const retries = options.retry?.retries ?? 3;
  const maxDelay = options.retry?.maxDelayMs ?? 30_000;
  const baseDelay = options.retry?.baseDelayMs ?? 1000;

  return async function send(original: Request): Promise<Response> {
    const repeatable = SAFE_METHODS.has(original.method) || original.headers.has('idempotency-key');
    let refreshed = false;
    let attempt = 0;
    for (;;) {
      const request = original.clone();
      if (options.token && !request.headers.has('authorization')) {
        const token = await options.token({ forceRefresh: refreshed });
        if (token) request.headers.set('authorization', `Bearer ${token}`);
      }
      let response: Response;
      try {
        response = await options.fetch(request);
      } catch (err) {
        if (original.signal.aborted || !repeatable || attempt >= retries) throw err;
        const delayMs = Math.min(baseDelay * 2 ** attempt, maxDelay);
        attempt++;
        options.onRetry?.({ attempt, delayMs, status: 0, method: original.method, url: original.url });
        await sleep(delayMs, original.signal);
        continue;
      }

      if (response.status === 401 && options.token && !refreshed && !original.headers.has('authorization')) {
        refreshed = true;
        await response.body?.cancel().catch(() => {});
        continue;
      }

      const retryable =
        response.status === 503 ||
        response.status === 429 ||
        (response.status === 409 && response.headers.has('retry-after'));
      if (retryable && attempt < retries) {
        const after = parseRetryAfter(response.headers.get('retry-after'));
        const delayMs = after !== null ? after * 1000 : Math.min(baseDelay * 2 ** attempt, maxDelay);
        if (delayMs <= maxDelay) {
          attempt++;
          await response.body?.cancel().catch(() => {});
          options.onRetry?.({ attempt, delayMs, status: response.status, method: original.method, url: original.url });
          await sleep(delayMs, original.signal);
          continue;
        }
      }

      if (response.status === 401 && options.onUnauthorized) {
        const body: unknown = await response
          .clone()
          .json()
          .catch(() => null);
        options.onUnauthorized(
          errorFromResponse(response, body, {
            method: original.method,
            url: original.url,
            idempotencyKey: original.headers.get('idempotency-key'),
          }),
        );
      }
      return response;
    }
  };
}

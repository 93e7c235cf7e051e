import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './error-handler.js';

/** Refused origins are logged one by one up to this many, then once more, in a summary. */
const MAX_LOGGED_ORIGINS = 100;

/**
 * Origins from CORS_ORIGINS only, with credentials; other origins get no Access-Control-Allow-Origin.
 * A preflight from another origin is answered as what it is, a refused origin (403, with the
 * contract's error body), not as a missing route, and the first one from each origin is logged with
 * the origin, CORS_ORIGINS and the likely slip (localhost vs 127.0.0.1, the port, http vs https).
 */
export async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  const allowed = new Set(origins);
  const logged = new Set<string>();
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (request.method !== 'OPTIONS' || origin === undefined || request.headers['access-control-request-method'] === undefined) return;
    if (allowed.has(origin)) return;
    if (!logged.has(origin) && logged.size <= MAX_LOGGED_ORIGINS) {
      logged.add(origin);
      const cap = logged.size > MAX_LOGGED_ORIGINS;
      request.log.warn(
        { origin: origin.slice(0, 200), corsOrigins: origins },
        cap
          ? `CORS: refused preflights from more than ${MAX_LOGGED_ORIGINS} origins not in CORS_ORIGINS; further ones are not logged`
          : refusalMessage(origin, origins),
      );
    }
    reply.header('vary', 'Origin');
    return reply
      .code(403)
      .send(errorBody(`The origin ${origin.slice(0, 200)} is not allowed to call this API (the API's CORS_ORIGINS lists the allowed ones)`, 'FORBIDDEN'));
  });
  await app.register(cors, {
    origin: (origin, cb) => cb(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'Last-Event-ID'],
    exposedHeaders: ['ETag', 'Link', 'Retry-After', 'X-Request-Id', 'Idempotent-Replayed', 'WWW-Authenticate'],
    maxAge: 600,
    strictPreflight: false,
  });
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The warning for a refused origin: what came, what is allowed, and the closest slip. */
export function refusalMessage(origin: string, origins: readonly string[]): string {
  const list = origins.length === 0 ? 'nothing' : origins.join(', ');
  const head = `CORS: refused a preflight from origin ${origin.slice(0, 200)}, which is not in CORS_ORIGINS (${list})`;
  const tail = 'add it to CORS_ORIGINS (comma-separated, scheme://host:port) if it is your frontend';
  if (origin === 'null') return `${head}: a page opened from a file:// URL or a sandboxed frame sends Origin: null; serve the page over http(s)`;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return `${head}; ${tail}`;
  }
  for (const o of origins) {
    const a = new URL(o);
    const samePort = a.port === url.port;
    if (a.protocol === url.protocol && samePort && a.hostname !== url.hostname && LOOPBACK.has(a.hostname) && LOOPBACK.has(url.hostname)) {
      return `${head}: ${url.hostname} and ${a.hostname} are different origins to a browser; ${tail}`;
    }
    if (a.hostname === url.hostname && a.protocol === url.protocol && !samePort) {
      return `${head}: the port differs from ${o}; ${tail}`;
    }
    if (a.hostname === url.hostname && a.protocol !== url.protocol) {
      return `${head}: the scheme differs from ${o} (http vs https); ${tail}`;
    }
  }
  return `${head}; ${tail}`;
}

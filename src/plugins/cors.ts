import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/** Origins from CORS_ORIGINS only, with credentials; other origins get no Access-Control-Allow-Origin. */
export async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  const allowed = new Set(origins);
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

import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { verifierFromConfig, type TokenVerifier } from './auth/verifier.js';
import { authHook } from './auth/auth.hook.js';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import type { DataDirLock } from './db/data-dir.js';
import { openDatabase } from './db/open.js';
import { ApiError } from './errors.js';
import { healthRoutes } from './health/health.routes.js';
import { RequestLog } from './lib/request-log.js';
import { memoryRateLimiter, redisRateLimiter, type RateLimiter } from './lib/rate-limiter.js';
import { registerCors } from './plugins/cors.js';
import { frameworkError, installErrorHandlers } from './plugins/error-handler.js';
import { register405Routes, trackRoutes } from './plugins/method-not-allowed.js';
import { registerOpenApi } from './plugins/openapi.js';
import { installValidators } from './plugins/validation.js';
import { createTasksRepository } from './tasks/tasks.repository.js';
import { tasksRoutes } from './tasks/tasks.routes.js';

declare module 'fastify' {
  interface FastifyInstance {
    database: Database;
  }
}

export interface AppDependencies {
  /** An open database to use instead of the one the config names (tests); the app will not close it. */
  database?: Database;
  /** A verifier to use instead of the one the config names. */
  verifier?: TokenVerifier;
  /** The DATA_DIR lock, when the caller (the server) took it before anything else. */
  dataDirLock?: DataDirLock;
}

const JSON_API_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

async function createLimiter(app: FastifyInstance, config: Config): Promise<RateLimiter | undefined> {
  if (config.rateLimitPerMinute === 0) return undefined;
  if (config.redisUrl === undefined) return memoryRateLimiter(config.rateLimitPerMinute);
  let warned = 0;
  return redisRateLimiter({
    url: config.redisUrl,
    limit: config.rateLimitPerMinute,
    onError: (err) => {
      // At most one warning a minute: Redis being down must not flood the log.
      if (Date.now() - warned < 60_000) return;
      warned = Date.now();
      app.log.warn({ err }, 'rate limiter: Redis unreachable, allowing requests');
    },
  });
}

/**
 * Builds the whole app from a validated config: the same function serves production and tests.
 * Infrastructure first (validation, errors, database, CORS, OpenAPI), then routes.
 */
export async function buildApp(config: Config, deps: AppDependencies = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
    },
    logController: new RequestLog(),
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    connectionTimeout: 60_000,
    keepAliveTimeout: 72_000,
    requestTimeout: 30_000,
    // While closing, requests on open connections are still served (no half-answered 503s);
    // new connections are refused by the closed listener.
    return503OnClosing: false,
    frameworkErrors: frameworkError,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 300 },
  });
  app.decorateRequest('userId', undefined);

  installValidators(app);

  // JSON bodies; an empty body is "no body" (PATCH .../complete with Content-Type: application/json).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new ApiError('VALIDATION_ERROR', 'Request body is not valid JSON'), undefined);
    }
  });

  const database = deps.database ?? (await openDatabase(config, app.log, deps.dataDirLock));
  app.decorate('database', database);
  installErrorHandlers(app, (err) => database.noteFailure(err));
  if (deps.database === undefined) app.addHook('onClose', async () => database.close());

  const verifier = deps.verifier ?? verifierFromConfig(config);
  const limiter = await createLimiter(app, config);
  app.addHook('onClose', async () => {
    await verifier.close();
    await limiter?.close();
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // Security headers for a JSON API; /docs is an HTML page with its own scripts and styles.
    if (!request.url.startsWith('/docs')) reply.headers(JSON_API_HEADERS);
  });

  const routes = trackRoutes(app);
  await registerCors(app, config.corsOrigins);
  await registerOpenApi(app);
  await app.register(healthRoutes, { ready: () => database.ready(), timeoutMs: Math.min(config.databaseTimeoutMs, 2000) });
  await app.register(
    async (api) => {
      api.addHook('onRequest', authHook(verifier, limiter));
      await api.register(tasksRoutes, { repository: createTasksRepository(database, config.maxTasksPerList) });
    },
    { prefix: '/api/:user_id/tasks' },
  );
  await app.after();
  register405Routes(app, routes);
  return app;
}

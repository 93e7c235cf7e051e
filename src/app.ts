import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { verifierFromConfig, type TokenVerifier } from './auth/verifier.js';
import { authHook } from './auth/auth.hook.js';
import type { Config } from './config.js';
import { createDatabase, type Database } from './db/client.js';
import { migrate } from './db/migrate.js';
import { ApiError } from './errors.js';
import { healthRoutes } from './health/health.routes.js';
import { RequestLog } from './lib/request-log.js';
import { memoryRateLimiter, type RateLimiter } from './lib/rate-limiter.js';
import { registerCors } from './plugins/cors.js';
import { installErrorHandlers } from './plugins/error-handler.js';
import { register405Routes, trackRoutes } from './plugins/method-not-allowed.js';
import { registerOpenApi } from './plugins/openapi.js';
import { installValidators } from './plugins/validation.js';
import { createTasksRepository } from './tasks/tasks.repository.js';
import { tasksRoutes } from './tasks/tasks.routes.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    database: Database;
  }
}

export interface AppDependencies {
  /** An open database to use instead of the one the config names (tests); the app will not close it. */
  database?: Database;
  /** A verifier to use instead of the one the config names. */
  verifier?: TokenVerifier;
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
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 300 },
  });
  app.decorate('config', config);
  app.decorateRequest('userId', undefined);

  installValidators(app);
  installErrorHandlers(app);

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

  const database = deps.database ?? (await createDatabase(config));
  app.decorate('database', database);
  if (deps.database === undefined) app.addHook('onClose', async () => database.close());
  await migrate(database.db);

  const verifier = deps.verifier ?? verifierFromConfig(config);
  const limiter: RateLimiter | undefined =
    config.rateLimitPerMinute > 0 ? memoryRateLimiter(config.rateLimitPerMinute) : undefined;
  app.addHook('onClose', async () => {
    await verifier.close();
    await limiter?.close();
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  const routes = trackRoutes(app);
  await registerCors(app, config.corsOrigins);
  await registerOpenApi(app);
  await app.register(healthRoutes, { ping: () => database.ping(), timeoutMs: Math.min(config.databaseTimeoutMs, 2000) });
  await app.register(
    async (api) => {
      api.addHook('onRequest', authHook(verifier, limiter));
      await api.register(tasksRoutes, { repository: createTasksRepository(database.db, config.maxTasksPerList) });
    },
    { prefix: '/api/:user_id/tasks' },
  );
  await app.after();
  register405Routes(app, routes);
  return app;
}

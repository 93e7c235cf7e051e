import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { verifierFromConfig, type TokenVerifier } from './auth/verifier.js';
import { authHook } from './auth/auth.hook.js';
import type { Config } from './config.js';
import { createDatabase, type Database } from './db/client.js';
import { isDatabaseUnavailable } from './db/errors.js';
import { migrate } from './db/migrate.js';
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
 * Applies migrations, which is also the first contact with the database. An unreachable database
 * is retried with backoff for DATABASE_CONNECT_RETRY_MS (a database starting next to us, a network
 * blip), then start-up fails with one line. Any other error (bad credentials, no such database)
 * fails at once.
 */
async function migrateWhenReachable(database: Database, config: Config, app: FastifyInstance): Promise<void> {
  const started = Date.now();
  const deadline = started + config.databaseConnectRetryMs;
  for (let delay = 250, attempt = 1; ; attempt++, delay = Math.min(delay * 2, 4000)) {
    try {
      const applied = await migrate(database.db);
      if (applied.length > 0) app.log.info({ applied }, 'migrations applied');
      return;
    } catch (err) {
      const left = deadline - Date.now();
      const unreachable = isDatabaseUnavailable(err);
      if (!unreachable || left <= 0) {
        await database.close().catch(() => {});
        const seconds = Math.round((Date.now() - started) / 100) / 10;
        throw new StartupError(describeDbFailure(config, err, unreachable ? { attempt, seconds } : undefined));
      }
      const wait = Math.min(delay, left);
      app.log.warn({ attempt, retryInMs: wait, reason: errorCode(err) }, 'database unreachable; retrying');
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

export class StartupError extends Error {
  override name = 'StartupError';
}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown; message?: unknown }; message?: unknown };
  return String(e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? 'error');
}

/** One line, naming where (host and port, never the password) and why. */
function describeDbFailure(config: Config, err: unknown, retried: { attempt: number; seconds: number } | undefined): string {
  const where = config.databaseUrl === undefined ? `embedded database in ${config.dataDir}` : hostOf(config.databaseUrl);
  if (retried) {
    return `database unreachable at ${where} after ${retried.attempt} attempts over ${retried.seconds} s (${errorCode(err)})`;
  }
  const cause = (err as { cause?: { message?: unknown } }).cause?.message ?? (err as Error).message;
  return `database at ${where} refused to start the service: ${String(cause).split('\n')[0]}`;
}

function hostOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
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
  await migrateWhenReachable(database, config, app);

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
  await app.register(healthRoutes, { ping: () => database.ping(), timeoutMs: Math.min(config.databaseTimeoutMs, 2000) });
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

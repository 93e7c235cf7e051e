import Fastify, { type FastifyInstance } from 'fastify';
import { apiRoutes } from './api.js';
import { verifierFromConfig, type TokenVerifier } from './auth/verifier.js';
import { openFileLimit, type Config } from './config.js';
import type { Database } from './db/client.js';
import type { DataDirLock } from './db/data-dir.js';
import { openDatabase } from './db/open.js';
import { healthRoutes } from './health/health.routes.js';
import { jobQueueConnection, startJobProcess, startJobs } from './background.js';
import type { JobHandler } from './jobs/jobs.js';
import { installJobQueue } from './jobs/runner.js';
import { createPushRepository } from './push/push.repository.js';
import { pushPublicKeyRoutes } from './push/push.routes.js';
import { pushSchemas } from './push/push.schemas.js';
import { ErrorSchema, errorSchemas } from './http/errors.js';
import { prettyLogStream } from './lib/pretty-log.js';
import { limiterFromConfig } from './lib/rate-limiter.js';
import { requestIdOf } from './lib/request-id.js';
import { RequestLog } from './lib/request-log.js';
import { registerCors } from './plugins/cors.js';
import { installConnectionLimits, proxyPeers } from './plugins/connection-limits.js';
import { clientErrorHandler, frameworkError, installErrorHandlers } from './plugins/error-handler.js';
import { installJsonBody } from './plugins/json-body.js';
import { register405Routes, trackRoutes } from './plugins/method-not-allowed.js';
import { registerOpenApi } from './plugins/openapi.js';
import { installSecurityHeaders } from './plugins/security-headers.js';
import { installValidators } from './plugins/validation.js';
import { tagSchemas } from './tags/tags.schemas.js';
import { startLiveUpdates, type LiveUpdates } from './sync/live.js';
import { syncSchemas } from './sync/sync.schemas.js';
import { taskSchemas } from './tasks/tasks.schemas.js';
import { TASK_FEED } from './tasks/tasks.feed.js';
import { LIST_FEED } from './lists/lists.feed.js';
import { listSchemas } from './lists/lists.schemas.js';
import { trashSchemas } from './trash/trash.schemas.js';
import { sharingSchemas } from './lists/sharing.schemas.js';
import { icalRoutes } from './calendar/ical.routes.js';
import { createCalendarRepository } from './calendar/calendar.repository.js';
import { CalendarFeedCreateSchema, CalendarFeedSchema } from './calendar/calendar.schemas.js';
import { webhookSchemas } from './webhooks/webhooks.schemas.js';
import { lazySerializers } from './http/serializers.js';

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
  /** Where log lines go instead of standard output (pretty logs: src/lib/pretty-log.ts). */
  logStream?: NodeJS.WritableStream;
  /** Job handlers beside the app's own (tests: a job whose effect they count). */
  jobHandlers?: readonly JobHandler<never>[];
}

/** The named schemas: shared by validation, serialization and the document's components. */
/** What users' feeds carry (src/sync/feed.ts): each resource's kind. */
const FEED_KINDS = [TASK_FEED, LIST_FEED];
const SCHEMAS = [
  ErrorSchema,
  ...errorSchemas,
  ...taskSchemas,
  ...listSchemas,
  ...trashSchemas,
  ...sharingSchemas,
  ...tagSchemas,
  ...pushSchemas,
  ...syncSchemas(FEED_KINDS),
  CalendarFeedSchema,
  CalendarFeedCreateSchema,
  ...webhookSchemas,
];

/**
 * TRUST_PROXY for Fastify. A hop count is a function: Fastify 5 itself ignores a number (it cannot
 * check the peer), and `true` would believe the left-most X-Forwarded-For entry, which the client
 * writes. With n hops, the n right-most addresses (the socket's included) are our proxies'.
 */
export function trustProxyOption(trust: Config['trustProxy']): false | string[] | ((address: string, hop: number) => boolean) {
  if (trust === false || trust === 0) return false;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return [...trust];
}

function fastifyOptions(config: Config, logStream: NodeJS.WritableStream | undefined) {
  return {
    logger: {
      level: config.logLevel,
      ...(logStream ? { stream: logStream } : {}),
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
    },
    logController: new RequestLog(),
    bodyLimit: config.bodyLimit,
    trustProxy: trustProxyOption(config.trustProxy),
    // X-Request-Id is read by genReqId, which takes it only when short and safe.
    requestIdHeader: false as const,
    genReqId: requestIdOf,
    connectionTimeout: 60_000,
    // Longer than a load balancer's idle timeout (AWS ALB, nginx: 60 s), so that the balancer, not
    // we, closes an idle connection: it never sends a request on a socket we are closing.
    keepAliveTimeout: config.keepAliveTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    // Two things made a request that trickles in end 40-70 s after it began, not at 30 s:
    // - Node's headersTimeout (60 s by default) was above requestTimeout, and Node then swaps
    //   the two: the whole request got 60 s. Headers get the same bound as the request.
    // - Node checks both only every connectionsCheckingInterval (30 s by default). Checked every
    //   second (a walk over the open connections), a request ends within a second of its bound.
    http: { headersTimeout: config.requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, config.requestTimeoutMs) },
    // While closing, requests on open connections are still served (no half-answered 503s);
    // new connections are refused by the closed listener.
    return503OnClosing: false,
    frameworkErrors: frameworkError,
    clientErrorHandler,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 300 },
    schemaController: { compilersFactory: { buildSerializer: lazySerializers() } },
  };
}

/**
 * The document's `servers`: PUBLIC_URL, or `/`, relative to wherever the document was read from
 * (the docs page then calls the server that served it, whatever address, port or proxy it was
 * reached through).
 */
export function documentServer(config: Config): string {
  return config.publicUrl ?? '/';
}

/** Where clients reach the API, for the start line. */
export function serverUrl(config: Config): string {
  if (config.publicUrl !== undefined) return config.publicUrl;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

/**
 * Builds the whole app from a validated config: the same function serves production and tests.
 * Request handling first (validation, bodies, errors), then the resources it needs (database,
 * token verifier, rate limiter), then the routes.
 */
export async function buildApp(config: Config, deps: AppDependencies = {}): Promise<FastifyInstance> {
  const logStream = deps.logStream ?? (config.logFormat === 'pretty' ? await prettyLogStream() : undefined);
  const app = Fastify(fastifyOptions(config, logStream));
  app.decorateRequest('userId', undefined);
  app.decorateRequest('tokenRefused', undefined);
  app.decorateRequest('profile', undefined);
  installValidators(app, SCHEMAS);
  installJsonBody(app);
  installSecurityHeaders(app);
  installConnectionLimits(app, {
    maxTotal: config.maxConnections,
    maxPerIp: config.maxConnectionsPerIp,
    // Refused connections may use the descriptors above MAX_CONNECTIONS, but for 64.
    hardTotal: Math.max(config.maxConnections + 64, (openFileLimit() ?? 0) - 64),
    exempt: proxyPeers(config.trustProxy),
  });

  const database = deps.database ?? (await openDatabase(config, app.log, deps.dataDirLock));
  if (deps.database === undefined) app.addHook('onClose', async () => database.close());
  app.decorate('database', database);
  installErrorHandlers(app, (err) => database.noteFailure(err));

  const verifier = deps.verifier ?? verifierFromConfig(config, { sql: database.sql, prepare: database.prepare });
  const limiter = await limiterFromConfig(config, app.log);
  app.addHook('onClose', async () => {
    await verifier.close();
    await limiter?.close();
  });

  // Background jobs (src/background.ts): the queue's schema beside the app's migrations, then this
  // instance's runner, in its own process (the default) or in this one. Stopped before the pool
  // closes: a job in flight finishes, or is released for a retry.
  await installJobQueue(jobQueueConnection(config, database), app.log);
  const push = createPushRepository(database);
  const jobs = config.jobsConcurrency > 0 ? config.jobsProcess : 'none';
  if (jobs === 'separate' && deps.jobHandlers !== undefined) throw new Error('jobHandlers run in the app\'s process: set jobsProcess to inline');
  // Set below, once live updates run (a reminder fired before that reaches push and webhooks).
  // eslint-disable-next-line prefer-const -- assigned after the runner starts, read by its handler
  let liveUpdates: LiveUpdates | undefined;
  if (jobs === 'inline') {
    const runner = await startJobs({ config, database, live: () => liveUpdates, log: app.log, ...(deps.jobHandlers ? { extraHandlers: deps.jobHandlers } : {}) });
    app.addHook('preClose', async () => runner.stop());
  }

  const live = await startLiveUpdates(config, database, app.log, FEED_KINDS);
  liveUpdates = live;
  if (jobs === 'separate') {
    const jobProcess = startJobProcess({ config, database, live, log: app.log });
    app.addHook('preClose', async () => jobProcess.stop());
  }
  // Before the server closes: open event streams must not hold the shutdown.
  app.addHook('preClose', async () => live.endStreams());
  app.addHook('onClose', async () => live.close());

  const routes = trackRoutes(app);
  await registerCors(app, config.corsOrigins);
  await registerOpenApi(app, { serverUrl: documentServer(config) });
  await app.register(healthRoutes, { ready: () => database.ready(), timeoutMs: Math.min(config.databaseTimeoutMs, 2000) });
  await app.register(pushPublicKeyRoutes, { prefix: '/push', publicKey: config.vapid?.publicKey });
  await app.register(icalRoutes, { repository: createCalendarRepository(database, { maxFeedsPerUser: config.maxCalendarFeedsPerUser }), limiter });
  await app.register(apiRoutes, { prefix: '/api/:user_id', verifier, limiter, database, live, push, limits: config });
  await app.after();
  register405Routes(app, routes);
  return app;
}

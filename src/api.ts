import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { createAccess, type AccessScope } from './access/scope.js';
import { createProfiles } from './access/profiles.js';
import { authHook } from './auth/auth.hook.js';
import type { TokenVerifier } from './auth/verifier.js';
import type { Database } from './db/client.js';
import { ApiError } from './errors.js';
import { ReadLimits } from './lib/keyed-limit.js';
import type { RateLimiter } from './lib/rate-limiter.js';
import { PageCache } from './tasks/page-cache.js';
import { createTasksRepository } from './tasks/tasks.repository.js';
import { tasksRoutes } from './tasks/tasks.routes.js';
import { createTaskTree } from './tasks/tasks.tree.js';
import type { Config } from './config.js';
import { changesRoutes } from './sync/changes.routes.js';
import { eventsRoutes } from './sync/events.routes.js';
import { createIdempotency } from './writes/idempotency.js';
import { createWritePipeline } from './writes/pipeline.js';
import type { LiveUpdates } from './sync/live.js';
import { createTagsRepository } from './tags/tags.repository.js';
import type { PushRepository } from './push/push.repository.js';
import { pushSubscriptionRoutes } from './push/push.routes.js';
import { tagsRoutes } from './tags/tags.routes.js';
import { createListsRepository } from './lists/lists.repository.js';
import { LIST_FEED } from './lists/lists.feed.js';
import { listsRoutes } from './lists/lists.routes.js';
import { createSharingRepository } from './lists/sharing.repository.js';
import { acceptRoutes, sharingRoutes } from './lists/sharing.routes.js';
import { TASK_FEED } from './tasks/tasks.feed.js';
import { createTrashRepository } from './trash/trash.repository.js';
import { trashRoutes } from './trash/trash.routes.js';
import { calendarRoutes } from './calendar/calendar.routes.js';
import { webhooksRoutes } from './webhooks/webhooks.routes.js';
import { createWebhooksRepository } from './webhooks/webhooks.repository.js';
import { createCalendarRepository } from './calendar/calendar.repository.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who asks, as the access room resolved it (src/access/): set for every route under /api. */
    scope: AccessScope;
  }
}

export interface ApiOptions {
  verifier: TokenVerifier;
  limiter: RateLimiter | undefined;
  database: Database;
  live: LiveUpdates;
  push: PushRepository;
  limits: Pick<
    Config,
    | 'bodyLimit'
    | 'maxTasksPerPage'
    | 'maxTasksPerUser'
    | 'maxListsPerUser'
    | 'maxMembersPerList'
    | 'syncRetentionDays'
    | 'syncPurgeIntervalMs'
    | 'trashRetentionDays'
    | 'pageCacheBytes'
    | 'readsInFlightPerUser'
    | 'costlyReadsInFlightPerUser'
    | 'syncMaxDeletionsPerUser'
    | 'idempotencyMaxKeysPerUser'
    | 'vapid'
    | 'pushAllowPrivate'
    | 'pushMaxSubscriptionsPerUser'
    | 'maxCalendarFeedsPerUser'
    | 'maxWebhooksPerUser'
    | 'webhooksAllowPrivate'
  >;
}

/** The body limit of POST /tasks/batch (or BODY_LIMIT when that is larger). */
const BATCH_BODY_LIMIT = 2 * 1024 * 1024;

/** `{user_id}` must be the token's user; every query filters by the token's user besides. */
async function pathUserIsTokenUser(request: FastifyRequest): Promise<void> {
  if ((request.params as { user_id?: string }).user_id !== request.userId) {
    throw new ApiError('FORBIDDEN', "You can only access your own data: the path's user is not the token's user");
  }
}

/**
 * Everything under /api/:user_id. Authentication (then the rate limit, then the path's user) is
 * added here once, in onRequest, so it runs before any body is read or validated. Each resource
 * is a plugin with a relative prefix: a new one is its own folder plus one line here.
 */
export const apiRoutes: FastifyPluginAsync<ApiOptions> = async (api, { verifier, limiter, database, live, push, limits }) => {
  api.addHook('onRequest', authHook(verifier, limiter, (ticket) => live.repository.redeemTicket(ticket)));
  api.addHook('onRequest', pathUserIsTokenUser);
  // Once per request, after authentication: who asks (and their Inbox, made on their first request).
  const profiles = createProfiles(database);
  const access = createAccess(database, { inboxFeedKind: LIST_FEED.id });
  api.decorateRequest('scope', null as unknown as AccessScope);
  // After the body is read (a request whose client has sent it and gone still runs, as before the
  // look-up existed) and before validation and the handler.
  api.addHook('preValidation', async (request) => {
    request.scope = await access.resolve(request.userId as string);
    await profiles.note(request.scope.userId, request.profile);
  });
  const idempotent = createIdempotency(database, { maxKeysPerUser: limits.idempotencyMaxKeysPerUser });
  // Every resource's writes run through one pipeline (src/writes/pipeline.ts).
  const pipeline = createWritePipeline({ idempotent, changed: live.changed });
  // Every handler of the API is held until it ends (src/writes/pipeline.ts, hold).
  api.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function held(this: unknown, request, reply) {
      return pipeline.hold(Promise.resolve(handler.call(this as never, request, reply)));
    };
  });
  // On close, before the pool closes: the access look-ups under way, then the handlers they lead to.
  api.addHook('onClose', async () => {
    await access.drain(4000);
    await pipeline.drain();
  });
  // A user's reads in flight at once from this process, and of them the costly ones (no index narrows
  // them: a one-letter q over 100k tasks, /tags): one user's expensive queries take at most that many
  // of the pool's connections and of the database's cores, never everyone's.
  const reads = new ReadLimits(limits.readsInFlightPerUser, limits.costlyReadsInFlightPerUser);
  const retentionDays = limits.syncRetentionDays;
  await api.register(tasksRoutes, {
    prefix: '/tasks',
    repository: createTasksRepository(database, { maxTasksPerUser: limits.maxTasksPerUser, maxDeletionsPerUser: limits.syncMaxDeletionsPerUser }),
    tree: createTaskTree(database, { maxTasksPerUser: limits.maxTasksPerUser, maxDeletionsPerUser: limits.syncMaxDeletionsPerUser }),
    maxTasksPerPage: limits.maxTasksPerPage,
    maxTasksPerUser: limits.maxTasksPerUser,
    pipeline,
    changes: { current: (userId) => live.repository.current(userId) },
    pageCache: new PageCache(limits.pageCacheBytes),
    reads,
    database,
    // A batch of 100 creates, every field at its longest, in UTF-8: about 1 MiB (test/tasks/batch.test.ts).
    batchBodyLimit: Math.max(limits.bodyLimit, BATCH_BODY_LIMIT),
  });
  await api.register(webhooksRoutes, {
    prefix: '/webhooks',
    repository: createWebhooksRepository(database, { maxPerUser: limits.maxWebhooksPerUser }),
    pipeline,
    maxPerUser: limits.maxWebhooksPerUser,
    allowPrivate: limits.webhooksAllowPrivate,
  });
  await api.register(calendarRoutes, {
    prefix: '/calendar-feeds',
    repository: createCalendarRepository(database, { maxFeedsPerUser: limits.maxCalendarFeedsPerUser }),
    pipeline,
    maxFeedsPerUser: limits.maxCalendarFeedsPerUser,
  });
  await api.register(trashRoutes, {
    prefix: '/trash',
    repository: createTrashRepository(database, { retentionDays: limits.trashRetentionDays, maxTasksPerUser: limits.maxTasksPerUser }),
    pipeline,
    reads,
    purgeIntervalMs: limits.syncPurgeIntervalMs,
  });
  await api.register(tagsRoutes, { prefix: '/tags', repository: createTagsRepository(database), reads });
  const lists = createListsRepository(database, {
    maxListsPerUser: limits.maxListsPerUser,
    taskFeedKind: TASK_FEED.id,
    maxDeletionsPerUser: limits.syncMaxDeletionsPerUser,
  });
  await api.register(listsRoutes, {
    prefix: '/lists',
    repository: lists,
    pipeline,
    changes: { current: (userId) => live.repository.current(userId) },
    reads,
    maxListsPerUser: limits.maxListsPerUser,
  });
  const sharing = {
    database,
    lists,
    sharing: createSharingRepository({
      taskFeedKind: TASK_FEED.id,
      maxMembersPerList: limits.maxMembersPerList,
      maxListsPerUser: limits.maxListsPerUser,
      maxInvitationsPerList: 100,
      maxDeletionsPerUser: limits.syncMaxDeletionsPerUser,
    }),
    pipeline,
    reads,
    limiter,
    maxMembersPerList: limits.maxMembersPerList,
    maxListsPerUser: limits.maxListsPerUser,
  };
  await api.register(sharingRoutes, { prefix: '/lists', ...sharing });
  await api.register(acceptRoutes, { prefix: '/invitations', ...sharing });
  await api.register(changesRoutes, { prefix: '/tasks/changes', repository: live.repository, retentionDays, reads });
  await api.register(pushSubscriptionRoutes, {
    prefix: '/push-subscriptions',
    repository: push,
    pipeline,
    enabled: limits.vapid !== undefined,
    allowPrivate: limits.pushAllowPrivate,
    maxPerUser: limits.pushMaxSubscriptionsPerUser,
  });
  await api.register(eventsRoutes, { prefix: '/tasks/events', repository: live.repository, hub: live.hub, idempotent, retentionDays, ticketTtlMs: 60_000 });
};

export {
  TaskClient,
  createTaskClient,
  newIdempotencyKey,
  newUid,
  versionFromEtag,
  type BatchOptions,
  type CallOptions,
  type ConditionalUpdate,
  type CreateOptions,
  type IfMatch,
  type ListOptions,
  type ListQuery,
  type ListTasks,
  type TaskClientOptions,
  type TaskPage,
  type WriteOptions,
} from './client.js';
export { ApiError, isApiError, parseRetryAfter } from './errors.js';
export type { ConnectionState, EventHandlers, EventSourceConstructor, EventSourceLike, SubscribeOptions, Unsubscribe } from './events.js';
export { TaskReplica, type ReplicaListener, type ReplicaOptions } from './replica.js';
export { cachedToken, jwtExpiry, type CachedToken, type TokenProvider } from './token.js';
export type { RetryEvent, RetryOptions } from './transport.js';
export type {
  ApiPaths,
  BatchOperation,
  BatchRequest,
  BatchResult,
  Change,
  ChangesPage,
  FeedEntry,
  ListChange,
  ErrorBody,
  ErrorCode,
  EventTicket,
  ListBody,
  ListQueryWire,
  Priority,
  Sort,
  SortKey,
  StatusFilter,
  TagCount,
  Task,
  TaskCreate,
  TaskUpdate,
  List,
  ListCreate,
  ListUpdate,
  TaskMove,
  Member,
  Invitation,
  InvitationCreated,
  Role,
} from './types.js';
export { buildTree, type TaskNode } from './tree.js';
export type { paths, components } from './schema.js';

/**
 * The types the helpers use, all from the generated `schema.d.ts` (openapi-typescript, from the
 * API's live /openapi.json). They are taken from the paths, not from schema names, so a renamed
 * component changes nothing here; a changed field, parameter or status fails the build.
 */
import type { components, paths } from './schema.js';

/** The paths openapi-fetch is typed with. */
export type ApiPaths = paths;

type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type ResponseJson<Op, Status extends number> = Op extends { responses: infer Rs }
  ? Status extends keyof Rs
    ? JsonOf<Rs[Status]>
    : never
  : never;
type RequestJson<Op> = Op extends { requestBody?: infer B } ? JsonOf<NonNullable<B>> : never;
type DataOf<T> = T extends { data: infer D } ? D : never;

type TasksPath = ApiPaths['/api/{user_id}/tasks'];
type TaskPath = ApiPaths['/api/{user_id}/tasks/{id}'];

/** A task (`data` of GET /api/{user_id}/tasks/{id}). */
export type Task = DataOf<ResponseJson<TaskPath['get'], 200>>;
/** POST /api/{user_id}/tasks body. */
export type TaskCreate = RequestJson<TasksPath['post']>;
/** PUT /api/{user_id}/tasks/{id} body: any subset; `description: null`, `tags: []`, `due_at: null` clear. */
export type TaskUpdate = RequestJson<TaskPath['put']>;
/** The list's query string, as sent on the wire. */
export type ListQueryWire = NonNullable<TasksPath['get']['parameters']['query']>;
/** The list's 200 body (`next_cursor` only with `limit` or `cursor`). */
export type ListBody = ResponseJson<TasksPath['get'], 200>;
/** One entry of GET /api/{user_id}/tags. */
export type TagCount = DataOf<ResponseJson<ApiPaths['/api/{user_id}/tags']['get'], 200>> extends (infer T)[] ? T : never;
/** `data` of GET /api/{user_id}/tasks/changes. */
export type ChangesPage = DataOf<ResponseJson<ApiPaths['/api/{user_id}/tasks/changes']['get'], 200>>;
/** Any entry of /changes: the task entries, and the list entries sent only with `include=lists`. */
export type FeedEntry = ChangesPage extends { changes: (infer C)[] } ? C : never;
/** One change of a task: `{type: 'upsert', task}` or `{type: 'delete', id}` (also the data of one stream event): all a client gets without `include=lists`. */
export type Change = Extract<FeedEntry, { type: 'upsert' | 'delete' }>;
/** One change of a list (`include=lists`): `{type: 'list_upsert', list}` or `{type: 'list_delete', id}`. */
export type ListChange = Exclude<FeedEntry, Change>;
/** `data` of POST /api/{user_id}/tasks/events/ticket. */
export type EventTicket = DataOf<ResponseJson<ApiPaths['/api/{user_id}/tasks/events/ticket']['post'], 201>>;

type ListsPath = ApiPaths['/api/{user_id}/lists'];
type ListPath = ApiPaths['/api/{user_id}/lists/{list_id}'];

/** A list as the caller sees it (their role, their own position). */
export type List = DataOf<ResponseJson<ListPath['get'], 200>>;
/** POST /api/{user_id}/lists body. */
export type ListCreate = RequestJson<ListsPath['post']>;
/** PUT /api/{user_id}/lists/{list_id} body. */
export type ListUpdate = RequestJson<ListPath['put']>;
type BatchPost = ApiPaths['/api/{user_id}/tasks/batch']['post'];
/** POST /api/{user_id}/tasks/batch body: `{atomic?, operations}`. */
export type BatchRequest = RequestJson<BatchPost>;
/** One operation of a batch: `{op: 'create', task}`, `{op: 'update', id | uid, if_match?, task}`, `complete`, `move`, `delete`. */
export type BatchOperation = BatchRequest extends { operations: (infer O)[] } ? O : never;
/** One operation's answer, as its own route gives it: `{status, data, message}` or `{status, error, code, detail}`. */
export type BatchResult = DataOf<ResponseJson<BatchPost, 200>> extends { results: (infer R)[] } ? R : never;
type CompletionsGet = ApiPaths['/api/{user_id}/tasks/{id}/completions']['get'];
/** One completion of a recurring task: `{occurrence_due_at, completed_at, completed_by}`. */
export type TaskCompletion = DataOf<ResponseJson<CompletionsGet, 200>> extends (infer C)[] ? C : never;
/** The query of GET .../tasks/{id}/completions: `limit` (1–200, default 50), `cursor`. */
export type CompletionsQuery = NonNullable<CompletionsGet['parameters']['query']>;
/** POST /api/{user_id}/tasks/{id}/move body. */
export type TaskMove = RequestJson<ApiPaths['/api/{user_id}/tasks/{id}/move']['post']>;
/** A member of a list (GET .../members). */
export type Member = DataOf<ResponseJson<ApiPaths['/api/{user_id}/lists/{list_id}/members']['get'], 200>> extends (infer M)[] ? M : never;
/** An open invitation, without its token. */
export type Invitation = DataOf<ResponseJson<ApiPaths['/api/{user_id}/lists/{list_id}/invitations']['get'], 200>> extends (infer I)[] ? I : never;
/** A new invitation, with its token (shown only once). */
export type InvitationCreated = DataOf<ResponseJson<ApiPaths['/api/{user_id}/lists/{list_id}/invitations']['post'], 201>>;
/** A member's role. */
export type Role = Member['role'];

/** One reminder of a task: `{minutes_before}` (before `due_at`; the task needs one) or `{at}` (an instant). */
export type Reminder = Task['reminders'] extends (infer R)[] ? R : never;
/** POST /api/{user_id}/push-subscriptions body: what a browser's `PushSubscription.toJSON()` gives. */
export type PushSubscriptionInput = RequestJson<ApiPaths['/api/{user_id}/push-subscriptions']['post']>;
/** `data` of POST /api/{user_id}/push-subscriptions (201) and of its DELETE: the subscription's id. */
export type PushSubscriptionRef = DataOf<ResponseJson<ApiPaths['/api/{user_id}/push-subscriptions']['post'], 201>>;
/**
 * The task a reminder carries: the whole task, or, when the whole one is too large for a push
 * message (above 3,000 bytes), only these fields.
 */
export type ReminderTask = Task | Pick<Task, 'id' | 'uid' | 'list_id' | 'title' | 'due_at'>;
/**
 * A reminder that fired (API.md, Reminders): the `data` of an `event: reminder` on the event stream,
 * and the JSON of a Web Push message. Not in the OpenAPI document (neither an event stream's events
 * nor a push payload are), so written here from the contract, with the task's fields from it.
 */
export interface ReminderEvent {
  type: 'reminder';
  task: ReminderTask;
  /** The instant the reminder was for (UTC, milliseconds): the due date minus `minutes_before`, or its `at`. */
  fire_at: string;
}

/** `none` < `low` < `medium` < `high`. */
export type Priority = Task['priority'];
/** `status` (and `filter`) of the list: all, pending, completed and the UI words for them. */
export type StatusFilter = NonNullable<ListQueryWire['status']>;
/** `sort` of the list: a field, `-` for descending. */
export type Sort = NonNullable<ListQueryWire['sort']>;
/** The fields the list sorts by. */
export type SortKey = Exclude<Sort, `-${string}`>;
/** Every error body: `{error, code, detail}`. */
export type ErrorBody = components['schemas']['Error'];
/** The API's error codes (`ApiError.code` is one of them, or NETWORK_ERROR, or HTTP_<status>). */
export type ErrorCode = ErrorBody['code'];

type WebhooksPath = ApiPaths['/api/{user_id}/webhooks'];
type WebhookPath = ApiPaths['/api/{user_id}/webhooks/{id}'];
/** A webhook as listed (`{id, url, events, enabled, created_at}`: never its secret). */
export type Webhook = DataOf<ResponseJson<WebhookPath['get'], 200>>;
/** POST /api/{user_id}/webhooks body: `{url, events}`. */
export type WebhookCreate = RequestJson<WebhooksPath['post']>;
/** A new webhook, with its signing `secret` (`whsec_...`, shown only once). */
export type WebhookCreated = DataOf<ResponseJson<WebhooksPath['post'], 201>>;
/** PUT /api/{user_id}/webhooks/{id} body: any of `url`, `events`, `enabled`. */
export type WebhookUpdate = RequestJson<WebhookPath['put']>;
/** An event type a webhook subscribes to (`task.created`, ...), or `*`. */
export type WebhookEvent = WebhookCreate['events'][number];
/** One delivery of a webhook: `{id (its webhook-id), type, attempts, last_status, next_attempt_at}`. */
export type WebhookDelivery = DataOf<ResponseJson<ApiPaths['/api/{user_id}/webhooks/{id}/deliveries']['get'], 200>> extends (infer D)[] ? D : never;

type CalendarFeedsPath = ApiPaths['/api/{user_id}/calendar-feeds'];
/** A calendar feed: `{id, url, list_id, format}`, `url` the API's path `/ical/<secret>.ics`. */
export type CalendarFeed = DataOf<ResponseJson<CalendarFeedsPath['post'], 201>>;
/** POST /api/{user_id}/calendar-feeds body: `{list_id?, format?}`. */
export type CalendarFeedCreate = NonNullable<RequestJson<CalendarFeedsPath['post']>>;
/** `events` (a VEVENT per pending task with a due date) or `todos` (a VTODO per task). */
export type CalendarFormat = CalendarFeed['format'];

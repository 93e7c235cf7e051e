/**
 * The types the helpers use, derived from the paths (not from schema names, which the document may
 * choose freely): from the generated `schema.d.ts` once the OpenAPI document describes version 2
 * (it has `/api/{user_id}/tasks/changes`), from the hand-written contract until then.
 */
import type { ContractPaths } from './contract.js';
import type { paths as GeneratedPaths } from './schema.js';

/** True once the generated document describes the version-2 API. */
export type GeneratedIsV2 = '/api/{user_id}/tasks/changes' extends keyof GeneratedPaths ? true : false;

/** The paths openapi-fetch is typed with. */
export type ApiPaths = GeneratedIsV2 extends true ? GeneratedPaths : ContractPaths;

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
/** PUT /api/{user_id}/tasks/{id} body. */
export type TaskUpdate = RequestJson<TaskPath['put']>;
/** The list's query string, as sent on the wire. */
export type ListQueryWire = NonNullable<TasksPath['get']['parameters']['query']>;
/** The list's 200 body. */
export type ListBody = ResponseJson<TasksPath['get'], 200>;
/** One entry of GET /api/{user_id}/tags. */
export type TagCount = DataOf<ResponseJson<ApiPaths['/api/{user_id}/tags']['get'], 200>> extends (infer T)[] ? T : never;
/** `data` of GET /api/{user_id}/tasks/changes. */
export type ChangesPage = DataOf<ResponseJson<ApiPaths['/api/{user_id}/tasks/changes']['get'], 200>>;
/** One change: `{type: 'upsert', task}` or `{type: 'delete', id}`. */
export type Change = ChangesPage extends { changes: (infer C)[] } ? C : never;
/** `data` of POST /api/{user_id}/tasks/events/ticket. */
export type EventTicket = DataOf<ResponseJson<ApiPaths['/api/{user_id}/tasks/events/ticket']['post'], 201>>;

export type { Priority, Sort, SortKey, StatusFilter, ContractError as ErrorBody } from './contract.js';

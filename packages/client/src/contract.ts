/**
 * The Task API contract (docs/API.md, version 2), written by hand in the shape openapi-typescript
 * generates. It is used only where the generated `schema.d.ts` does not describe something yet:
 * `types.ts` picks the generated types as soon as the OpenAPI document has them, so regenerating
 * `schema.d.ts` from a version-2 document switches every helper to the generated types (and the
 * build fails if the document and the helpers disagree).
 */

export type Priority = 'none' | 'low' | 'medium' | 'high';

/** A task as the API returns it (version 2). */
export interface ContractTask {
  id: number;
  user_id: string;
  title: string;
  description: string | null;
  completed: boolean;
  priority: Priority;
  tags: string[];
  /** RFC 3339, UTC with `Z` and milliseconds, or null. */
  due_at: string | null;
  /** Read-only: when the task last became completed; null while pending. */
  completed_at: string | null;
  /** Read-only: 1 at creation, +1 on every change; the task's ETag is `"<version>"`. */
  version: number;
  created_at: string;
  updated_at: string;
}

/** POST body. */
export interface ContractTaskCreate {
  title: string;
  description?: string | null;
  priority?: Priority;
  tags?: string[];
  /** RFC 3339 with an offset (`Z` or `±hh:mm`), or null. A date without a time is a 400. */
  due_at?: string | null;
}

/** PUT body: any subset. `tags: []` and `due_at: null` clear; `description: null` clears. */
export interface ContractTaskUpdate {
  title?: string;
  description?: string | null;
  completed?: boolean;
  priority?: Priority;
  tags?: string[];
  due_at?: string | null;
}

/** Every error body. `detail` repeats `error` (FastAPI frontends read `detail`). */
export interface ContractError {
  error: string;
  code: string;
  detail?: string;
}

export type StatusFilter =
  | 'all'
  | 'pending'
  | 'completed'
  | 'active'
  | 'open'
  | 'incomplete'
  | 'todo'
  | 'done'
  | 'complete';

export type SortKey = 'created_at' | 'updated_at' | 'due_at' | 'priority' | 'title';
export type Sort = SortKey | `-${SortKey}`;

/** The list's query string as the API reads it ("Querying the list"). */
export interface ContractListQuery {
  status?: StatusFilter;
  filter?: StatusFilter;
  q?: string;
  /** Comma-separated levels, e.g. `high,medium`. */
  priority?: string;
  /** Repeatable: a task must carry every given tag. */
  tag?: string[];
  due_before?: string;
  due_after?: string;
  sort?: Sort;
  limit?: number;
  cursor?: string;
}

export interface ContractTagCount {
  name: string;
  count: number;
}

export type ContractChange = { type: 'upsert'; task: ContractTask } | { type: 'delete'; id: number };

export interface ContractChangesPage {
  changes: ContractChange[];
  cursor: string;
  has_more: boolean;
}

export interface ContractEventTicket {
  ticket: string;
  expires_at: string;
}

// ---- the paths, in openapi-typescript's shape (what openapi-fetch consumes) ----

type Json<T> = { 'application/json': T };
type Body<T> = { headers: { [name: string]: unknown }; content: Json<T> };
type NoBody = { headers: { [name: string]: unknown }; content?: never };
type Envelope<T> = { data: T; message: string };
type E = Body<ContractError>;
type Errors = { 400: E; 401: E; 403: E; 404: E; 409: E; 412: E; 413: E; 415: E; 422: E; 429: E; 500: E; 503: E };
type UserPath = { user_id: string };
type TaskPath = { user_id: string; id: number };
type Params<P, Q = never> = { query?: Q; header?: never; path: P; cookie?: never };
type Unused = { put?: never; post?: never; delete?: never; options?: never; head?: never; patch?: never; trace?: never };

export interface ContractPaths {
  '/api/{user_id}/tasks': Omit<Unused, 'post'> & {
    parameters: Params<UserPath>;
    get: {
      parameters: Params<UserPath, ContractListQuery>;
      requestBody?: never;
      responses: { 200: Body<Envelope<ContractTask[]> & { next_cursor?: string | null }>; 304: NoBody } & Errors;
    };
    post: {
      parameters: Params<UserPath>;
      requestBody: { content: Json<ContractTaskCreate> };
      responses: { 201: Body<Envelope<ContractTask>> } & Errors;
    };
  };
  '/api/{user_id}/tasks/{id}': Omit<Unused, 'put' | 'delete'> & {
    parameters: Params<TaskPath>;
    get: {
      parameters: Params<TaskPath>;
      requestBody?: never;
      responses: { 200: Body<Envelope<ContractTask>>; 304: NoBody } & Errors;
    };
    put: {
      parameters: Params<TaskPath>;
      requestBody: { content: Json<ContractTaskUpdate> };
      responses: { 200: Body<Envelope<ContractTask>> } & Errors;
    };
    delete: {
      parameters: Params<TaskPath>;
      requestBody?: never;
      responses: { 200: Body<Envelope<ContractTask>> } & Errors;
    };
  };
  '/api/{user_id}/tasks/{id}/complete': Omit<Unused, 'patch'> & {
    parameters: Params<TaskPath>;
    get?: never;
    patch: {
      parameters: Params<TaskPath>;
      requestBody?: { content: Json<{ completed?: boolean }> };
      responses: { 200: Body<Envelope<ContractTask>> } & Errors;
    };
  };
  '/api/{user_id}/tags': Unused & {
    parameters: Params<UserPath>;
    get: {
      parameters: Params<UserPath>;
      requestBody?: never;
      responses: { 200: Body<Envelope<ContractTagCount[]>> } & Errors;
    };
  };
  '/api/{user_id}/tasks/changes': Unused & {
    parameters: Params<UserPath>;
    get: {
      parameters: Params<UserPath, { since?: string; limit?: number }>;
      requestBody?: never;
      responses: { 200: Body<Envelope<ContractChangesPage>>; 410: E } & Errors;
    };
  };
  '/api/{user_id}/tasks/events/ticket': Omit<Unused, 'post'> & {
    parameters: Params<UserPath>;
    get?: never;
    post: {
      parameters: Params<UserPath>;
      requestBody?: never;
      responses: { 201: Body<Envelope<ContractEventTicket>> } & Errors;
    };
  };
}

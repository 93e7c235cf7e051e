/**
 * What a frontend developer does first with /openapi.json: generate types with openapi-typescript
 * and write a client against them. The generated types must name the task `Task` (not `def-0`),
 * carry an operation per route under a stable operationId, and type each error status's `code`
 * as the exact codes it can carry. A small client file is type-checked against them: a regression
 * in the document fails here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../helpers/api.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

/** A client of the generated types. Every line must type-check; each @ts-expect-error must be an error. */
const USAGE = `
import type { components, operations, paths } from './schema';

type Task = components['schemas']['Task'];
type TaskCreate = components['schemas']['TaskCreate'];

const task: Task = {
  id: 1, user_id: 'u_1', list_id: 7, uid: 'c-1', parent_id: null, position: 'a0', assignee_id: null,
  title: 'Buy milk', description: null, completed: false, priority: 'high', tags: ['errands'], due_at: null, recurrence: null, repeat_from: 'due', time_zone: null, reminders: [], completed_at: null, version: 1,
  created_at: '2026-01-12T10:00:00.123Z', updated_at: '2026-01-12T10:00:00.123Z',
};
// @ts-expect-error priority is one of none, low, medium, high
export const badPriority: Task['priority'] = 'urgent';
export const title: string = task.title;

export const create: TaskCreate = { title: 'Buy milk' };
// @ts-expect-error title is required
export const noTitle: TaskCreate = { description: 'x' };

type Created = operations['createTask']['responses'][201]['content']['application/json'];
export const created: Task = ({} as Created).data;
type Listed = operations['listTasks']['responses'][200]['content']['application/json'];
export const listed: Task[] = ({} as Listed).data;

type NotFound = operations['getTask']['responses'][404]['content']['application/json'];
export const notFound: NotFound['code'] = 'NOT_FOUND';
// @ts-expect-error a 404 carries NOT_FOUND only
export const notFoundBogus: NotFound['code'] = 'VALIDATION_ERROR';
type Unauthorized = operations['listTasks']['responses'][401]['content']['application/json'];
export const codes: Unauthorized['code'][] = ['UNAUTHORIZED', 'INVALID_TOKEN'];
export const detail: string = ({} as Unauthorized).detail;

type RetryAfter = operations['createTask']['responses'][429]['headers']['Retry-After'];
export const retryAfter: RetryAfter = 5;
type Allow = operations['getTask']['responses'][405]['headers']['Allow'];
export const allow: Allow = 'GET, HEAD, PUT, DELETE';

type CompleteBody = NonNullable<operations['completeTask']['requestBody']>['content']['application/json'];
export const setDone: CompleteBody = { completed: true };
// The toggle's body may be left out.
export const toggleBody: operations['completeTask']['requestBody'] = undefined;

export type Paths = keyof paths;
export const listPath: Paths = '/api/{user_id}/tasks';
export const itemPath: Paths = '/api/{user_id}/tasks/{id}';
`;

describe('a client generated from /openapi.json with openapi-typescript', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await buildTestApp('embedded');
    dir = mkdtempSync(join(tmpdir(), 'task-api-openapi-client-'));
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names every operation and schema, and a typed client file compiles against it', async () => {
    const doc = (await t.app.inject(routes.openapi)).json();
    const operationIds = Object.values(doc.paths as Record<string, Record<string, { operationId?: string }>>)
      .flatMap((ops) => Object.values(ops).map((o) => o.operationId))
      .sort();
    expect(operationIds).toEqual([
      'acceptInvitation', 'batchTasks', 'completeTask', 'createCalendarFeed', 'createEventTicket', 'createInvitation', 'createList', 'createPushSubscription',
      'createTask', 'createWebhook', 'deleteCalendarFeed', 'deleteInvitation', 'deleteList', 'deleteMember', 'deletePushSubscription', 'deleteTask',
      'deleteWebhook', 'emptyTrash', 'getList', 'getPushPublicKey', 'getTask', 'getTrashedTask', 'getWebhook', 'health', 'listCalendarFeeds',
      'listChanges', 'listInvitations', 'listLists', 'listMembers', 'listTags', 'listTaskCompletions', 'listTasks', 'listTrash',
      'listWebhookDeliveries', 'listWebhooks', 'moveList', 'moveTask', 'purgeTrashedTask', 'readCalendarFeed', 'ready', 'redeliverWebhookDelivery',
      'restoreTask', 'skipTask', 'streamEvents', 'updateList', 'updateMember', 'updateTask', 'updateWebhook',
    ]);
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['Task', 'BatchRequest', 'BatchResult', 'TaskCreate', 'TaskUpdate', 'TaskMove', 'List', 'ListCreate', 'ListUpdate', 'ListMove', 'ListUpsert', 'ListDelete', 'CalendarFeed', 'Webhook', 'WebhookCreated', 'TrashedTask', 'Error', 'NotFoundError']),
    );
    expect(JSON.stringify(doc)).not.toMatch(/def-\d/);
    expect(doc.servers).toEqual([{ url: '/' }]); // relative: the server the document came from (PUBLIC_URL sets another)
    expect(doc.paths['/api/{user_id}/tasks/{id}/complete'].patch.requestBody.required).toBe(false);
    expect(doc.paths['/api/{user_id}/lists/{list_id}/move'].post.requestBody.required).toBe(false);

    writeFileSync(join(dir, 'schema.ts'), astToString(await openapiTS(doc)));
    writeFileSync(join(dir, 'usage.ts'), USAGE);
    const program = ts.createProgram([join(dir, 'usage.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      skipLibCheck: true,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      return `${d.file?.fileName.split('/').pop()}:${where ? where.line + 1 : '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(diagnostics).toEqual([]);
  });
});

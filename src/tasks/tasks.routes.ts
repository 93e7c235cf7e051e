import type { FastifyPluginAsync, preValidationHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '../errors.js';
import type { TaskRow } from '../db/schema.js';
import { AUTHED, errorResponses } from '../http/errors.js';
import { ItemParamsSchema, UserParamsSchema } from '../http/params.js';
import { ref } from '../http/refs.js';
import { Envelope } from '../http/envelope.js';
import {
  ListQuerySchema,
  STATUS_WORDS,
  TaskCompletionSchema,
  TaskCreateSchema,
  TaskListEnvelopeSchema,
  TaskSchema,
  TaskUpdateSchema,
} from './tasks.schemas.js';
import type { TasksRepository } from './tasks.repository.js';

export interface TasksRoutesOptions {
  repository: TasksRepository;
}

export const TASK_NOT_FOUND = 'Task not found';

const tags = ['tasks'];
const security = [{ bearerAuth: [] }];

/** Titles count after trimming; trimming before validation lets the schema's limits apply to it. */
const trimTitle: preValidationHookHandler = async (request) => {
  const body = request.body as { title?: unknown } | undefined;
  if (body !== null && typeof body === 'object' && typeof body.title === 'string') body.title = body.title.trim();
};

function found(task: TaskRow | null): TaskRow {
  if (task === null) throw new ApiError('NOT_FOUND', TASK_NOT_FOUND);
  return task;
}

const completedMessage = (task: TaskRow) => (task.completed ? 'Task marked as completed' : 'Task marked as pending');

/** One task in the envelope, with the route's own message as the example. */
const one = (message: string, description: string) => ({ ...Envelope(ref(TaskSchema), message), description });

/** The six task routes, under /api/:user_id/tasks. Thin: the SQL is in the repository. */
export const tasksRoutes: FastifyPluginAsync<TasksRoutesOptions> = async (fastify, { repository }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/',
    {
      schema: {
        operationId: 'listTasks',
        tags,
        security,
        summary: "List the user's tasks, newest first",
        params: UserParamsSchema,
        querystring: ListQuerySchema,
        response: { 200: { ...TaskListEnvelopeSchema, description: "The user's tasks" }, ...errorResponses(400, ...AUTHED) },
      },
    },
    async (request) => {
      const status = STATUS_WORDS[request.query.status ?? request.query.filter ?? 'all'];
      const data = await repository.list(request.userId as string, status);
      return { data, message: 'Tasks retrieved successfully' };
    },
  );

  app.post(
    '/',
    {
      preValidation: trimTitle,
      schema: {
        operationId: 'createTask',
        tags,
        security,
        summary: 'Create a task',
        params: UserParamsSchema,
        body: ref(TaskCreateSchema),
        response: { 201: one('Task created successfully', 'The task as stored'), ...errorResponses(400, 413, 415, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const data = await repository.create(request.userId as string, request.body);
      return reply.code(201).send({ data, message: 'Task created successfully' });
    },
  );

  app.get(
    '/:id',
    {
      schema: {
        operationId: 'getTask',
        tags,
        security,
        summary: 'Get one task',
        params: ItemParamsSchema,
        response: { 200: one('Task retrieved successfully', 'The task'), ...errorResponses(400, 404, ...AUTHED) },
      },
    },
    async (request) => {
      const data = found(await repository.get(request.userId as string, request.params.id));
      return { data, message: 'Task retrieved successfully' };
    },
  );

  app.put(
    '/:id',
    {
      preValidation: trimTitle,
      schema: {
        operationId: 'updateTask',
        tags,
        security,
        summary: 'Change any of a task\'s writable fields',
        params: ItemParamsSchema,
        body: ref(TaskUpdateSchema),
        response: { 200: one('Task updated successfully', 'The task as changed'), ...errorResponses(400, 404, 413, 415, ...AUTHED) },
      },
    },
    async (request) => {
      // The validated body holds only writable fields (validation dropped the rest): it goes on as is.
      const data = found(await repository.update(request.userId as string, request.params.id, request.body));
      return { data, message: 'Task updated successfully' };
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        operationId: 'deleteTask',
        tags,
        security,
        summary: 'Delete a task; answers the deleted task',
        params: ItemParamsSchema,
        response: { 200: one('Task deleted successfully', 'The task as it was'), ...errorResponses(400, 404, ...AUTHED) },
      },
    },
    async (request) => {
      const data = found(await repository.remove(request.userId as string, request.params.id));
      return { data, message: 'Task deleted successfully' };
    },
  );

  app.patch(
    '/:id/complete',
    {
      schema: {
        operationId: 'completeTask',
        tags,
        security,
        summary: 'Toggle completion (no body), or set it ({"completed": bool})',
        params: ItemParamsSchema,
        body: ref(TaskCompletionSchema),
        response: { 200: one('Task marked as completed', 'The task; the message says which state it is in'), ...errorResponses(400, 404, 413, 415, ...AUTHED) },
      },
    },
    async (request) => {
      const userId = request.userId as string;
      const completed = request.body?.completed;
      const data = found(
        completed === undefined
          ? await repository.toggle(userId, request.params.id)
          : await repository.update(userId, request.params.id, { completed }),
      );
      return { data, message: completedMessage(data) };
    },
  );
};

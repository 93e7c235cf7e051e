import type { FastifyPluginAsync, preValidationHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError, TASK_NOT_FOUND } from '../errors.js';
import type { TaskRow } from '../db/schema.js';
import {
  CompleteTaskSchema,
  CreateTaskSchema,
  ListQuerySchema,
  TaskEnvelopeSchema,
  TaskListEnvelopeSchema,
  TaskParamsSchema,
  UpdateTaskSchema,
  UserParamsSchema,
  errorResponses,
} from './tasks.schemas.js';
import type { TaskChanges, TasksRepository } from './tasks.repository.js';

export interface TasksRoutesOptions {
  repository: TasksRepository;
}

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

/** The six task routes, under /api/:user_id/tasks. Thin: the SQL is in the repository. */
export const tasksRoutes: FastifyPluginAsync<TasksRoutesOptions> = async (fastify, { repository }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/',
    {
      schema: {
        tags,
        security,
        summary: "List the user's tasks, newest first",
        params: UserParamsSchema,
        querystring: ListQuerySchema,
        response: { 200: TaskListEnvelopeSchema, ...errorResponses(400, 401, 403, 429, 503) },
      },
    },
    async (request) => {
      const status = request.query.status ?? request.query.filter ?? 'all';
      const data = await repository.list(request.userId as string, status);
      return { data, message: 'Tasks retrieved successfully' };
    },
  );

  app.post(
    '/',
    {
      preValidation: trimTitle,
      schema: {
        tags,
        security,
        summary: 'Create a task',
        params: UserParamsSchema,
        body: CreateTaskSchema,
        response: { 201: TaskEnvelopeSchema, ...errorResponses(400, 401, 403, 413, 415, 429, 503) },
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
        tags,
        security,
        summary: 'Get one task',
        params: TaskParamsSchema,
        response: { 200: TaskEnvelopeSchema, ...errorResponses(400, 401, 403, 404, 429, 503) },
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
        tags,
        security,
        summary: 'Update a task (any of title, description, completed)',
        params: TaskParamsSchema,
        body: UpdateTaskSchema,
        response: { 200: TaskEnvelopeSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 429, 503) },
      },
    },
    async (request) => {
      const { title, description, completed } = request.body;
      const changes: TaskChanges = {};
      if (title !== undefined) changes.title = title;
      if (description !== undefined) changes.description = description;
      if (completed !== undefined) changes.completed = completed;
      const data = found(await repository.update(request.userId as string, request.params.id, changes));
      return { data, message: 'Task updated successfully' };
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Delete a task; answers the deleted task',
        params: TaskParamsSchema,
        response: { 200: TaskEnvelopeSchema, ...errorResponses(400, 401, 403, 404, 429, 503) },
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
        tags,
        security,
        summary: 'Toggle completion (no body), or set it ({"completed": bool})',
        params: TaskParamsSchema,
        body: CompleteTaskSchema,
        response: { 200: TaskEnvelopeSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 429, 503) },
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

/**
 * POST /tasks/batch (API.md, version 3, "Batch"): up to 100 operations on tasks, each run by the
 * same code as its own route (tasks.writes.ts) and answered as that route answers it.
 *
 * - The batch's own shape (an object, `atomic` a boolean, 1 to 100 operations, each with a known
 *   `op`) is checked by the route's schema: a 400 for the whole batch. Everything inside an
 *   operation is checked as its route checks it (the same schemas, through the app's own body
 *   validator; the same checks after them), so its 400 is that route's 400, for that operation.
 * - Not atomic: in order, each operation on its own, as its route runs it, all in one transaction
 *   (one commit for the batch); with an Idempotency-Key the key's transaction, each operation in a
 *   savepoint of its own, so that a refused one leaves nothing behind.
 * - Atomic: one transaction (the key's, when there is one) for every operation; the first that
 *   fails rolls everything back and is the answer, with its `index`.
 * A batch is one write of the pipeline: one Idempotency-Key, one request of the rate limit; each
 * applied operation is its own change in the feed, as its route makes it.
 */
import type { FastifyPluginAsync, FastifySchemaCompiler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import type { AccessScope } from '../access/scope.js';
import type { Database, Executor } from '../db/client.js';
import { ApiError } from '../errors.js';
import { versionsMatched, IdempotencyHeaders, ETagHeader } from '../http/conditional.js';
import { AUTHED, errorBody, errorResponses } from '../http/errors.js';
import { IdempotentReplayedHeader, RetryAfterHeader } from '../http/headers.js';
import { UserParamsSchema } from '../http/params.js';
import { ref } from '../http/refs.js';
import { Envelope } from '../http/envelope.js';
import type { Outcome } from '../writes/idempotency.js';
import type { WritePipeline, Written } from '../writes/pipeline.js';
import type { TasksRepository, VersionMatch } from './tasks.repository.js';
import {
  BATCH_MAX,
  BATCH_OPS,
  BatchRequestSchema,
  BatchResultSchema,
  BatchUpdateSchema,
  TaskCompletionSchema,
  TaskCreateSchema,
  TaskMoveSchema,
  TaskUpdateSchema,
  type BatchOpName,
  type TaskCreate,
  type TaskMove,
  type TaskUpdate,
} from './tasks.schemas.js';
import { normalizeTaskBody, TASK_NOT_FOUND, type Completion, type TaskWrites } from './tasks.writes.js';

export interface BatchRoutesOptions {
  writes: TaskWrites;
  repository: TasksRepository;
  pipeline: WritePipeline;
  /** For the transaction of an atomic batch (the key's own when it has an Idempotency-Key). */
  database: Pick<Database, 'transaction'>;
  /** The batch's body limit: 100 creates with every field at its longest fit in it. */
  bodyLimit: number;
}

export const BATCH_MESSAGE = 'Batch processed successfully';

/** An operation as the batch's schema lets it through: `op` known, the rest checked as its route checks it. */
interface Operation {
  op: BatchOpName;
  id?: unknown;
  uid?: unknown;
  if_match?: unknown;
  task?: unknown;
  completed?: unknown;
  occurrence?: unknown;
  list_id?: unknown;
  parent_id?: unknown;
  after_id?: unknown;
  before_id?: unknown;
}
const OP_FIELDS = ['id', 'uid', 'if_match', 'task', 'completed', 'occurrence', 'list_id', 'parent_id', 'after_id', 'before_id'] as const;

/**
 * What the route's validator checks of a batch: its shape only, so that an operation's own fields
 * are checked as its route checks them, and a bad one is that operation's 400.
 */
const BatchShapeSchema = Type.Object({
  atomic: BatchRequestSchema.properties.atomic,
  operations: Type.Array(
    Type.Object({
      op: Type.Unsafe<BatchOpName>({ type: 'string', enum: [...BATCH_OPS], 'x-error-message': { enum: `must be one of ${BATCH_OPS.join(', ')}` } }),
      ...Object.fromEntries(OP_FIELDS.map((f) => [f, Type.Optional(Type.Unknown())])),
    }),
    { minItems: 1, maxItems: BATCH_MAX, 'x-error-message': { minItems: `must hold 1 to ${BATCH_MAX} operations`, maxItems: `must hold 1 to ${BATCH_MAX} operations` } },
  ),
});

/** Which task an operation is on, and its if_match, as the single route's path and If-Match would give them. */
const TargetSchema = Type.Object({ id: BatchUpdateSchema.properties.id, uid: BatchUpdateSchema.properties.uid, if_match: BatchUpdateSchema.properties.if_match });

/** An atomic batch that stopped: nothing is kept; the answer is the operation's error, with its index. */
class BatchStopped extends Error {
  constructor(readonly outcome: Outcome) {
    super('batch stopped');
  }
}

/** The present ones of `keys` of an operation: the body its route would have been sent. */
function pick(op: Operation, keys: readonly (keyof Operation)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (op[key] !== undefined) out[key] = op[key];
  return out;
}

/** An error as one operation's result (what its route would have answered), without headers. */
const failed = (err: ApiError) => errorBody(err.message, err.code);

export const batchRoutes: FastifyPluginAsync<BatchRoutesOptions> = async (fastify, { writes, repository, pipeline, database, bodyLimit }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const check = (schema: TSchema) => {
    const validate = fastify.bodyCheck(schema);
    return (data: unknown) => {
      const message = validate(data);
      if (message !== undefined) throw new ApiError('VALIDATION_ERROR', message);
    };
  };
  const checkShape = fastify.bodyCheck(BatchShapeSchema);
  const checkTarget = check(TargetSchema);
  const checkCreate = check(ref(TaskCreateSchema));
  const checkUpdate = check(ref(TaskUpdateSchema));
  const checkCompletion = check(ref(TaskCompletionSchema));
  const checkMove = check(ref(TaskMoveSchema));
  const appCompiler = fastify.validatorCompiler as FastifySchemaCompiler<unknown>;

  /** A task body of a create or an update, normalized and checked as POST and PUT do theirs. */
  function taskBody(op: Operation, validate: (data: unknown) => void): unknown {
    const task = op.task;
    if (task === null || typeof task !== 'object' || Array.isArray(task)) throw new ApiError('VALIDATION_ERROR', 'task must be a JSON object');
    normalizeTaskBody(task);
    validate(task);
    return task;
  }

  /**
   * One operation, checked as its route checks its request (path, If-Match, body, then the checks
   * after the schema), then run on `exec` as its route runs it. `created`: the uids of this batch's
   * creates, with their ids. Throws the route's ApiError.
   */
  async function run(scope: AccessScope, op: Operation, exec: Executor, created: Map<string, number>): Promise<Written> {
    if (op.op === 'create') {
      const body = taskBody(op, checkCreate) as TaskCreate;
      writes.checkCreate(body);
      const done = await writes.create(scope, body, exec);
      const task = (done.body as { data: { id: number; uid: string } }).data;
      created.set(task.uid, task.id);
      return done;
    }
    const target = pick(op, ['id', 'uid', 'if_match']);
    checkTarget(target);
    if (target.id === undefined && target.uid === undefined) throw new ApiError('VALIDATION_ERROR', 'id or uid is required: the task the operation is on');
    if (target.id !== undefined && target.uid !== undefined) throw new ApiError('VALIDATION_ERROR', 'id and uid both name the task: give one of them');
    const match: VersionMatch | undefined = versionsMatched(target.if_match as string | undefined);
    const prepared = ((): ((id: number) => Promise<Written>) => {
      switch (op.op) {
        case 'update': {
          const body = taskBody(op, checkUpdate) as TaskUpdate;
          writes.checkUpdate(body);
          return (id) => writes.update(scope, id, body, match, exec);
        }
        case 'complete': {
          const body = pick(op, ['completed', 'occurrence']);
          checkCompletion(body);
          return (id) => writes.complete(scope, id, body as Completion, match, exec);
        }
        case 'move': {
          const body = pick(op, ['list_id', 'parent_id', 'after_id', 'before_id']);
          checkMove(body);
          return (id) => writes.move(scope, id, body as TaskMove, match, exec);
        }
        case 'delete':
          return (id) => writes.remove(scope, id, match, exec);
      }
    })();
    const uid = target.uid as string | undefined;
    const id = uid === undefined ? (target.id as number) : (created.get(uid) ?? (await repository.idOfUid(scope, uid, exec)));
    if (id === null) throw new ApiError('NOT_FOUND', TASK_NOT_FOUND);
    return prepared(id);
  }

  /**
   * Each operation on its own: a refused one is its result, and the others run on. In one
   * transaction all the same, so that a batch is one commit, not one per operation (100 creates:
   * one WAL flush instead of 100): a refused operation writes nothing (tasks.writes.ts), so the
   * others are what the batch answers; a failure of the database fails the batch (a 5xx, nothing
   * kept, as any write it answers so). Two transactions that hold each other's list in a deadlock:
   * PostgreSQL ends one, which runs again (nothing of it was kept).
   */
  async function each(scope: AccessScope, operations: Operation[], exec: Executor): Promise<Written[]> {
    if (exec !== (database as unknown)) return eachIn(scope, operations, exec, true);
    for (let attempt = 1; ; attempt++) {
      try {
        return await database.transaction((tx) => eachIn(scope, operations, tx, false));
      } catch (err) {
        if (attempt >= 3 || (err as { code?: unknown }).code !== '40P01') throw err;
      }
    }
  }

  /**
   * The creates from `from` on that can be made in one statement (writes.createMany): two or more
   * in a row, each valid as POST /tasks checks it, at the top level of one list, without a
   * position, no uid given twice or used earlier in the batch. Made so, they are what the same
   * creates one after another would make (ids, positions, changes in the feed, answers); any other
   * operation, and a create that is not like that, ends the run and runs on its own.
   */
  function createRun(scope: AccessScope, operations: Operation[], from: number, created: Map<string, number>): TaskCreate[] | null {
    const bodies: TaskCreate[] = [];
    const uids = new Set<string>();
    let list: number | undefined;
    for (const op of operations.slice(from)) {
      if (op.op !== 'create') break;
      let body: TaskCreate;
      try {
        body = taskBody(op, checkCreate) as TaskCreate;
        writes.checkCreate(body);
      } catch {
        break; // refused: it runs on its own, which answers why
      }
      const into = body.list_id ?? scope.inboxId;
      if (body.parent_id != null || body.position !== undefined || (list !== undefined && into !== list)) break;
      if (body.uid !== undefined) {
        if (uids.has(body.uid) || created.has(body.uid)) break;
        uids.add(body.uid);
      }
      list = into;
      bodies.push(body);
    }
    return bodies.length >= 2 ? bodies : null;
  }

  /**
   * The operations in order on `exec`, as `one` runs each (it throws the route's ApiError), a run
   * of creates in one statement where it can be (createRun); `index` is the operation's place.
   */
  async function inOrder(scope: AccessScope, operations: Operation[], exec: Executor, one: (op: Operation, index: number, created: Map<string, number>) => Promise<void>, push: (w: Written) => void): Promise<void> {
    const created = new Map<string, number>();
    for (let i = 0; i < operations.length; ) {
      const bodies = createRun(scope, operations, i, created);
      const done = bodies === null ? null : await writes.createMany(scope, bodies, exec);
      if (done === null) {
        // Not a run, or one a check refused (nothing written): each on its own, which says which and why.
        const end = i + (bodies?.length ?? 1);
        for (; i < end; i++) await one(operations[i] as Operation, i, created);
        continue;
      }
      for (const [k, w] of done.entries()) {
        if (w === null) {
          await one(operations[i + k] as Operation, i + k, created);
          continue;
        }
        const task = (w.body as { data: { id: number; uid: string } }).data;
        created.set(task.uid, task.id);
        push(w);
      }
      i += done.length;
    }
  }

  /** The operations in order on `exec`; `savepoints`: each in a savepoint (an Idempotency-Key's transaction, which keeps the answer). */
  async function eachIn(scope: AccessScope, operations: Operation[], exec: Executor, savepoints: boolean): Promise<Written[]> {
    const results: Written[] = [];
    const one = async (op: Operation, _index: number, created: Map<string, number>) => {
      if (savepoints) await exec.rows('savepoint batch_operation', []);
      try {
        results.push(await run(scope, op, exec, created));
        if (savepoints) await exec.rows('release savepoint batch_operation', []);
      } catch (err) {
        if (!(err instanceof ApiError) || err.statusCode >= 500) throw err;
        if (savepoints) await exec.rows('rollback to savepoint batch_operation', []);
        results.push({ status: err.statusCode, body: failed(err) });
      }
    };
    await inOrder(scope, operations, exec, one, (w) => results.push(w));
    return results;
  }

  /** Every operation in one transaction; the first refused one undoes them all. */
  async function all(scope: AccessScope, operations: Operation[], exec: Executor): Promise<Written[]> {
    const attempt = async (tx: Executor) => {
      const results: Written[] = [];
      const one = async (op: Operation, index: number, created: Map<string, number>) => {
        try {
          results.push(await run(scope, op, tx, created));
        } catch (err) {
          if (!(err instanceof ApiError) || err.statusCode >= 500) throw err;
          throw new BatchStopped({ status: err.statusCode, body: { ...errorBody(err.message, err.code), index }, ...(err.headers ? { headers: err.headers } : {}) });
        }
      };
      await inOrder(scope, operations, tx, one, (w) => results.push(w));
      return results;
    };
    // The key's transaction: a savepoint, so that the refusal is kept as the answer with nothing else.
    if (exec !== (database as unknown)) {
      await exec.rows('savepoint batch_atomic', []);
      try {
        const results = await attempt(exec);
        await exec.rows('release savepoint batch_atomic', []);
        return results;
      } catch (err) {
        if (err instanceof BatchStopped) await exec.rows('rollback to savepoint batch_atomic', []);
        throw err;
      }
    }
    return database.transaction(attempt);
  }

  const BatchErrorSchema = Type.Object({
    error: Type.String({ description: 'What went wrong, for people' }),
    code: Type.String({ description: 'What went wrong, for programs', examples: ['NOT_FOUND'] }),
    detail: Type.String({ description: 'The same text as `error`' }),
    index: Type.Optional(Type.Integer({ minimum: 0, description: 'Atomic batches: the place (from 0) of the operation that failed; nothing was applied', examples: [3] })),
  });
  const stopped = (description: string, headers?: Record<string, TSchema>) => ({ ...BatchErrorSchema, description, ...(headers ? { headers } : {}) });

  app.post(
    '/batch',
    {
      bodyLimit,
      // The documented schema is the whole batch; the validator checks its shape, each operation is checked as its route checks it.
      validatorCompiler: (route) => {
        if (route.httpPart !== 'body') return appCompiler(route);
        return (data: unknown) => {
          const message = checkShape(data);
          return message === undefined ? true : { error: new ApiError('VALIDATION_ERROR', message) };
        };
      },
      schema: {
        operationId: 'batchTasks',
        tags: ['tasks'],
        security: [{ bearerAuth: [] }],
        summary: `Run 1 to ${BATCH_MAX} task operations (create, update, complete, move, delete) in one request`,
        description:
          'Each operation runs as its own route (POST /tasks, PUT /tasks/{id}, PATCH /tasks/{id}/complete, POST /tasks/{id}/move, DELETE /tasks/{id}) ' +
          'and its result is what that route answers: `{status, data, message}` or `{status, error, code, detail}`. Not atomic (default): in order, each on its ' +
          'own; the answer is 200 whatever the operations answered. `atomic: true`: all or nothing in one transaction; when an operation fails, nothing ' +
          "is applied and the answer is that operation's status and error, with its `index`. An operation names its task by `id` or by `uid` (one created " +
          'earlier in the batch too). One Idempotency-Key covers the batch; each applied operation is its own change in the feed.',
        params: UserParamsSchema,
        headers: IdempotencyHeaders,
        body: ref(BatchRequestSchema),
        response: {
          200: {
            ...Envelope(Type.Object({ results: Type.Array(ref(BatchResultSchema), { description: 'One result per operation, in order' }) }), BATCH_MESSAGE),
            description: 'Every operation run (not atomic), or every one applied (atomic)',
            headers: { 'Idempotent-Replayed': IdempotentReplayedHeader },
          },
          400: stopped('The batch is not one (the message names the field); atomic: an operation refused as its route would (with its index)'),
          403: stopped("The path's user is not the token's user; atomic: an operation beyond the caller's role or a limit (with its index)"),
          404: stopped('Atomic: an operation on a task or list the caller cannot see (with its index)'),
          409: stopped('A request with this Idempotency-Key is still running; atomic: a uid in use (with its index)', { 'Retry-After': RetryAfterHeader }),
          412: stopped("Atomic: an operation's if_match did not match (with its index); ETag is the task's current one", { ETag: ETagHeader }),
          ...errorResponses(413, 415, 422, ...AUTHED.filter((s) => s !== 403)),
        },
      },
    },
    async (request, reply) => {
      const { atomic = false, operations } = request.body as { atomic?: boolean; operations: Operation[] };
      const scope = request.scope;
      return pipeline.answer(request, reply, async (exec) => {
        let results: Written[];
        try {
          results = atomic ? await all(scope, operations, exec) : await each(scope, operations, exec);
        } catch (err) {
          if (err instanceof BatchStopped) return err.outcome;
          throw err;
        }
        // Each member told once, at the last of their changes.
        const told = new Map<string, number>();
        for (const r of results) for (const [user, seq] of r.told ?? []) told.set(user, Math.max(seq, told.get(user) ?? 0));
        return {
          status: 200,
          body: { data: { results: results.map((r) => ({ status: r.status, ...(r.body as object) })) }, message: BATCH_MESSAGE },
          told: [...told],
        };
      });
    },
  );
};

import type { FastifyPluginAsync, preValidationHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { allows, leastRoleFor } from '../access/roles.js';
import { ApiError } from '../errors.js';
import { ETagHeader, IdempotencyHeaders, IfMatchHeaders, IfNoneMatchHeaders, noneMatch, parseEntityTags } from '../http/conditional.js';
import { Envelope } from '../http/envelope.js';
import { AUTHED, errorResponses } from '../http/errors.js';
import { IdempotentReplayedHeader } from '../http/headers.js';
import { UserParamsSchema } from '../http/params.js';
import { ref } from '../http/refs.js';
import type { ReadLimits } from '../lib/keyed-limit.js';
import type { WritePipeline, Written } from '../writes/pipeline.js';
import { isOrderKey, keyBetween } from './lists.position.js';
import type { ListRow, ListsRepository, TellList } from './lists.repository.js';
import { ListCreateSchema, ListMoveSchema, ListParamsSchema, ListSchema, ListsEnvelopeSchema, ListUpdateSchema } from './lists.schemas.js';

export interface ListsRoutesOptions {
  repository: ListsRepository;
  /** How every write runs (src/writes/pipeline.ts). */
  pipeline: WritePipeline;
  /** The user's change counter: the ETag of GET /lists. */
  changes: { current(userId: string): Promise<number> };
  /** A user's reads in flight at once (shared with the other read routes). */
  reads: ReadLimits;
  maxListsPerUser: number;
}

export const LIST_NOT_FOUND = 'List not found';

const tags = ['lists'];
const security = [{ bearerAuth: [] }];

/**
 * A list's ETag: what the caller sees of it, beyond its version, changes it too (its pending tasks,
 * its members, the caller's own position), so all of them are in it: `"<version>.<open>.<members>.<position>"`.
 */
export const listTag = (l: ListRow) => `"${l.version}.${l.open_count}.${l.member_count}.${l.position}"`;
/** GET /lists: the caller's change counter, which moves with anything any of their lists shows. */
const listsTag = (seq: number) => `"lists.${seq}"`;

/** If-Match on a list: `*`, or its current ETag, strongly compared. */
function matches(header: string, etag: string): boolean {
  const tags = parseEntityTags(header);
  if (tags === '*') return true;
  const opaque = etag.slice(1, -1);
  return tags.some((t) => !t.weak && t.tag === opaque);
}

const notFound = () => new ApiError('NOT_FOUND', LIST_NOT_FOUND);
const invalid = (message: string) => new ApiError('VALIDATION_ERROR', message);

function checkPosition(position: string | undefined): void {
  if (position !== undefined && !isOrderKey(position)) throw invalid('position must be an order key of fractional-indexing (base 62), such as a0 or a1V');
}

/** Names count after trimming: normalized before validation, so that the schema's limits apply to what is stored. */
const trimName: preValidationHookHandler = async (request) => {
  const body = request.body as { name?: unknown } | undefined;
  if (body !== null && typeof body === 'object' && typeof body.name === 'string') body.name = body.name.trim();
};

const WRITTEN_HEADERS = { ETag: ETagHeader, 'Idempotent-Replayed': IdempotentReplayedHeader };
const one = (message: string, description: string) => ({ ...Envelope(ref(ListSchema), message), description, headers: WRITTEN_HEADERS });
const NOT_MODIFIED = { 304: { description: 'Not modified: If-None-Match still matches; no body', type: 'null' } };

const LIST_IF_MATCH = {
  ...IfMatchHeaders,
  properties: {
    ...IfMatchHeaders.properties,
    'if-match': { ...IfMatchHeaders.properties['if-match'], description: 'Only if the list is still as this ETag says, or `*`: otherwise 412 and nothing changes', examples: ['"4.3.2.a1"'] },
  },
} as typeof IfMatchHeaders;

function written(status: number, list: ListRow, message: string, told: TellList): Written {
  return { status, body: { data: list, message }, headers: { etag: listTag(list) }, told };
}

/** The list routes, under /api/:user_id/lists. Thin: the SQL is in the repository. */
export const listsRoutes: FastifyPluginAsync<ListsRoutesOptions> = async (fastify, options) => {
  const { repository, pipeline, changes, reads, maxListsPerUser } = options;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  /** A stale If-Match: 412 with the current ETag. */
  function checkMatch(header: string | undefined, list: ListRow): void {
    if (header === undefined) return;
    const etag = listTag(list);
    if (!matches(header, etag)) throw new ApiError('PRECONDITION_FAILED', `The list has changed since the ETag in If-Match (it is now ${etag})`, { etag });
  }

  app.get(
    '/',
    {
      schema: {
        operationId: 'listLists',
        tags,
        security,
        summary: 'Every list the user is a member of, in their own order',
        description:
          "By the caller's `position` (as bytes), then id. The Inbox is there from the first request on. The ETag changes with " +
          'anything the answer shows (a name, a position, a pending task, a member): poll with If-None-Match and get 304 while nothing changed.',
        params: UserParamsSchema,
        headers: IfNoneMatchHeaders,
        response: { 200: { ...ListsEnvelopeSchema, description: 'The lists', headers: { ETag: ETagHeader } }, ...NOT_MODIFIED, ...errorResponses(400, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const userId = request.userId as string;
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined) {
        const etag = listsTag(await reads.run(userId, () => changes.current(userId)));
        if (noneMatch(ifNoneMatch, etag)) return reply.header('etag', etag).code(304).send();
      }
      const { rows, seq } = await reads.run(userId, () => repository.all(request.scope));
      reply.header('etag', listsTag(seq));
      return { data: rows, message: 'Lists retrieved successfully' };
    },
  );

  app.post(
    '/',
    {
      preValidation: trimName,
      schema: {
        operationId: 'createList',
        tags,
        security,
        summary: 'Create a list, owned by the caller',
        description:
          `Placed after the caller's last list unless \`position\` says where. A user owns at most ${maxListsPerUser} lists, the Inbox ` +
          'included (403 LIST_LIMIT_REACHED beyond). With Idempotency-Key a retried create makes one list.',
        params: UserParamsSchema,
        headers: IdempotencyHeaders,
        body: ref(ListCreateSchema),
        response: { 201: one('List created successfully', 'The list as stored'), ...errorResponses(400, 409, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const { name, position } = request.body;
      checkPosition(position);
      return pipeline.answer(request, reply, (exec) =>
        repository.run(exec, async (tx) => {
          const made = await repository.create(tx, request.scope, name, position);
          if (made === null) throw new ApiError('LIST_LIMIT_REACHED', `You own ${maxListsPerUser} lists, the most allowed: delete some to create more`);
          return written(201, made.list, 'List created successfully', made.told);
        }),
      );
    },
  );

  app.get(
    '/:list_id',
    {
      schema: {
        operationId: 'getList',
        tags,
        security,
        summary: 'Get one list',
        description: 'A list the caller is not a member of does not exist for them (404).',
        params: ListParamsSchema,
        headers: IfNoneMatchHeaders,
        response: { 200: one('List retrieved successfully', 'The list'), ...NOT_MODIFIED, ...errorResponses(400, 404, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const userId = request.userId as string;
      const list = await reads.run(userId, () => repository.get(request.scope, request.params.list_id));
      if (list === null) throw notFound();
      const etag = listTag(list);
      reply.header('etag', etag);
      if (noneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return { data: list, message: 'List retrieved successfully' };
    },
  );

  app.put(
    '/:list_id',
    {
      preValidation: trimName,
      schema: {
        operationId: 'updateList',
        tags,
        security,
        summary: "Rename a list (owner), or place it in the caller's own order (any member)",
        description:
          `\`name\` needs the ${leastRoleFor('list.rename')} role (403 FORBIDDEN otherwise) and changes the version; \`position\` is the caller's ` +
          'own and does not. With If-Match: only if the list is still as that ETag says (else 412, nothing changes).',
        params: ListParamsSchema,
        headers: LIST_IF_MATCH,
        body: ref(ListUpdateSchema),
        response: { 200: one('List updated successfully', 'The list as changed'), ...errorResponses(400, 404, 409, 412, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const { name, position } = request.body;
      checkPosition(position);
      const id = request.params.list_id;
      return pipeline.answer(request, reply, (exec) =>
        repository.run(exec, async (tx) => {
          const list = await repository.lockAndView(tx, request.scope, id);
          if (list === null) throw notFound();
          if (name !== undefined && !allows(list.role, 'list.rename')) {
            throw new ApiError('FORBIDDEN', `Renaming this list needs the ${leastRoleFor('list.rename')} role`);
          }
          checkMatch(request.headers['if-match'], list);
          let told: TellList = [];
          if (name !== undefined) told = await repository.rename(tx, request.scope, id, name, position);
          else if (position !== undefined) told = await repository.place(tx, request.scope, id, position);
          const now = told.length === 0 ? list : ((await repository.get(request.scope, id, tx)) as ListRow);
          return written(200, now, 'List updated successfully', told);
        }),
      );
    },
  );

  app.post(
    '/:list_id/move',
    {
      schema: {
        operationId: 'moveList',
        tags,
        security,
        summary: "Place a list right after or before another of the caller's lists (first when neither)",
        description:
          "The caller's own order: the server computes `position` (the list's version does not change). `after_id` and `before_id` " +
          'name lists of the caller (400 naming the field otherwise); with both, the list goes between them, which must be in that order. ' +
          'With If-Match: only if the list is still as that ETag says.',
        params: ListParamsSchema,
        headers: LIST_IF_MATCH,
        body: ref(ListMoveSchema),
        response: { 200: one('List moved successfully', 'The list at its new place'), ...errorResponses(400, 404, 409, 412, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const id = request.params.list_id;
      const after = request.body?.after_id;
      const before = request.body?.before_id;
      for (const [field, value] of [['after_id', after], ['before_id', before]] as const) {
        if (value === id) throw invalid(`${field} must name another list than the one moved`);
      }
      return pipeline.answer(request, reply, (exec) =>
        repository.run(exec, async (tx) => {
          const list = await repository.lockAndView(tx, request.scope, id);
          if (list === null) throw notFound();
          checkMatch(request.headers['if-match'], list);
          const rest = (await repository.order(tx, request.scope)).filter((l) => l.id !== id);
          const indexOf = (field: string, value: number | undefined) => {
            if (value === undefined) return undefined;
            const i = rest.findIndex((l) => l.id === value);
            if (i < 0) throw invalid(`${field} names no list of yours`);
            return i;
          };
          const ia = indexOf('after_id', after);
          const ib = indexOf('before_id', before);
          if (ia !== undefined && ib !== undefined && ia >= ib) throw invalid('before_id must come after after_id in your order');
          // Between lo and hi, inserted at `at` of the others.
          const at = ia !== undefined ? ia + 1 : (ib ?? 0);
          const lo = ia !== undefined ? rest[ia] : ib !== undefined ? rest[ib - 1] : undefined;
          const hi = ib !== undefined ? rest[ib] : rest[at];
          const key = keyBetween(lo?.position ?? null, hi?.position ?? null);
          const told =
            key !== undefined
              ? await repository.place(tx, request.scope, id, key)
              : await repository.renumber(tx, request.scope, [...rest.slice(0, at).map((l) => l.id), id, ...rest.slice(at).map((l) => l.id)]);
          return written(200, (await repository.get(request.scope, id, tx)) as ListRow, 'List moved successfully', told);
        }),
      );
    },
  );

  app.delete(
    '/:list_id',
    {
      schema: {
        operationId: 'deleteList',
        tags,
        security,
        summary: 'Delete a list and its tasks; answers the deleted list',
        description:
          `The owner only (403 FORBIDDEN naming the role otherwise); the Inbox never (409 CONFLICT). Each member's feed gets a \`delete\` ` +
          'of each of its tasks and a `list_delete`. With If-Match: only if the list is still as that ETag says.',
        params: ListParamsSchema,
        headers: LIST_IF_MATCH,
        response: { 200: one('List deleted successfully', 'The list as it was'), ...errorResponses(400, 404, 409, 412, 422, ...AUTHED) },
      },
    },
    async (request, reply) => {
      const id = request.params.list_id;
      return pipeline.answer(request, reply, (exec) =>
        repository.run(exec, async (tx) => {
          const list = await repository.lockAndView(tx, request.scope, id);
          if (list === null) throw notFound();
          if (!allows(list.role, 'list.delete')) throw new ApiError('FORBIDDEN', `Deleting this list needs the ${leastRoleFor('list.delete')} role`);
          if (list.is_default) throw new ApiError('CONFLICT', 'The Inbox cannot be deleted');
          checkMatch(request.headers['if-match'], list);
          const told = await repository.remove(tx, request.scope, id);
          return written(200, list, 'List deleted successfully', told);
        }),
      );
    },
  );
};

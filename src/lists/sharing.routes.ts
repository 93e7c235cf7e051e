import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { allows, leastRoleFor, type Action, type Role } from '../access/roles.js';
import { ApiError } from '../errors.js';
import { ETagHeader, IdempotencyHeaders } from '../http/conditional.js';
import { Envelope } from '../http/envelope.js';
import { AUTHED, errorResponses } from '../http/errors.js';
import { IdempotentReplayedHeader } from '../http/headers.js';
import { ref } from '../http/refs.js';
import type { RateLimiter } from '../lib/rate-limiter.js';
import type { ReadLimits } from '../lib/keyed-limit.js';
import type { WritePipeline } from '../writes/pipeline.js';
import type { Executor } from '../db/client.js';
import type { ListsRepository } from './lists.repository.js';
import { LIST_NOT_FOUND, listTag } from './lists.routes.js';
import { ListParamsSchema, ListSchema } from './lists.schemas.js';
import { isTokenShaped, type SharingRepository } from './sharing.repository.js';
import {
  AcceptParamsSchema,
  InvitationCreatedSchema,
  InvitationCreateSchema,
  InvitationParamsSchema,
  InvitationSchema,
  MemberParamsSchema,
  MemberSchema,
  MemberUpdateSchema,
} from './sharing.schemas.js';

export interface SharingRoutesOptions {
  /** Reads outside a transaction. */
  database: Executor;
  lists: ListsRepository;
  sharing: SharingRepository;
  pipeline: WritePipeline;
  reads: ReadLimits;
  limiter: RateLimiter | undefined;
  maxMembersPerList: number;
  maxListsPerUser: number;
}

const tags = ['sharing'];
const security = [{ bearerAuth: [] }];
const REPLAYED = { 'Idempotent-Replayed': IdempotentReplayedHeader };
const INVITATION_NOT_FOUND = 'Invitation not found';
/** How many times a failed accept counts against the caller's rate limit (a guess costs ten requests). */
const FAILED_ACCEPT_WEIGHT = 10;

const notFound = () => new ApiError('NOT_FOUND', LIST_NOT_FOUND);
/** A member whose role does not allow `action`: 403 naming the role it needs; a non-member: 404. */
function need(role: Role | null, action: Action, what: string): void {
  if (role === null) throw notFound();
  if (!allows(role, action)) throw new ApiError('FORBIDDEN', `${what} needs the ${leastRoleFor(action)} role`);
}

/** Invitations and members, under /api/:user_id/lists/:list_id (API.md, "Sharing"). */
export const sharingRoutes: FastifyPluginAsync<SharingRoutesOptions> = async (fastify, options) => {
  const { database, lists, sharing, pipeline, reads, maxListsPerUser } = options;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/:list_id/invitations',
    {
      schema: {
        operationId: 'createInvitation',
        tags,
        security,
        summary: 'Make an invitation link to the list (owner)',
        description: 'The token is shown only in this answer; it is single use and expires after `expires_in_hours` (default 168).',
        params: ListParamsSchema,
        headers: IdempotencyHeaders,
        body: ref(InvitationCreateSchema),
        response: { 201: { ...Envelope(ref(InvitationCreatedSchema), 'Invitation created successfully'), headers: REPLAYED }, ...errorResponses(400, 403, 404, 409, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) =>
      pipeline.answer(request, reply, (exec) =>
        lists.run(exec, async (tx) => {
          const id = request.params.list_id;
          need(await sharing.roleOf(tx, request.scope.userId, id), 'list.manage_members', 'Inviting to this list');
          const made = await sharing.invite(tx, request.scope, id, request.body.role, request.body.expires_in_hours ?? 168);
          if (made === null) throw new ApiError('CONFLICT', 'This list has the most open invitations allowed: revoke one first');
          const { id: invitationId, token, role, expires_at } = made;
          return { status: 201, body: { data: { id: invitationId, token, role, expires_at }, message: 'Invitation created successfully' } };
        }),
      ),
  );

  app.get(
    '/:list_id/invitations',
    {
      schema: {
        operationId: 'listInvitations',
        tags,
        security,
        summary: "The list's open invitations, without their tokens (owner)",
        params: ListParamsSchema,
        response: { 200: Envelope(Type.Array(ref(InvitationSchema)), 'Invitations retrieved successfully'), ...errorResponses(400, 403, 404, ...AUTHED) },
      },
    },
    async (request) => {
      const id = request.params.list_id;
      const rows = await reads.run(request.scope.userId, async () => {
        need(await sharing.roleOf(database, request.scope.userId, id), 'list.manage_members', 'Seeing the invitations of this list');
        return sharing.invitations(database, id);
      });
      return { data: rows, message: 'Invitations retrieved successfully' };
    },
  );

  app.delete(
    '/:list_id/invitations/:id',
    {
      schema: {
        operationId: 'deleteInvitation',
        tags,
        security,
        summary: 'Revoke an invitation (owner): its link stops working',
        params: InvitationParamsSchema,
        headers: IdempotencyHeaders,
        response: { 200: { ...Envelope(ref(InvitationSchema), 'Invitation deleted successfully'), headers: REPLAYED }, ...errorResponses(400, 403, 404, 409, 422, ...AUTHED) },
      },
    },
    async (request, reply) =>
      pipeline.answer(request, reply, (exec) =>
        lists.run(exec, async (tx) => {
          const id = request.params.list_id;
          need(await sharing.roleOf(tx, request.scope.userId, id), 'list.manage_members', 'Revoking invitations of this list');
          const gone = await sharing.revoke(tx, id, request.params.id);
          if (gone === null) throw new ApiError('NOT_FOUND', INVITATION_NOT_FOUND);
          return { status: 200, body: { data: gone, message: 'Invitation deleted successfully' } };
        }),
      ),
  );

  app.get(
    '/:list_id/members',
    {
      schema: {
        operationId: 'listMembers',
        tags,
        security,
        summary: "The list's members, the owner first (members)",
        params: ListParamsSchema,
        response: { 200: Envelope(Type.Array(ref(MemberSchema)), 'Members retrieved successfully'), ...errorResponses(400, 404, ...AUTHED) },
      },
    },
    async (request) => {
      const id = request.params.list_id;
      const rows = await reads.run(request.scope.userId, async () => {
        if ((await sharing.roleOf(database, request.scope.userId, id)) === null) throw notFound();
        return sharing.members(database, id);
      });
      return { data: rows, message: 'Members retrieved successfully' };
    },
  );

  app.put(
    '/:list_id/members/:member_id',
    {
      schema: {
        operationId: 'updateMember',
        tags,
        security,
        summary: "Change a member's role (owner); `owner` transfers the list",
        description: `The old owner becomes an editor. A member who already owns ${maxListsPerUser} lists cannot be given one more (403 LIST_LIMIT_REACHED). The Inbox is never transferred (409).`,
        params: MemberParamsSchema,
        headers: IdempotencyHeaders,
        body: ref(MemberUpdateSchema),
        response: { 200: { ...Envelope(ref(MemberSchema), 'Member updated successfully'), headers: REPLAYED }, ...errorResponses(400, 403, 404, 409, 413, 415, 422, ...AUTHED) },
      },
    },
    async (request, reply) =>
      pipeline.answer(request, reply, (exec) =>
        lists.run(exec, async (tx) => {
          const { list_id: id, member_id: memberId } = request.params;
          const caller = request.scope.userId;
          const list = await lists.lockAndView(tx, request.scope, id);
          if (list === null) throw notFound();
          need(list.role, 'list.manage_members', "Changing members' roles");
          const target = await sharing.roleOf(tx, memberId, id);
          if (target === null) throw new ApiError('NOT_FOUND', 'Member not found');
          const role = request.body.role;
          let told;
          if (role === 'owner') {
            if (memberId === caller) return memberAnswer(tx, id, memberId, []);
            const [full] = await tx.rows<{ is_default: boolean }>('select is_default from lists where id = $1', [id]);
            if (full?.is_default) throw new ApiError('CONFLICT', 'An Inbox is never transferred');
            if ((await sharing.owned(tx, memberId)) >= maxListsPerUser) {
              throw new ApiError('LIST_LIMIT_REACHED', `That member owns ${maxListsPerUser} lists, the most allowed: the list cannot be given to them`);
            }
            told = await sharing.transfer(tx, id, caller, memberId);
          } else {
            if (target === 'owner') throw new ApiError('CONFLICT', "The owner's role changes only by giving the list to another member (role owner)");
            if (target === role) return memberAnswer(tx, id, memberId, []);
            told = await sharing.setRole(tx, id, memberId, role);
          }
          return memberAnswer(tx, id, memberId, told);
        }),
      ),
  );

  async function memberAnswer(tx: Executor, listId: number, memberId: string, told: ReadonlyArray<readonly [string, number]>) {
    const member = (await sharing.members(tx, listId)).find((m) => m.user_id === memberId);
    return { status: 200, body: { data: member, message: 'Member updated successfully' }, told };
  }

  app.delete(
    '/:list_id/members/:member_id',
    {
      schema: {
        operationId: 'deleteMember',
        tags,
        security,
        summary: 'Remove a member (owner), or leave the list (any member, their own id)',
        description: 'The owner cannot leave (409): they give the list to another member first. The member loses the list and its tasks at once.',
        params: MemberParamsSchema,
        headers: IdempotencyHeaders,
        response: { 200: { ...Envelope(ref(MemberSchema), 'Member removed successfully'), headers: REPLAYED }, ...errorResponses(400, 403, 404, 409, 422, ...AUTHED) },
      },
    },
    async (request, reply) =>
      pipeline.answer(request, reply, (exec) =>
        lists.run(exec, async (tx) => {
          const { list_id: id, member_id: memberId } = request.params;
          const caller = request.scope.userId;
          const list = await lists.lockAndView(tx, request.scope, id);
          if (list === null) throw notFound();
          if (memberId !== caller) need(list.role, 'list.manage_members', 'Removing members');
          const member = (await sharing.members(tx, id)).find((m) => m.user_id === memberId);
          if (member === undefined) throw new ApiError('NOT_FOUND', 'Member not found');
          if (member.role === 'owner') throw new ApiError('CONFLICT', 'The owner cannot leave the list: give it to another member first');
          const told = await sharing.leave(tx, id, memberId);
          return { status: 200, body: { data: member, message: 'Member removed successfully' }, told };
        }),
      ),
  );
};

/** POST /api/:user_id/invitations/:token/accept. */
export const acceptRoutes: FastifyPluginAsync<SharingRoutesOptions> = async (fastify, options) => {
  const { lists, sharing, pipeline, limiter, maxMembersPerList } = options;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  /** A failed accept counts FAILED_ACCEPT_WEIGHT times against the caller's rate limit, then 404. */
  async function refused(userId: string): Promise<never> {
    if (limiter !== undefined) for (let i = 1; i < FAILED_ACCEPT_WEIGHT; i++) await limiter.consume(`user:${userId}`);
    throw new ApiError('NOT_FOUND', INVITATION_NOT_FOUND);
  }

  app.post(
    '/:token/accept',
    {
      schema: {
        operationId: 'acceptInvitation',
        tags,
        security,
        summary: 'Join the list an invitation is for (single use)',
        description:
          'An unknown, used, revoked or expired token is 404 for whoever asks (and counts ten times against the caller\'s rate limit). ' +
          `A member is 409 and the invitation stays open; a list with ${maxMembersPerList} members is 403 MEMBER_LIMIT_REACHED, the invitation stays open.`,
        params: AcceptParamsSchema,
        headers: IdempotencyHeaders,
        response: {
          200: { ...Envelope(ref(ListSchema), 'Invitation accepted successfully'), headers: { ETag: ETagHeader, ...REPLAYED } },
          ...errorResponses(400, 403, 404, 409, 422, ...AUTHED),
        },
      },
    },
    async (request, reply) => {
      const token = request.params.token;
      const userId = request.scope.userId;
      if (!isTokenShaped(token)) return refused(userId);
      return pipeline.answer(request, reply, (exec) =>
        lists.run(exec, async (tx) => {
          const invitation = await sharing.invitation(tx, token);
          if (invitation === null) return refused(userId);
          await sharing.lockWithCaller(tx, userId, invitation.list_id);
          // Read again under the locks: another accept may have spent it meanwhile.
          const still = await sharing.invitation(tx, token);
          if (still === null) return refused(userId);
          if ((await sharing.roleOf(tx, userId, still.list_id)) !== null) throw new ApiError('CONFLICT', 'You are already a member of this list');
          if ((await sharing.memberCount(tx, still.list_id)) >= maxMembersPerList) {
            throw new ApiError('MEMBER_LIMIT_REACHED', `This list has ${maxMembersPerList} members, the most allowed`);
          }
          const told = await sharing.join(tx, userId, still.list_id, still.role, still.id);
          const list = await lists.get(request.scope, still.list_id, tx);
          if (list === null) throw new Error('the list joined is not visible');
          return { status: 200, body: { data: list, message: 'Invitation accepted successfully' }, headers: { etag: listTag(list) }, told };
        }),
      );
    },
  );
};

import { Type } from 'typebox';
import { ROLES, type Role } from '../access/roles.js';
import { ID_MAX, UserId } from '../http/params.js';
import { Timestamp } from '../http/text.js';

const InvitedRole = Type.Union([Type.Literal('editor'), Type.Literal('viewer')], {
  description: 'The role the invitation gives',
  examples: ['editor'],
  'x-error-message': 'must be editor or viewer',
});
const Id = (description: string) => Type.Integer({ minimum: 1, maximum: ID_MAX, description, examples: [3], 'x-error-message': `must be a positive integer no larger than ${ID_MAX}` });
const ListId = Id('List id, in canonical decimal');

export const InvitationSchema = Type.Object(
  { id: Type.Integer({ examples: [3] }), role: InvitedRole, expires_at: Timestamp('When it stops working (UTC)'), created_at: Timestamp('When it was made (UTC)') },
  { $id: 'Invitation', title: 'Invitation', description: 'An open invitation, without its token' },
);
export const InvitationCreatedSchema = Type.Object(
  {
    id: Type.Integer({ examples: [3] }),
    token: Type.String({ description: 'The link\'s secret (256 random bits): shown only in this answer. Accept with POST /api/{user_id}/invitations/{token}/accept', examples: ['mF0rT2xq8Yb7kQ1vH9sL3cW6pN4zJ5dA0eU2gR8iO7k'] }),
    role: InvitedRole,
    expires_at: Timestamp('When it stops working (UTC)'),
  },
  { $id: 'InvitationCreated', title: 'InvitationCreated' },
);
export const InvitationCreateSchema = Type.Object(
  {
    role: InvitedRole,
    expires_in_hours: Type.Optional(Type.Integer({ minimum: 1, maximum: 720, description: 'Hours until it expires: 1-720, default 168 (a week)', examples: [168] })),
  },
  { $id: 'InvitationCreate', title: 'InvitationCreate' },
);
export const MemberSchema = Type.Object(
  {
    user_id: Type.String({ examples: ['u_8f2k'] }),
    role: Type.Unsafe<Role>({ type: 'string', enum: [...ROLES], examples: ['editor'] }),
    name: Type.Union([Type.String(), Type.Null()], { description: "As last seen in the member's own token; null until one had it", examples: ['Sam'] }),
    email: Type.Union([Type.String(), Type.Null()], { description: "As last seen in the member's own token; null until one had it", examples: ['sam@example.com'] }),
    joined_at: Timestamp('When they joined (UTC)'),
  },
  { $id: 'Member', title: 'Member' },
);
export const MemberUpdateSchema = Type.Object(
  {
    role: Type.Unsafe<Role>({
      type: 'string',
      enum: [...ROLES],
      description: '`owner` transfers the list (the old owner becomes an editor)',
      examples: ['viewer'],
      'x-error-message': 'must be owner, editor or viewer',
    }),
  },
  { $id: 'MemberUpdate', title: 'MemberUpdate' },
);

export const InvitationParamsSchema = Type.Object({ user_id: UserId, list_id: ListId, id: Id('Invitation id, in canonical decimal') });
export const MemberParamsSchema = Type.Object({ user_id: UserId, list_id: ListId, member_id: Type.String({ minLength: 1, maxLength: 255, description: "The member's user id", examples: ['u_3j9x'] }) });
export const AcceptParamsSchema = Type.Object({ user_id: UserId, token: Type.String({ minLength: 1, maxLength: 100, description: "The invitation's token" }) });

export const sharingSchemas = [InvitationSchema, InvitationCreatedSchema, InvitationCreateSchema, MemberSchema, MemberUpdateSchema];

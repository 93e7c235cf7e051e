import { Type } from 'typebox';

/** Ids are PostgreSQL `integer`s. */
export const ID_MAX = 2_147_483_647;

export const UserId = Type.String({
  minLength: 1,
  maxLength: 255,
  description: "The signed-in user's id; must equal the token's `sub`",
  examples: ['u_8f2k'],
});

/**
 * A resource id in a path: canonical decimal only (`42`, never `042`, `0x2a`, `4.2e1`, `+42`):
 * plugins/validation.ts checks the raw text of every integer parameter before coercion.
 */
export const Id = Type.Integer({
  minimum: 1,
  maximum: ID_MAX,
  description: 'Task id, in canonical decimal',
  examples: [42],
  'x-error-message': `must be a positive integer no larger than ${ID_MAX}`,
});

export const UserParamsSchema = Type.Object({ user_id: UserId });
export const ItemParamsSchema = Type.Object({ user_id: UserId, id: Id });

/**
 * Who may do what: the one table of roles and the actions each allows (API.md, Version 3, "Sharing").
 * Every check of a route or a repository asks `allows(role, action)` or `rolesAllowing(action)`;
 * nothing else in the code names a role. To add an action: add it to ACTIONS and to the roles that
 * allow it. To add a role: add it to `list_role` (a migration) and a row here; the types then
 * refuse to compile until every role has its row.
 */
export const ACTIONS = [
  /** See the list, its members and its tasks. */
  'list.read',
  /** Rename the list. */
  'list.rename',
  /** Delete the list (its tasks go to the trash). */
  'list.delete',
  /** Invite, change roles, remove members, transfer ownership. */
  'list.manage_members',
  /** Place the list in one's own sidebar (each member orders their own). */
  'list.position',
  /** Create, edit, complete, move and delete the list's tasks. */
  'task.write',
] as const;
export type Action = (typeof ACTIONS)[number];

export const ROLES = ['owner', 'editor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_ACTIONS: { readonly [R in Role]: readonly Action[] } = {
  owner: ACTIONS,
  editor: ['list.read', 'list.position', 'task.write'],
  viewer: ['list.read', 'list.position'],
};

export function allows(role: Role, action: Action): boolean {
  return ROLE_ACTIONS[role].includes(action);
}

/** The roles that allow `action`: what a SQL check compares a membership's role with. */
export function rolesAllowing(action: Action): Role[] {
  return ROLES.filter((r) => allows(r, action));
}

/** The least role that allows `action` (owner > editor > viewer): what a 403 names. */
export function leastRoleFor(action: Action): Role {
  const roles = rolesAllowing(action);
  return roles[roles.length - 1] ?? 'owner';
}

/**
 * SQL: whether the user `$user` may do `action` in the list `list` (SQL expressions of the caller's
 * statement): the one check every statement of every resource makes, from the table above.
 */
export function memberMaySql(action: Action, list: string, user: string): string {
  return `exists (select 1 from list_members may where may.list_id = ${list} and may.user_id = ${user} and may.role = any('{${rolesAllowing(action).join(',')}}'::list_role[]))`;
}

/** SQL: the lists `user` is a member of (every role reads). */
export function readableListsSql(user: string): string {
  return `select list_id from list_members where user_id = ${user}`;
}

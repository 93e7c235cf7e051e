/**
 * Lists other than the Inbox, for the tasks' version-3 tests until the Lists routes (src/lists/)
 * and sharing land: a list made with SQL, owned by a user (who has made their first request, so
 * their feed counter exists), with other members in the given roles. Everything the tests assert
 * goes through the API; only this setup does not.
 */
import type { Database } from '../../src/db/client.js';
import type { Api } from './api.js';

export async function makeList(database: Pick<Database, 'rows'>, owner: Api, members: Record<string, 'editor' | 'viewer'> = {}, name = 'Groceries'): Promise<number> {
  // The owner's (and each member's) first request makes their Inbox and feed counter.
  await owner.list();
  const [list] = await database.rows<{ id: number }>('insert into lists (owner_id, name) values ($1, $2) returning id', [owner.user, name]);
  const id = (list as { id: number }).id;
  await database.rows("insert into list_members (list_id, user_id, role) values ($1, $2, 'owner')", [id, owner.user]);
  for (const [user, role] of Object.entries(members)) {
    await database.rows('insert into user_changes (user_id) values ($1) on conflict do nothing', [user]);
    await database.rows('insert into list_members (list_id, user_id, role) values ($1, $2, $3)', [id, user, role]);
  }
  return id;
}

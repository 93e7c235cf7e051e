import type { Database } from '../db/client.js';

/** Profiles remembered per process (what was last written for each user), at most this many users. */
const REMEMBERED = 100_000;

const UPSERT =
  'insert into user_profiles as p (user_id, name, email) values ($1, $2, $3) on conflict (user_id) do update ' +
  'set name = coalesce(excluded.name, p.name), email = coalesce(excluded.email, p.email), updated_at = now() ' +
  'where (p.name, p.email) is distinct from (coalesce(excluded.name, p.name), coalesce(excluded.email, p.email))';

/**
 * Members' names and emails, as last seen in their own tokens (API.md, "Sharing"): a request whose
 * token carries a name or an email different from what this process last wrote for that user
 * writes it (a token without them changes nothing). One write per user and change, not per request.
 */
export function createProfiles(database: Pick<Database, 'rows'>) {
  const seen = new Map<string, string>();
  return {
    async note(userId: string, profile: { name?: string; email?: string } | undefined): Promise<void> {
      if (profile === undefined) return;
      const key = `${profile.name ?? ''}\u0000${profile.email ?? ''}`;
      if (seen.get(userId) === key) return;
      await database.rows(UPSERT, [userId, profile.name ?? null, profile.email ?? null]);
      if (seen.size >= REMEMBERED) seen.delete(seen.keys().next().value as string);
      seen.set(userId, key);
    },
  };
}

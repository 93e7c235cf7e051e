import { headers } from 'next/headers';

import { getAuth } from './auth';

/** The signed-in user's session in a server component or server action, or null. */
export async function getSession() {
  const auth = await getAuth();
  return auth.api.getSession({ headers: await headers() });
}

/**
 * A JWT for calling the Task API from the server (a server action, a route handler): the same
 * token the browser gets from /api/auth/token. Null without a session.
 */
export async function getApiToken(): Promise<string | null> {
  const auth = await getAuth();
  try {
    const { token } = await auth.api.getToken({ headers: await headers() });
    return token;
  } catch {
    return null;
  }
}

import { cachedToken } from '@task-api/client';

import { authClient } from './auth-client';

/**
 * The Task API's token in this tab: Better Auth's JWT (`/api/auth/token`), fetched once and kept
 * until shortly before it expires, for every page and component of the tab; cleared on sign-out
 * (here, or in another tab: a "signed-out" message on AUTH_CHANNEL).
 */
export const apiToken = cachedToken(async () => (await authClient.token()).data?.token ?? null);

/** The BroadcastChannel on which a tab tells the others "signed-out" (lib/offline.ts listens too). */
export const AUTH_CHANNEL = 'task-example-auth';

'use client';
import { createTaskClient, type TaskClient } from '@task-api/client';
import { useRouter } from 'next/navigation';
import { useCallback, useMemo, useRef, useState } from 'react';

import { AUTH_CHANNEL, apiToken } from '@/lib/api-token';
import { authClient } from '@/lib/auth-client';
import { useOffline } from '@/lib/offline';
import { forgetPushSubscription } from '@/lib/push';

export interface Notice {
  kind: 'retry' | 'info' | 'action';
  text: string;
}

/**
 * The page's Task API client and its session: `createTaskClient` with the tab's cached Better Auth
 * JWT, wrapped by the offline mode (lib/offline.ts: writes queued in an outbox while offline).
 *   - 401 (after one fresh token): back to /sign-in (not while signing out)
 *   - 503/429 with Retry-After: the client waits and retries; `notice` says so meanwhile (and also
 *     carries an action's outcome, "Cleared 2 completed tasks.")
 *   - signOut(): the push subscription forgotten, Better Auth signed out, the other tabs told
 */
export function useTaskClient(apiUrl: string, userId: string) {
  const router = useRouter();
  const routerRef = useRef(router);
  routerRef.current = router;
  const [notice, setNotice] = useState<Notice | null>(null);
  /** Set while signing out: a 401 of a request still in flight must not redirect elsewhere. */
  const leaving = useRef(false);

  const onlineClient: TaskClient = useMemo(
    () =>
      createTaskClient({
        baseUrl: apiUrl,
        userId,
        token: apiToken,
        onUnauthorized: () => {
          apiToken.clear();
          if (leaving.current) return;
          routerRef.current.replace('/sign-in?reason=session-expired');
        },
        // 503 (the database restarting, say) and 429 are retried after Retry-After, up to 8 times,
        // with a notice meanwhile; then the error shows.
        retry: { retries: 8 },
        onRetry: ({ status, delayMs }) =>
          setNotice({
            kind: 'retry',
            text:
              status === 0
                ? `The API cannot be reached; retrying in ${Math.ceil(delayMs / 1000)} s…`
                : `The API answered ${status}; retrying in ${Math.ceil(delayMs / 1000)} s…`,
          }),
      }),
    [apiUrl, userId],
  );
  const offline = useOffline(onlineClient, apiUrl, userId, apiToken);
  const client = offline.client;

  /** An answer (or a failure) ends the "retrying" notice. */
  const endRetryNotice = useCallback(() => setNotice((n) => (n?.kind === 'retry' ? null : n)), []);

  /** Signs out; `stopStream` first, so that nothing more arrives for this user. */
  async function signOut(stopStream: () => void) {
    leaving.current = true;
    stopStream();
    await forgetPushSubscription(client);
    await authClient.signOut();
    apiToken.clear();
    if (typeof BroadcastChannel !== 'undefined') {
      const channel = new BroadcastChannel(AUTH_CHANNEL);
      channel.postMessage('signed-out');
      channel.close();
    }
    router.replace('/sign-in?reason=signed-out');
    router.refresh();
  }

  return { client, offline, notice, setNotice, endRetryNotice, signOut };
}

'use client';
/**
 * The settings page: webhooks and calendar feeds, every call from the browser to the Task API
 * through @task-api/client with the user's Better Auth JWT, as on the task page. A 401 (after one
 * fresh token) sends to /sign-in.
 */
import { createTaskClient, type TaskClient } from '@task-api/client';
import { useRouter } from 'next/navigation';
import { useMemo, useRef } from 'react';

import { apiToken } from '@/lib/api-token';

import { CalendarPanel } from './calendar-panel';
import { WebhooksPanel } from './webhooks-panel';


export function SettingsApp({ apiUrl, userId, email }: { apiUrl: string; userId: string; email: string }) {
  const router = useRouter();
  const routerRef = useRef(router);
  routerRef.current = router;
  const client: TaskClient = useMemo(
    () =>
      createTaskClient({
        baseUrl: apiUrl,
        userId,
        token: apiToken,
        onUnauthorized: () => {
          apiToken.clear();
          routerRef.current.replace('/sign-in?reason=session-expired');
        },
        retry: { retries: 3 },
      }),
    [apiUrl, userId],
  );
  return (
    <>
      <header className="top">
        <h1>Settings</h1>
        <div className="row">
          <a href="/tasks">Back to tasks</a>
          <span data-testid="user-email">{email}</span>
        </div>
      </header>
      <main>
        <WebhooksPanel client={client} />
        <CalendarPanel client={client} />
      </main>
    </>
  );
}

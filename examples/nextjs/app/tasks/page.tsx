import { redirect } from 'next/navigation';

import { taskApiUrl } from '@/lib/config';
import { getSession } from '@/lib/session';

import { fetchFirstPage } from './first-page';
import { QueryProvider } from './query-provider';
import { SharedLists } from './shared-lists';
import { parseView } from './view';

export const dynamic = 'force-dynamic';

/**
 * A server component: no session, to /sign-in. The lists and the first page of tasks are fetched
 * here, with the user's JWT, and handed to the client's queries as their initial data.
 */
export default async function TasksPage({ searchParams }: { searchParams: Promise<{ list?: string | string[]; view?: string | string[] }> }) {
  const session = await getSession();
  if (!session) redirect('/sign-in');
  const view = parseView(await searchParams);
  const first = await fetchFirstPage(session.user.id, view);
  // {user_id} in the API's paths is Better Auth's user id: session.user.id.
  return (
    <QueryProvider>
      <SharedLists apiUrl={taskApiUrl()} userId={session.user.id} email={session.user.email} initialView={view} first={first} />
    </QueryProvider>
  );
}

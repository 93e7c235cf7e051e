import { redirect } from 'next/navigation';

import { taskApiUrl } from '@/lib/config';
import { getSession } from '@/lib/session';

import { SharedLists } from './shared-lists';

export const dynamic = 'force-dynamic';

export default async function TasksPage({ searchParams }: { searchParams: Promise<{ list?: string | string[] }> }) {
  const session = await getSession();
  if (!session) redirect('/sign-in');
  // `?list=7`: that list is shown (the Inbox otherwise, or when it is not one of the user's).
  const list = (await searchParams).list;
  const listId = typeof list === 'string' && /^[1-9]\d{0,9}$/.test(list) ? Number(list) : null;
  // {user_id} in the API's paths is Better Auth's user id: session.user.id.
  return <SharedLists apiUrl={taskApiUrl()} userId={session.user.id} email={session.user.email} initialListId={listId} />;
}

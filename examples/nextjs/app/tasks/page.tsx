import { redirect } from 'next/navigation';

import { taskApiUrl } from '@/lib/config';
import { getSession } from '@/lib/session';

import { TaskApp } from './task-app';

export const dynamic = 'force-dynamic';

export default async function TasksPage() {
  const session = await getSession();
  if (!session) redirect('/sign-in');
  // {user_id} in the API's paths is Better Auth's user id: session.user.id.
  return <TaskApp apiUrl={taskApiUrl()} userId={session.user.id} email={session.user.email} />;
}

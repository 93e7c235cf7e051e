import { redirect } from 'next/navigation';

import { taskApiUrl } from '@/lib/config';
import { getSession } from '@/lib/session';

import { TrashApp } from './trash-app';

export const dynamic = 'force-dynamic';

export default async function TrashPage() {
  const session = await getSession();
  if (!session) redirect('/sign-in');
  return <TrashApp apiUrl={taskApiUrl()} userId={session.user.id} email={session.user.email} />;
}

import { redirect } from 'next/navigation';

import { taskApiUrl } from '@/lib/config';
import { getSession } from '@/lib/session';

import { SettingsApp } from './settings-app';
import './settings.css';

export const dynamic = 'force-dynamic';

/** /settings: webhooks and calendar feeds. Signed out: to /sign-in, as /tasks. */
export default async function SettingsPage() {
  const session = await getSession();
  if (!session) redirect('/sign-in');
  return <SettingsApp apiUrl={taskApiUrl()} userId={session.user.id} email={session.user.email} />;
}

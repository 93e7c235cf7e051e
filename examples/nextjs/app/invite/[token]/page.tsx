import { redirect } from 'next/navigation';

import { taskApiUrl } from '@/lib/config';
import { getSession } from '@/lib/session';

import { AcceptInvitation } from './accept-invitation';
import '../../tasks/sharing.css';

export const dynamic = 'force-dynamic';

/**
 * An invitation link, `/invite/<token>`: signed out, to sign-in (or sign-up) and back here; signed
 * in, the invitation is accepted and the list shown. The token is only passed on to the API.
 */
export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const session = await getSession();
  if (!session) redirect(`/sign-in?reason=invite&next=${encodeURIComponent(`/invite/${encodeURIComponent(token)}`)}`);
  return (
    <>
      <header className="top">
        <h1>Tasks</h1>
        <span data-testid="user-email">{session.user.email}</span>
      </header>
      <AcceptInvitation apiUrl={taskApiUrl()} userId={session.user.id} token={token} />
    </>
  );
}

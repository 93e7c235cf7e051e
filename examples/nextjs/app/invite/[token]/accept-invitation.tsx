'use client';
/**
 * Accepts an invitation as soon as the page opens (POST /invitations/{token}/accept), then shows the
 * list (`/tasks?list=<id>`). The API's refusals in words: 404 (an unknown, used, revoked or expired
 * token: the API does not say which, so that a token tells nothing), 409 (already a member), 403
 * MEMBER_LIMIT_REACHED (the list is full).
 */
import { ApiError, createTaskClient } from '@task-api/client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState } from 'react';

import { apiToken } from '@/lib/api-token';


type State =
  | { kind: 'accepting' }
  | { kind: 'accepted'; name: string }
  | { kind: 'refused'; code: 'gone' | 'member' | 'full' | 'other'; text: string };

function refusal(err: unknown): State {
  if (err instanceof ApiError) {
    if (err.status === 404) {
      return {
        kind: 'refused',
        code: 'gone',
        text: 'This invitation link no longer works: it has already been used, the list’s owner revoked it, or it has expired. Ask the owner for a new link.',
      };
    }
    if (err.status === 409) return { kind: 'refused', code: 'member', text: 'You are already a member of this list: it is among your lists.' };
    if (err.code === 'MEMBER_LIMIT_REACHED') return { kind: 'refused', code: 'full', text: 'This list already has the most members allowed; ask its owner to make room.' };
    return { kind: 'refused', code: 'other', text: err.status === 0 ? `The API cannot be reached (${err.detail})` : `${err.detail} (${err.status} ${err.code})` };
  }
  return { kind: 'refused', code: 'other', text: err instanceof Error ? err.message : String(err) };
}

export function AcceptInvitation({ apiUrl, userId, token }: { apiUrl: string; userId: string; token: string }) {
  const router = useRouter();
  const [state, setState] = useState<State>({ kind: 'accepting' });
  /** Once per page: a second accept of the same token would be refused as used. */
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const client = createTaskClient({
      baseUrl: apiUrl,
      userId,
      token: apiToken,
      onUnauthorized: () => router.replace(`/sign-in?reason=invite&next=${encodeURIComponent(window.location.pathname)}`),
    });
    client.lists.accept(token).then(
      (list) => {
        setState({ kind: 'accepted', name: list.name });
        router.replace(`/tasks?list=${list.id}`);
      },
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 401) return;
        setState(refusal(err));
      },
    );
  }, [apiUrl, userId, token, router]);

  return (
    <main>
      <h2>Invitation to a shared list</h2>
      {state.kind === 'accepting' ? (
        <p className="muted" role="status" data-testid="invite-state">
          Accepting the invitation…
        </p>
      ) : state.kind === 'accepted' ? (
        <p role="status" data-testid="invite-state">
          You joined “{state.name}”. Opening it…
        </p>
      ) : (
        <p className={state.code === 'member' ? 'notice' : 'error'} role="alert" data-testid="invite-error" data-code={state.code}>
          {state.text}
        </p>
      )}
      <p>
        <Link href="/tasks">Your lists</Link>
      </p>
    </main>
  );
}

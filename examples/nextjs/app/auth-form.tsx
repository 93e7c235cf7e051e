'use client';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { useState, type FormEvent } from 'react';

import { authClient } from '@/lib/auth-client';

const REASONS: Record<string, string> = {
  'session-expired': 'Your session has ended. Sign in again.',
  'signed-out': 'You are signed out.',
  invite: 'Sign in, or sign up, to accept the invitation to a shared list.',
};

/** Where to go after signing in: `?next=` when it is a path of this app (an invitation, say), else the tasks. */
function nextPath(next: string | null): string | null {
  return next !== null && next.startsWith('/') && !next.startsWith('//') && !next.includes('\\') ? next : null;
}

export function AuthForm({ mode }: { mode: 'sign-in' | 'sign-up' }) {
  const router = useRouter();
  const params = useSearchParams();
  const reason = params.get('reason');
  const next = nextPath(params.get('next'));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get('email') ?? '');
    const password = String(form.get('password') ?? '');
    setBusy(true);
    setError(null);
    const { error: failed } =
      mode === 'sign-up'
        ? await authClient.signUp.email({ email, password, name: String(form.get('name') ?? '') || email })
        : await authClient.signIn.email({ email, password });
    setBusy(false);
    if (failed) {
      setError(failed.message ?? `Failed (${failed.status})`);
      return;
    }
    router.replace(next ?? '/tasks');
    router.refresh();
  }

  return (
    <main>
      <h2>{mode === 'sign-up' ? 'Create an account' : 'Sign in'}</h2>
      {reason && REASONS[reason] ? (
        <p className="notice" role="status" data-testid="auth-reason">
          {REASONS[reason]}
        </p>
      ) : null}
      <form className="auth" onSubmit={submit}>
        {mode === 'sign-up' ? (
          <label>
            Name
            <input name="name" autoComplete="name" />
          </label>
        ) : null}
        <label>
          Email
          <input name="email" type="email" required autoComplete="email" />
        </label>
        <label>
          Password
          <input name="password" type="password" required minLength={8} autoComplete={mode === 'sign-up' ? 'new-password' : 'current-password'} />
        </label>
        <button className="primary" type="submit" disabled={busy}>
          {mode === 'sign-up' ? 'Sign up' : 'Sign in'}
        </button>
        {error ? (
          <p className="error" role="alert" data-testid="auth-error">
            {error}
          </p>
        ) : null}
      </form>
      <p>
        {mode === 'sign-up' ? (
          <>
            Already have an account? <Link href={next ? `/sign-in?reason=invite&next=${encodeURIComponent(next)}` : '/sign-in'}>Sign in</Link>
          </>
        ) : (
          <>
            No account yet? <Link href={next ? `/sign-up?reason=invite&next=${encodeURIComponent(next)}` : '/sign-up'}>Sign up</Link>
          </>
        )}
      </p>
    </main>
  );
}

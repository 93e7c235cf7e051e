import { redirect } from 'next/navigation';
import { Suspense } from 'react';

import { getSession } from '@/lib/session';

import { AuthForm } from './auth-form';

/** The sign-in and sign-up pages: a signed-in user goes to the tasks, anyone else gets the form. */
export async function AuthPage({ mode }: { mode: 'sign-in' | 'sign-up' }) {
  if (await getSession()) redirect('/tasks');
  return (
    <>
      <header className="top">
        <h1>Tasks</h1>
      </header>
      <Suspense>
        <AuthForm mode={mode} />
      </Suspense>
    </>
  );
}

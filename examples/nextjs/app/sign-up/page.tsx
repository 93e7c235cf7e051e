import { redirect } from 'next/navigation';
import { Suspense } from 'react';

import { getSession } from '@/lib/session';

import { AuthForm } from '../auth-form';

export const dynamic = 'force-dynamic';

export default async function Page() {
  if (await getSession()) redirect('/tasks');
  return (
    <>
      <header className="top">
        <h1>Tasks</h1>
      </header>
      <Suspense>
        <AuthForm mode="sign-up" />
      </Suspense>
    </>
  );
}

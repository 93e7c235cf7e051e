import { AuthPage } from '../auth-page';

export const dynamic = 'force-dynamic';

export default function Page() {
  return <AuthPage mode="sign-in" />;
}

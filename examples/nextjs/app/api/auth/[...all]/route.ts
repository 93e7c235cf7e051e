import { getAuth } from '@/lib/auth';

// Better Auth's whole HTTP API (sign-up, sign-in, session, /token, /jwks) under /api/auth.
async function handle(request: Request): Promise<Response> {
  const auth = await getAuth();
  return auth.handler(request);
}

export const GET = handle;
export const POST = handle;
export const dynamic = 'force-dynamic';

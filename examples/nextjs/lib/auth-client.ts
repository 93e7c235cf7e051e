'use client';
import { jwtClient } from 'better-auth/client/plugins';
import { createAuthClient } from 'better-auth/react';

/** Better Auth in the browser; same origin, so no baseURL. `authClient.token()` comes from jwtClient(). */
export const authClient = createAuthClient({ plugins: [jwtClient()] });

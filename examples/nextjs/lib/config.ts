/**
 * The example's configuration, all optional (server side only; read at request time, so one build
 * runs anywhere):
 *   BETTER_AUTH_URL      this app's own origin, Better Auth's baseURL: the `iss`/`aud` of its JWTs,
 *                        and what the API's BETTER_AUTH_URL must be. Default http://localhost:3000
 *   BETTER_AUTH_SECRET   signs cookies and encrypts the JWT keys. Default: generated once into .data/
 *   AUTH_DATABASE_URL    postgres://... (Neon) for Better Auth's tables. Default: SQLite in .data/auth.sqlite
 *   AUTH_SQLITE_PATH     where that SQLite file is
 *   TASK_API_URL         the Task API, as the browser reaches it. Default http://127.0.0.1:8000
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DATA_DIR = join(process.cwd(), '.data');

export function authBaseUrl(): string {
  return (process.env.BETTER_AUTH_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
}

export function taskApiUrl(): string {
  return (process.env.TASK_API_URL ?? process.env.NEXT_PUBLIC_TASK_API_URL ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');
}

/** BETTER_AUTH_SECRET, or a development secret generated once and kept in .data/auth-secret. */
export function authSecret(): string {
  const fromEnv = process.env.BETTER_AUTH_SECRET;
  if (fromEnv) return fromEnv;
  const file = join(DATA_DIR, 'auth-secret');
  if (!existsSync(file)) {
    mkdirSync(DATA_DIR, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
    console.warn(`BETTER_AUTH_SECRET is not set: generated a development secret in ${file}. Set it in production.`);
  }
  return readFileSync(file, 'utf8').trim();
}

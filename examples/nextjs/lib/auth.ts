/**
 * Better Auth on the server: email and password, and the JWT plugin (EdDSA keys, JWKS at
 * /api/auth/jwks, a 15-minute JWT from /api/auth/token) that the Task API verifies. Built on first
 * use (not at import), so `next build` opens no database; Better Auth's tables are created then
 * (its own migrations), so a fresh checkout needs no setup step.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { nextCookies } from 'better-auth/next-js';
import { jwt } from 'better-auth/plugins';

import { DATA_DIR, authBaseUrl, authSecret } from './config';

async function database() {
  const url = process.env.AUTH_DATABASE_URL;
  if (url) {
    // Neon (or any PostgreSQL): its pooled URL with ?sslmode=require works.
    const { Pool } = await import('pg');
    return new Pool({ connectionString: url, max: Number(process.env.AUTH_DATABASE_POOL_MAX ?? 5) });
  }
  // Node's built-in SQLite (node:sqlite, Node 22.13 and later): no native addon to compile. Better
  // Auth recognises its DatabaseSync and drives it through its own Kysely dialect.
  const { DatabaseSync } = await import('node:sqlite');
  const file = process.env.AUTH_SQLITE_PATH ?? join(DATA_DIR, 'auth.sqlite');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;');
  return db;
}

async function create() {
  const auth = betterAuth({
    baseURL: authBaseUrl(),
    secret: authSecret(),
    database: await database(),
    emailAndPassword: { enabled: true, autoSignIn: true, minPasswordLength: 8 },
    telemetry: { enabled: false },
    // EdDSA (Ed25519) is the JWT plugin's default; the API fetches the keys from /api/auth/jwks.
    plugins: [jwt({ jwks: { keyPairConfig: { alg: 'EdDSA', crv: 'Ed25519' } } }), nextCookies()],
  });
  const { runMigrations } = await getMigrations(auth.options);
  await runMigrations();
  return auth;
}

export type Auth = Awaited<ReturnType<typeof create>>;

const globalForAuth = globalThis as unknown as { __taskExampleAuth?: Promise<Auth> };

/** The Better Auth instance (one per server process, kept across dev hot reloads). */
export function getAuth(): Promise<Auth> {
  globalForAuth.__taskExampleAuth ??= create().catch((err: unknown) => {
    globalForAuth.__taskExampleAuth = undefined;
    throw err;
  });
  return globalForAuth.__taskExampleAuth;
}

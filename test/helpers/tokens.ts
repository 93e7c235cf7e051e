/** The one token minter of the tests, the bench and the soak (no Vitest in here). */
import { SignJWT } from 'jose';

/** The secret of testConfig() (src/config.ts). */
export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123';

export interface TokenOptions {
  secret?: string;
  alg?: 'HS256' | 'HS384' | 'HS512';
  /** Seconds from now; negative for an expired token. Default 3600. */
  expiresIn?: number;
  claims?: Record<string, unknown>;
  /** Leave out sub. */
  noSub?: boolean;
}

/** An HS256 token as a frontend holding the shared secret would mint it. */
export async function signToken(sub: string, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...options.claims })
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 3600));
  if (!options.noSub) jwt.setSubject(sub);
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_SECRET));
}

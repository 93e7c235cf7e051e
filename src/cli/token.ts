import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { ConfigError, loadConfig, optionsTakenByNpm } from '../config.js';

const USAGE = 'usage: npm run token -- <user_id> [--email you@example.com] [--name "Your Name"] [--ttl 1h]';

/**
 * Prints an HS256 token for <user_id>, signed with the secret the server uses (BETTER_AUTH_SECRET,
 * or the generated development secret in DATA_DIR), so the API can be tried with curl at once.
 */
async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      ttl: { type: 'string', default: '1h' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const taken = optionsTakenByNpm(['email', 'name', 'ttl', 'help']);
  if (taken.length > 0) {
    const example = `npm run token -- ${positionals[0] ?? '<user_id>'} ${taken.filter((t) => t !== 'help').map((t) => `--${t} ...`).join(' ')}`.trim();
    process.stderr.write(
      `npm took ${taken.map((t) => `--${t}`).join(', ')} for itself: put -- between "token" and the token's arguments, e.g. ${example}\n`,
    );
    process.exit(2);
  }
  if (values.help || positionals.length !== 1 || positionals[0] === '') {
    process.stderr.write(`${USAGE}\n`);
    process.exit(values.help ? 0 : 2);
  }
  const ttl = values.ttl as string;
  if (!/^\d+\s*(s|m|h|d)?$/.test(ttl)) {
    process.stderr.write(`--ttl must look like 3600, 30m, 1h or 7d (got "${ttl}")\n`);
    process.exit(2);
  }
  const config = loadConfig();
  if (config.betterAuthSecret === undefined) {
    process.stderr.write('No BETTER_AUTH_SECRET is configured, so the server accepts no HS256 token.\n');
    process.exit(1);
  }
  const userId = positionals[0] as string;
  const claims: Record<string, string> = {};
  if (values.email !== undefined) claims.email = values.email;
  if (values.name !== undefined) claims.name = values.name;
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(/^\d+$/.test(ttl) ? `${ttl}s` : ttl.replace(/\s+/g, ''))
    .sign(new TextEncoder().encode(config.betterAuthSecret));
  process.stdout.write(`${token}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? 'Configuration error: ' : ''}${(err as Error).message}\n`);
  process.exit(1);
});

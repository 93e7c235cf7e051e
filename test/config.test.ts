import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, readEnv, tokenModes } from '../src/config.js';
import { ROOT } from './helpers/process.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'task-api-config-'));
const SECRET = 's'.repeat(40);
/** The warnings but Web Push's (production without VAPID keys warns that push is off: its own tests below). */
const notPush = (warnings: readonly string[]) => warnings.filter((w) => !w.startsWith('Web Push is off'));

describe('config', () => {
  it('has working defaults with nothing set: the embedded PostgreSQL in ./.data, port 8000, a generated dev secret', () => {
    const dir = tmp();
    const config = loadConfig({ DATA_DIR: dir });
    expect(config).toMatchObject({
      env: 'development',
      host: '127.0.0.1',
      port: 8000,
      databaseUrl: undefined,
      dataDir: dir,
      betterAuthUrl: 'http://localhost:3000',
      jwksUrl: 'http://localhost:3000/api/auth/jwks',
      jwtIssuer: 'http://localhost:3000',
      jwtAudience: 'http://localhost:3000',
      corsOrigins: ['http://localhost:3000'],
      logLevel: 'info',
      bodyLimit: 65536,
      jobsConcurrency: 4,
      jobsProcess: 'separate',
      jobsNice: 10,
    });
    const file = join(dir, 'dev-secret');
    expect(config.betterAuthSecret).toBe(readFileSync(file, 'utf8').trim());
    expect(config.betterAuthSecret!.length).toBeGreaterThanOrEqual(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(config.warnings.join('\n')).toMatch(/BETTER_AUTH_SECRET is not set/);
    // The same secret on the next start (and for `npm run token`).
    expect(loadConfig({ DATA_DIR: dir }).betterAuthSecret).toBe(config.betterAuthSecret);
  });

  it('NEON_DATABASE_URL wins over DATABASE_URL; pooled URLs turn prepared statements off', () => {
    const both = loadConfig({ NEON_DATABASE_URL: 'postgresql://a@neon/db?sslmode=require', DATABASE_URL: 'postgres://b@x/db', BETTER_AUTH_SECRET: SECRET });
    expect(both.databaseUrl).toBe('postgresql://a@neon/db?sslmode=require');
    expect(both.databasePrepare).toBe(true);
    const pooled = loadConfig({ DATABASE_URL: 'postgresql://u@ep-x-123-pooler.eu-central-1.aws.neon.tech/db?sslmode=require', BETTER_AUTH_SECRET: SECRET });
    expect(pooled.databasePrepare).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h:6432/db?pgbouncer=true', BETTER_AUTH_SECRET: SECRET }).databasePrepare).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', DATABASE_PREPARE: 'false', BETTER_AUTH_SECRET: SECRET }).databasePrepare).toBe(false);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be a whole number from 0 to 65535 (got "abc")'],
    [{ PORT: '70000' }, 'PORT must be a whole number from 0 to 65535 (got "70000")'],
    [{ DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL must be a postgres:// or postgresql:// URL (got scheme "mysql:")'],
    [{ NEON_DATABASE_URL: 'not a url' }, 'NEON_DATABASE_URL must be a postgres:// or postgresql:// URL'],
    [{ BETTER_AUTH_URL: 'localhost:3000' }, 'BETTER_AUTH_URL must be an http(s) URL (got "localhost:3000")'],
    [{ CORS_ORIGINS: 'http://localhost:3000,*' }, 'CORS_ORIGINS cannot be "*": credentials are allowed, so list each origin'],
    [{ CORS_ORIGINS: 'localhost:3000' }, 'CORS_ORIGINS has "localhost:3000", which is not an origin like https://app.example.com'],
    [{ CORS_ORIGINS: 'https://app.example.com/path' }, 'CORS_ORIGINS has "https://app.example.com/path", which is not an origin like https://app.example.com'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")'],
    [{ RATE_LIMIT_PER_MINUTE: '-1' }, 'RATE_LIMIT_PER_MINUTE must be a whole number from 0 to 10000000 (got "-1")'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL must be a redis:// or rediss:// URL'],
    [{ NODE_ENV: 'production', BETTER_AUTH_SECRET: 'short' }, 'BETTER_AUTH_SECRET must be at least 32 characters in production'],
    [
      { NODE_ENV: 'production', BETTER_AUTH_SECRET: '' },
      'BETTER_AUTH_SECRET is required in production: without it, and without BETTER_AUTH_URL or JWKS_URL, no token a frontend has can be verified ' +
        "(set BETTER_AUTH_SECRET to the frontend's, or BETTER_AUTH_URL to its Better Auth baseURL for JWT-plugin and session tokens)",
    ],
    [{ LOG_FORMAT: 'fancy' }, 'LOG_FORMAT must be auto, pretty or json (got "fancy")'],
    [
      { NODE_ENV: 'production', BETTER_AUTH_SECRET: '', JWKS_URL: 'https://auth.example.com/api/auth/jwks' },
      'JWKS_URL is set but BETTER_AUTH_URL is not, so JWTs are checked for iss and aud http://localhost:3000, the development default: ' +
        "set BETTER_AUTH_URL to Better Auth's baseURL (or JWT_ISSUER and JWT_AUDIENCE); without BETTER_AUTH_SECRET no token a frontend has can be verified",
    ],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV must be development, production or test (got "staging")'],
  ])('%j stops the start with one line naming the variable', (env, message) => {
    const attempt = () => loadConfig({ DATA_DIR: tmp(), BETTER_AUTH_SECRET: SECRET, ...env });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(message);
    expect(message).not.toContain('\n');
  });

  it('production may verify by JWKS only when BETTER_AUTH_URL is set', () => {
    const config = loadConfig({ NODE_ENV: 'production', BETTER_AUTH_URL: 'https://app.example.com/' });
    expect(config.betterAuthSecret).toBeUndefined();
    expect(config.betterAuthUrl).toBe('https://app.example.com');
    expect(config.jwksUrl).toBe('https://app.example.com/api/auth/jwks');
  });

  it('reads .env from the working directory; real environment variables win', () => {
    const dir = tmp();
    writeFileSync(join(dir, '.env'), 'PORT=9001\nLOG_LEVEL=debug\n# comment\nCORS_ORIGINS="http://a.test,http://b.test"\n');
    const env = readEnv({ LOG_LEVEL: 'warn' }, dir);
    const config = loadConfig({ ...env, DATA_DIR: dir });
    expect(config.port).toBe(9001);
    expect(config.logLevel).toBe('warn');
    expect(config.corsOrigins).toEqual(['http://a.test', 'http://b.test']);
    expect(readEnv({ A: '1' }, tmp())).toEqual({ A: '1' });
  });

  it('.env.example, copied to .env, does not defeat the production check (it sets no BETTER_AUTH_URL)', () => {
    const dir = tmp();
    copyFileSync(join(ROOT, '.env.example'), join(dir, '.env'));
    const env = readEnv({ NODE_ENV: 'production', DATA_DIR: dir }, dir);
    expect(env.BETTER_AUTH_URL).toBe('');
    expect(() => loadConfig(env)).toThrow(/^BETTER_AUTH_SECRET is required in production: /);
    // As it stands (development), it starts.
    expect(loadConfig({ ...readEnv({}, dir), DATA_DIR: dir }).env).toBe('development');
  });

  it('says which token modes are on, and why, one line each', () => {
    const dir = tmp();
    const lines = (env: Record<string, string>) => tokenModes(loadConfig({ DATA_DIR: dir, ...env })).map((m) => `${m.on ? 'on ' : 'off'} ${m.line}`);
    expect(lines({ NODE_ENV: 'production', BETTER_AUTH_URL: 'https://app.example.com' })).toEqual([
      "off tokens: HS256/384/512 with the shared secret: off (BETTER_AUTH_SECRET is not set): a frontend's HS256 tokens get 401 INVALID_TOKEN",
      'on  tokens: Better Auth JWT plugin (EdDSA, ES256, RS256, PS256): on, keys from https://app.example.com/api/auth/jwks, iss https://app.example.com, aud https://app.example.com (BETTER_AUTH_URL is set)',
      'on  tokens: Better Auth session tokens: on, looked up at https://app.example.com/api/auth/get-session (AUTH_SESSION_TOKENS=false turns them off)',
    ]);
    expect(lines({ NODE_ENV: 'production', BETTER_AUTH_SECRET: SECRET, AUTH_SESSION_TOKENS: 'false' })).toEqual([
      'on  tokens: HS256/384/512 with the shared secret: on (BETTER_AUTH_SECRET is set)',
      'on  tokens: Better Auth JWT plugin (EdDSA, ES256, RS256, PS256): on, keys from http://localhost:3000/api/auth/jwks, iss http://localhost:3000, aud http://localhost:3000 (BETTER_AUTH_URL is not set: the development default http://localhost:3000)',
      'off tokens: Better Auth session tokens: off (AUTH_SESSION_TOKENS=false)',
    ]);
    expect(lines({ JWKS_URL: 'https://auth.example.com/keys' })[0]).toBe(
      `on  tokens: HS256/384/512 with the shared secret: on with a generated development secret (BETTER_AUTH_SECRET is not set; ${join(dir, 'dev-secret')}, known to npm run token only)`,
    );
    expect(lines({ JWKS_URL: 'https://auth.example.com/keys' })[1]).toMatch(/keys from https:\/\/auth\.example\.com\/keys, .* \(JWKS_URL is set\)$/);
  });

  it('production with JWKS_URL but no BETTER_AUTH_URL: refused without a secret (above), a warning with one; fine with JWT_ISSUER and JWT_AUDIENCE', () => {
    const base = { NODE_ENV: 'production', DATABASE_URL: 'postgres://u@db/tasks', JWKS_URL: 'https://auth.example.com/keys' };
    expect(notPush(loadConfig({ ...base, BETTER_AUTH_SECRET: SECRET }).warnings)).toEqual([expect.stringMatching(/^JWKS_URL is set but BETTER_AUTH_URL is not, /)]);
    const explicit = loadConfig({ ...base, JWT_ISSUER: 'https://auth.example.com', JWT_AUDIENCE: 'https://app.example.com' });
    expect({ warnings: notPush(explicit.warnings), iss: explicit.jwtIssuer, aud: explicit.jwtAudience }).toEqual({
      warnings: [],
      iss: 'https://auth.example.com',
      aud: 'https://app.example.com',
    });
  });

  it('warns loudly in production on the embedded database', () => {
    const dir = tmp();
    expect(notPush(loadConfig({ NODE_ENV: 'production', BETTER_AUTH_SECRET: SECRET, DATA_DIR: dir }).warnings)).toEqual([
      `NODE_ENV=production on the EMBEDDED database in ${dir}: no DATABASE_URL is set, so every task lives in this folder on this machine only ` +
        '(no replica, no backup, one instance); for production set DATABASE_URL or NEON_DATABASE_URL (Neon: docs/DEPLOYMENT.md)',
    ]);
    expect(notPush(loadConfig({ NODE_ENV: 'production', BETTER_AUTH_SECRET: SECRET, DATABASE_URL: 'postgres://u@db/tasks' }).warnings)).toEqual([]);
  });

  it('logs are pretty in a terminal in development, JSON otherwise; LOG_FORMAT decides when set', () => {
    const base = { DATA_DIR: tmp(), BETTER_AUTH_SECRET: SECRET };
    expect(loadConfig(base, true).logFormat).toBe('pretty');
    expect(loadConfig(base, false).logFormat).toBe('json');
    expect(loadConfig({ ...base, NODE_ENV: 'production' }, true).logFormat).toBe('json');
    expect(loadConfig({ ...base, NODE_ENV: 'test' }, true).logFormat).toBe('json');
    expect(loadConfig({ ...base, LOG_FORMAT: 'json' }, true).logFormat).toBe('json');
    expect(loadConfig({ ...base, LOG_FORMAT: 'pretty', NODE_ENV: 'production' }, false).logFormat).toBe('pretty');
  });

  it('TRUST_PROXY: false by default; true is one hop; a hop count; a list of proxy addresses and CIDRs; anything else stops the start', () => {
    const trust = (value?: string) => loadConfig({ DATA_DIR: tmp(), ...(value === undefined ? {} : { TRUST_PROXY: value }) }).trustProxy;
    expect(trust()).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('0')).toBe(false);
    expect(trust('true')).toBe(1);
    expect(trust('1')).toBe(1);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, 192.168.1.7,::1, fd00::/8, loopback')).toEqual(['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8', 'loopback']);
    for (const bad of ['everything', '10.0.0.0/33', '300.1.1.1', '10.0.0.1/8/2', 'fd00::/129', '21', '10.0.0.1, nope']) {
      expect(() => trust(bad), bad).toThrow(ConfigError);
      expect(() => trust(bad), bad).toThrow(/^TRUST_PROXY must be/);
    }
  });

  it('connections: 256 per address, in all the open-file limit minus 128 (100 to 10,000), keep-alive 65 s; each can be set', () => {
    const config = loadConfig({ DATA_DIR: tmp() });
    expect(config.maxConnectionsPerIp).toBe(256);
    expect(config.keepAliveTimeoutMs).toBe(65_000);
    expect(config.maxConnections).toBeGreaterThanOrEqual(100);
    expect(config.maxConnections).toBeLessThanOrEqual(10_000);
    expect(loadConfig({ DATA_DIR: tmp(), MAX_CONNECTIONS: '50', MAX_CONNECTIONS_PER_IP: '0', KEEP_ALIVE_TIMEOUT_MS: '620000' })).toMatchObject({
      maxConnections: 50,
      maxConnectionsPerIp: 0,
      keepAliveTimeoutMs: 620_000,
    });
    expect(() => loadConfig({ DATA_DIR: tmp(), MAX_CONNECTIONS: 'lots' })).toThrow(/^MAX_CONNECTIONS must be a whole number/);
  });

  it('session tokens: get-session by default; AUTH_SESSION_SOURCE=database reads Better Auth\'s table; bounds and names are checked', () => {
    expect(loadConfig({ DATA_DIR: tmp() })).toMatchObject({
      sessionSource: 'get-session',
      sessionTable: 'session',
      sessionColumns: undefined,
      sessionDatabaseUrl: undefined,
      sessionLookupsMax: 32,
      sessionLookupsPerIp: 4,
      sessionCookie: undefined,
    });
    expect(
      loadConfig({
        DATA_DIR: tmp(),
        AUTH_SESSION_SOURCE: 'database',
        AUTH_SESSION_DATABASE_URL: 'postgresql://u@db.example.com/auth',
        AUTH_SESSION_TABLE: 'auth.session',
        AUTH_SESSION_COLUMNS: 'camel',
        AUTH_SESSION_COOKIE: 'myapp.session_token',
      }),
    ).toMatchObject({ sessionSource: 'database', sessionDatabaseUrl: 'postgresql://u@db.example.com/auth', sessionTable: 'auth.session', sessionColumns: 'camel', sessionCookie: 'myapp.session_token' });
    for (const [name, value, message] of [
      ['AUTH_SESSION_SOURCE', 'table', /^AUTH_SESSION_SOURCE must be one of get-session, database/],
      ['AUTH_SESSION_TABLE', 'session; drop table tasks', /^AUTH_SESSION_TABLE must be a table name/],
      ['AUTH_SESSION_COLUMNS', 'kebab', /^AUTH_SESSION_COLUMNS must be one of auto, snake, camel/],
      ['AUTH_SESSION_DATABASE_URL', 'mysql://x', /^AUTH_SESSION_DATABASE_URL must be a postgres/],
      ['AUTH_SESSION_COOKIE', 'a b', /^AUTH_SESSION_COOKIE must be a cookie name/],
      ['AUTH_SESSION_LOOKUPS_PER_IP', '0', /^AUTH_SESSION_LOOKUPS_PER_IP must be a whole number from 1/],
    ] as const) {
      expect(() => loadConfig({ DATA_DIR: tmp(), [name]: value }), name).toThrow(message);
    }
  });
});

describe('the documentation of the configuration', () => {
  // Every variable src/config.ts reads, found in its source: a new one without docs fails here.
  const source = readFileSync(join(ROOT, 'src/config.ts'), 'utf8');
  const INTERNAL = new Set(['TASK_API_EMBEDDED_URL']); // set by the cluster primary for its workers
  const read = [...new Set([...source.matchAll(/env(?:\.|\['|, ')([A-Z][A-Z0-9_]{2,})/g)].map((m) => m[1]!))].filter(
    (name) => !INTERNAL.has(name),
  );
  const guide = readFileSync(join(ROOT, 'docs/CONFIGURATION.md'), 'utf8');
  const table = guide.slice(guide.indexOf('\n## Variables'), guide.indexOf('\n## ', guide.indexOf('\n## Variables') + 1));
  const example = readFileSync(join(ROOT, '.env.example'), 'utf8');

  it('names every variable the service reads in the table of docs/CONFIGURATION.md and in .env.example', () => {
    expect(read.length).toBeGreaterThan(40);
    expect(read.filter((name) => !table.includes(`\`${name}\``))).toEqual([]);
    expect(read.filter((name) => !new RegExp(`^#? ?${name}=`, 'm').test(example))).toEqual([]);
  });
});

describe('config: Web Push keys', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'task-api-vapid-'));
  const pair = () => {
    const c = loadConfig({ DATA_DIR: dir(), BETTER_AUTH_SECRET: SECRET });
    return c.vapid as { publicKey: string; privateKey: string };
  };

  it('without keys outside production: a pair generated once into DATA_DIR (0600), the same for every start on that folder', () => {
    const d = dir();
    const first = loadConfig({ DATA_DIR: d, BETTER_AUTH_SECRET: SECRET });
    const again = loadConfig({ DATA_DIR: d, BETTER_AUTH_SECRET: SECRET });
    expect(first.vapidSource).toBe('dev-keys');
    expect(again.vapid).toEqual(first.vapid);
    expect(Buffer.from(first.vapid?.publicKey as string, 'base64url')).toHaveLength(65);
    expect(Buffer.from(first.vapid?.privateKey as string, 'base64url')).toHaveLength(32);
    expect(first.vapid?.subject).toBe('mailto:task-api@localhost');
    expect(statSync(join(d, 'vapid-keys.json')).mode & 0o777).toBe(0o600);
    expect(loadConfig({ DATA_DIR: dir(), BETTER_AUTH_SECRET: SECRET }).vapid?.publicKey).not.toBe(first.vapid?.publicKey);
  });

  it('from the environment, both keys; in production VAPID_SUBJECT too; without keys in production push is off with a warning', () => {
    const { publicKey, privateKey } = pair();
    const prod = { NODE_ENV: 'production', BETTER_AUTH_SECRET: SECRET, DATABASE_URL: 'postgres://u@db/tasks' };
    const on = loadConfig({ ...prod, VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: privateKey, VAPID_SUBJECT: 'mailto:ops@example.com' });
    expect({ vapid: on.vapid, source: on.vapidSource, warnings: on.warnings }).toEqual({
      vapid: { publicKey, privateKey, subject: 'mailto:ops@example.com' },
      source: 'env',
      warnings: [],
    });
    const off = loadConfig(prod);
    expect({ vapid: off.vapid, source: off.vapidSource }).toEqual({ vapid: undefined, source: 'none' });
    expect(off.warnings).toEqual([expect.stringMatching(/^Web Push is off: VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are not set/)]);
    expect(() => loadConfig({ ...prod, VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: privateKey })).toThrow(/^VAPID_SUBJECT is required in production/);
  });

  it('a bad value stops the start with one line naming the variable', () => {
    const { publicKey, privateKey } = pair();
    const base = { DATA_DIR: dir(), BETTER_AUTH_SECRET: SECRET };
    const refused = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env });
        return 'accepted';
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
    };
    expect(refused({ VAPID_PUBLIC_KEY: publicKey })).toMatch(/^VAPID_PRIVATE_KEY is not set but VAPID_PUBLIC_KEY is/);
    expect(refused({ VAPID_PRIVATE_KEY: privateKey })).toMatch(/^VAPID_PUBLIC_KEY is not set but VAPID_PRIVATE_KEY is/);
    expect(refused({ VAPID_PUBLIC_KEY: privateKey, VAPID_PRIVATE_KEY: privateKey })).toMatch(/^VAPID_PUBLIC_KEY must be a base64url P-256 public key/);
    expect(refused({ VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: 'short' })).toMatch(/^VAPID_PRIVATE_KEY must be a base64url P-256 private key/);
    expect(refused({ VAPID_SUBJECT: 'http://example.com' })).toMatch(/^VAPID_SUBJECT must be a mailto: address or an https: URL/);
    expect(refused({ JOBS_CONCURRENCY: '-1' })).toMatch(/^JOBS_CONCURRENCY must be a whole number from 0 to 100/);
    expect(refused({ JOBS_PROCESS: 'thread' })).toBe('JOBS_PROCESS must be one of separate, inline (got "thread")');
    expect(refused({ JOBS_NICE: '20' })).toBe('JOBS_NICE must be a whole number from 0 to 19 (got "20")');
    expect(refused({ PUSH_ALLOW_PRIVATE: 'maybe' })).toMatch(/^PUSH_ALLOW_PRIVATE must be true or false/);
    // The private key is never in a message.
    expect(refused({ VAPID_PUBLIC_KEY: 'x', VAPID_PRIVATE_KEY: privateKey })).not.toContain(privateKey);
  });
});

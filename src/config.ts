import { createECDH, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';

/**
 * Configuration, parsed and validated once at start. This is the only module that reads the
 * environment; everything else receives a frozen Config. A bad value throws ConfigError with one
 * line naming the variable.
 */
export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly host: string;
  readonly port: number;
  /** Where clients reach the API (the OpenAPI document's `servers`); default `/` (relative). */
  readonly publicUrl: string | undefined;
  readonly logLevel: string;
  /** 'pretty' (pino-pretty) in a terminal in development, 'json' otherwise; LOG_FORMAT overrides. */
  readonly logFormat: 'pretty' | 'json';
  /** PostgreSQL URL; undefined means the embedded PostgreSQL server in `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** In a cluster worker: the URL of the embedded server its primary started (internal). */
  readonly embeddedUrl: string | undefined;
  /** As root, the OS user the embedded server runs as (PostgreSQL refuses root). */
  readonly embeddedUser: string;
  /** Use server-side prepared statements (off behind a transaction pooler). */
  readonly databasePrepare: boolean;
  readonly databasePoolMax: number;
  /** Bound on connecting, and on each statement, in milliseconds. */
  readonly databaseTimeoutMs: number;
  /**
   * The time budget of a statement whose cost the caller shapes (a page of tasks, /tags, /changes):
   * over it the statement is cancelled and the request answered 503 (QUERY_BUDGET_MS).
   */
  readonly queryBudgetMs: number;
  /** Per user and process: reads in flight at once (the others wait their turn). */
  readonly readsInFlightPerUser: number;
  /**
   * Per user and process: costly reads in flight at once, those no index can narrow (a `q` shorter
   * than a trigram reads every task of the user; `/tags` counts them all), within the reads above.
   */
  readonly costlyReadsInFlightPerUser: number;
  /** At start, how long an unreachable database is retried (with backoff) before giving up. */
  readonly databaseConnectRetryMs: number;
  /** Where the embedded database and the dev secret live. */
  readonly dataDir: string;
  /** Shared HS256/384/512 secret; undefined disables shared-secret tokens. */
  readonly betterAuthSecret: string | undefined;
  /** Where the secret came from: the environment, the generated development secret, or nowhere. */
  readonly secretSource: 'env' | 'dev-secret' | 'none';
  readonly betterAuthUrl: string;
  /** Whether BETTER_AUTH_URL (or JWKS_URL) was set, or is the development default. */
  readonly betterAuthUrlSource: 'BETTER_AUTH_URL' | 'JWKS_URL' | 'default';
  readonly jwksUrl: string;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  /** Refuse JWTs without `exp` (RFC 8725); JWT_REQUIRE_EXP=false accepts them (cached at most 5 min). */
  readonly jwtRequireExp: boolean;
  /** Least time between two JWKS fetches (an unknown kid triggers one). */
  readonly jwksCooldownMs: number;
  /** Resolve opaque Better Auth session tokens through get-session. */
  readonly sessionTokens: boolean;
  readonly sessionCacheTtlMs: number;
  /** Session lookups (get-session calls) in flight at once, in all and per client address. */
  readonly sessionLookupsMax: number;
  readonly sessionLookupsPerIp: number;
  /** Better Auth's session cookie name, if not the default (`advanced.cookiePrefix` changes it). */
  readonly sessionCookie: string | undefined;
  /** Where session tokens are looked up: Better Auth's get-session, or its `session` table. */
  readonly sessionSource: 'get-session' | 'database';
  /** The database holding Better Auth's tables (database source); undefined: the API's own. */
  readonly sessionDatabaseUrl: string | undefined;
  /** Better Auth's session table (`session`, or `schema.session`). */
  readonly sessionTable: string;
  /** Its column naming (session-table.ts); undefined: found on first use. */
  readonly sessionColumns: 'snake' | 'camel' | undefined;
  readonly corsOrigins: readonly string[];
  readonly rateLimitPerMinute: number;
  readonly redisUrl: string | undefined;
  readonly bodyLimit: number;
  readonly maxTasksPerPage: number;
  /** Most tasks in the lists one user owns, whoever created them (a create or a move beyond: 403 TASK_LIMIT_REACHED). */
  readonly maxTasksPerUser: number;
  /** Most members of one list, the owner included (403 MEMBER_LIMIT_REACHED beyond). */
  readonly maxMembersPerList: number;
  /** Most lists one user may own, the Inbox included (403 LIST_LIMIT_REACHED beyond). */
  readonly maxListsPerUser: number;
  /** Most webhooks one user keeps (20, API.md). */
  readonly maxWebhooksPerUser: number;
  /** WEBHOOKS_ALLOW_PRIVATE: webhooks may target http and private addresses (tests, development). */
  readonly webhooksAllowPrivate: boolean;
  /** Most calendar feeds one user keeps (MAX_CALENDAR_FEEDS_PER_USER). */
  readonly maxCalendarFeedsPerUser: number;
  /** Bytes of serialized lists kept per process (LIST_CACHE_MB; 0: none). */
  readonly pageCacheBytes: number;
  /** A direct (not pooled) PostgreSQL URL for LISTEN: DATABASE_DIRECT_URL, or derived (Neon's -pooler host). */
  readonly databaseDirectUrl: string | undefined;
  readonly eventsMaxPerUser: number;
  /** Open event streams one instance serves at most. */
  readonly eventsMaxStreams: number;
  readonly eventsHeartbeatMs: number;
  /** The event streams' catch-up poll; undefined: 2 s with notifications, 0.5 s without. */
  readonly eventsPollMs: number | undefined;
  /** How long deletion records are kept for /changes (days; a fraction is allowed). */
  readonly syncRetentionDays: number;
  /** How often an instance purges what is no longer kept. */
  readonly syncPurgeIntervalMs: number;
  /** How long a deleted task stays in the trash (days; a fraction is allowed); purged every SYNC_PURGE_INTERVAL_MS. */
  readonly trashRetentionDays: number;
  /**
   * Deletion records kept per user at most: a deletion drops those more than this many changes old,
   * and cursors from before them expire (410), whatever SYNC_RETENTION_DAYS says.
   */
  readonly syncMaxDeletionsPerUser: number;
  /** Idempotency-Key answers kept per user at most: a new one replaces the user's oldest. */
  readonly idempotencyMaxKeysPerUser: number;
  /**
   * Which X-Forwarded-For entries to believe: false (none: the socket's address), a number of proxy
   * hops in front of us, or the addresses/CIDRs of our proxies. Never "all": the left-most entry
   * is whatever the client wrote.
   */
  readonly trustProxy: false | number | readonly string[];
  readonly workers: number;
  /** Open HTTP connections in all (per process); beyond, idle ones are closed first, then 503. */
  readonly maxConnections: number;
  /** Open HTTP connections from one peer address (trusted proxies exempt); 0 turns the bound off. */
  readonly maxConnectionsPerIp: number;
  /** How long an idle keep-alive connection stays open: above a load balancer's idle timeout (60 s). */
  readonly keepAliveTimeoutMs: number;
  /** How long a request (head and body) may take to arrive; then 408 REQUEST_TIMEOUT. The contract's 30 s (not read from the environment; tests shorten it). */
  readonly requestTimeoutMs: number;
  /** Background jobs this instance runs at once (JOBS_CONCURRENCY); 0: this instance runs none (others do). */
  readonly jobsConcurrency: number;
  /** How often an idle job runner looks for jobs that became due (JOBS_POLL_INTERVAL_MS). */
  readonly jobsPollIntervalMs: number;
  /**
   * Where the server runs its jobs (JOBS_PROCESS): 'separate', a process of its own that the server
   * starts, restarts and stops, at a lower OS priority (JOBS_NICE), so that the API's requests come
   * first on a busy machine; or 'inline', in the API's process (one process less, no priority).
   */
  readonly jobsProcess: 'separate' | 'inline';
  /** How much lower the job process's OS priority is than the server's (JOBS_NICE, nice(1)'s 0 to 19). */
  readonly jobsNice: number;
  /** Web Push's VAPID keys (RFC 8292), or undefined: push is off (production without keys). */
  readonly vapid: VapidKeys | undefined;
  /** Where they came from: the environment, the generated development pair in DATA_DIR, or nowhere. */
  readonly vapidSource: 'env' | 'dev-keys' | 'none';
  /** Push endpoints may be http and on private, loopback or link-local addresses (tests, development). */
  readonly pushAllowPrivate: boolean;
  /** Push subscriptions kept per user: a new one beyond replaces the user's oldest. */
  readonly pushMaxSubscriptionsPerUser: number;
  /** Things the operator should hear about at start (logged by the server). */
  readonly warnings: readonly string[];
}

/** VAPID (RFC 8292): the application server's P-256 key pair, base64url, and its contact. */
export interface VapidKeys {
  /** The uncompressed public point (65 bytes), what a browser's `applicationServerKey` takes. */
  readonly publicKey: string;
  /** The private scalar (32 bytes). A secret: never logged. */
  readonly privateKey: string;
  /** `mailto:` or `https:` URL a push service may contact. */
  readonly subject: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const MIN_SECRET_LENGTH = 32;
const DEV_SECRET_FILE = 'dev-secret';
const DEV_VAPID_FILE = 'vapid-keys.json';
const DEV_VAPID_SUBJECT = 'mailto:task-api@localhost';

/** Reads `.env` from `cwd` if present; real environment variables win over the file. */
export function readEnv(processEnv: Env = process.env, cwd = process.cwd()): Env {
  const file = join(cwd, '.env');
  if (!existsSync(file)) return processEnv;
  let fromFile: Env;
  try {
    fromFile = parseEnv(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`.env: cannot be read (${(err as Error).message})`);
  }
  return { ...fromFile, ...processEnv };
}

/**
 * The environment of a process this one starts (the job process): this one's, plus `extra`. Here,
 * because the environment is read in this file only.
 */
export function childEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}

function str(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return Number(raw);
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false (got "${raw}")`);
}

function httpUrl(env: Env, name: string, fallback: string): string {
  const raw = str(env, name) ?? fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL (got "${raw}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an http(s) URL (got "${raw}")`);
  }
  // Better Auth's iss/aud is its baseURL exactly, without a trailing slash.
  return raw.replace(/\/+$/, '');
}

function databaseUrl(env: Env): string | undefined {
  return postgresUrl(env, str(env, 'NEON_DATABASE_URL') !== undefined ? 'NEON_DATABASE_URL' : 'DATABASE_URL');
}

/** A transaction pooler (Neon's "-pooler" hosts, PgBouncer) cannot keep prepared statements. */
function looksPooled(url: string): boolean {
  const u = new URL(url);
  return u.hostname.includes('-pooler') || u.searchParams.get('pgbouncer') === 'true';
}

function origins(env: Env): string[] {
  const raw = str(env, 'CORS_ORIGINS') ?? 'http://localhost:3000';
  return raw
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '')
    .map((o) => {
      if (o === '*') {
        throw new ConfigError('CORS_ORIGINS cannot be "*": credentials are allowed, so list each origin');
      }
      let url: URL;
      try {
        url = new URL(o);
      } catch {
        throw new ConfigError(`CORS_ORIGINS has "${o}", which is not an origin like https://app.example.com`);
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== o.replace(/\/$/, '')) {
        throw new ConfigError(`CORS_ORIGINS has "${o}", which is not an origin like https://app.example.com`);
      }
      return url.origin;
    });
}

/**
 * The options among `names` that npm took for itself: `npm run token alice --ttl 2h`, without the
 * `--`, passes `alice 2h` to the script and sets npm_config_ttl instead.
 */
export function optionsTakenByNpm(names: readonly string[], env: Env = process.env): string[] {
  if (env.npm_lifecycle_event === undefined) return [];
  return names.filter((n) => env[`npm_config_${n}`] !== undefined);
}

/** Loads the dev secret from `dataDir`, creating it (0600) on first use. */
export function devSecret(dataDir: string): string {
  const file = join(dataDir, DEV_SECRET_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process (the server, `npm run token`) created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw err;
  }
  chmodSync(file, 0o600);
  return secret;
}

/** A new VAPID key pair (P-256), base64url. */
export function generateVapidKeys(): { publicKey: string; privateKey: string } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const key = ecdh.getPrivateKey();
  // A scalar with leading zero bytes comes back shorter: VAPID wants exactly 32 bytes.
  const privateKey = Buffer.concat([Buffer.alloc(32 - key.length), key]);
  return { publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: privateKey.toString('base64url') };
}

/** Loads the development VAPID pair from `dataDir`, creating it (0600) on first use, like devSecret. */
export function devVapidKeys(dataDir: string): { publicKey: string; privateKey: string } {
  const file = join(dataDir, DEV_VAPID_FILE);
  const read = () => JSON.parse(readFileSync(file, 'utf8')) as { publicKey: string; privateKey: string };
  if (existsSync(file)) return read();
  mkdirSync(dataDir, { recursive: true });
  const keys = generateVapidKeys();
  try {
    writeFileSync(file, `${JSON.stringify(keys)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return read();
    throw err;
  }
  chmodSync(file, 0o600);
  return keys;
}

/** base64url of exactly `bytes` bytes (and, for a public key, an uncompressed point: 0x04 first). */
function vapidKey(name: string, raw: string, bytes: number): string {
  const decoded = /^[A-Za-z0-9_-]+={0,2}$/.test(raw) ? Buffer.from(raw, 'base64url') : Buffer.alloc(0);
  if (decoded.length !== bytes || (bytes === 65 && decoded[0] !== 4)) {
    throw new ConfigError(
      `${name} must be a base64url ${bytes === 65 ? 'P-256 public key (65 bytes, uncompressed)' : 'P-256 private key (32 bytes)'}, as npx web-push generate-vapid-keys prints`,
    );
  }
  return decoded.toString('base64url');
}

function vapidSubject(env: Env): string | undefined {
  const raw = str(env, 'VAPID_SUBJECT');
  if (raw === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'mailto:' && url.protocol !== 'https:')) {
    throw new ConfigError(`VAPID_SUBJECT must be a mailto: address or an https: URL where push services can reach you (got "${raw}")`);
  }
  return raw;
}

/**
 * Web Push's keys: VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY together (one without the other stops the
 * start); without them, a pair generated once and kept in DATA_DIR outside production, and in
 * production push is off with a warning (a deployment that never used push still starts).
 */
function vapid(env: Env, production: boolean, dataDir: string, warnings: string[]): { vapid: VapidKeys | undefined; source: Config['vapidSource'] } {
  const pub = str(env, 'VAPID_PUBLIC_KEY');
  const priv = str(env, 'VAPID_PRIVATE_KEY');
  const subject = vapidSubject(env);
  if ((pub === undefined) !== (priv === undefined)) {
    throw new ConfigError(`${pub === undefined ? 'VAPID_PUBLIC_KEY' : 'VAPID_PRIVATE_KEY'} is not set but ${pub === undefined ? 'VAPID_PRIVATE_KEY' : 'VAPID_PUBLIC_KEY'} is: set both (npx web-push generate-vapid-keys)`);
  }
  if (pub !== undefined && priv !== undefined) {
    if (production && subject === undefined) {
      throw new ConfigError('VAPID_SUBJECT is required in production with VAPID keys: a mailto: address or https: URL where push services can reach you');
    }
    return { vapid: { publicKey: vapidKey('VAPID_PUBLIC_KEY', pub, 65), privateKey: vapidKey('VAPID_PRIVATE_KEY', priv, 32), subject: subject ?? DEV_VAPID_SUBJECT }, source: 'env' };
  }
  if (production) {
    warnings.push(
      'Web Push is off: VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are not set (GET /push/public-key and push subscriptions answer 503); ' +
        'generate a pair with npx web-push generate-vapid-keys and set them with VAPID_SUBJECT',
    );
    return { vapid: undefined, source: 'none' };
  }
  const keys = devVapidKeys(dataDir);
  return { vapid: { ...keys, subject: subject ?? DEV_VAPID_SUBJECT }, source: 'dev-keys' };
}

/**
 * The token modes this configuration serves, one line each, with why: logged at start, so that a
 * deployment that cannot verify the frontend's tokens says so before the first 401.
 */
export function tokenModes(config: Config): { mode: 'shared-secret' | 'jwks' | 'session'; on: boolean; line: string }[] {
  const urlWhy =
    config.betterAuthUrlSource === 'default'
      ? `BETTER_AUTH_URL is not set: the development default ${config.betterAuthUrl}`
      : `${config.betterAuthUrlSource} is set`;
  const secret =
    config.secretSource === 'env'
      ? 'on (BETTER_AUTH_SECRET is set)'
      : config.secretSource === 'dev-secret'
        ? `on with a generated development secret (BETTER_AUTH_SECRET is not set; ${join(config.dataDir, DEV_SECRET_FILE)}, known to npm run token only)`
        : "off (BETTER_AUTH_SECRET is not set): a frontend's HS256 tokens get 401 INVALID_TOKEN";
  return [
    { mode: 'shared-secret', on: config.secretSource !== 'none', line: `tokens: HS256/384/512 with the shared secret: ${secret}` },
    {
      mode: 'jwks',
      on: true,
      line: `tokens: Better Auth JWT plugin (EdDSA, ES256, RS256, PS256): on, keys from ${config.jwksUrl}, iss ${config.jwtIssuer}, aud ${config.jwtAudience} (${urlWhy})`,
    },
    {
      mode: 'session',
      on: config.sessionTokens,
      line: config.sessionTokens
        ? `tokens: Better Auth session tokens: on, looked up at ${config.betterAuthUrl}/api/auth/get-session (AUTH_SESSION_TOKENS=false turns them off)`
        : 'tokens: Better Auth session tokens: off (AUTH_SESSION_TOKENS=false)',
    },
  ];
}

function logFormat(env: Env, nodeEnv: string, tty: boolean): 'pretty' | 'json' {
  const raw = str(env, 'LOG_FORMAT')?.toLowerCase() ?? 'auto';
  if (raw === 'pretty' || raw === 'json') return raw;
  if (raw !== 'auto') throw new ConfigError(`LOG_FORMAT must be auto, pretty or json (got "${raw}")`);
  return nodeEnv === 'development' && tty ? 'pretty' : 'json';
}

/**
 * `env` is the environment (with `.env`); `tty` says whether standard output is a terminal (pretty
 * logs in development).
 */
export function loadConfig(env: Env = readEnv(), tty = process.stdout.isTTY === true): Config {
  const nodeEnv = str(env, 'NODE_ENV') ?? 'development';
  if (!['development', 'production', 'test'].includes(nodeEnv)) {
    throw new ConfigError(`NODE_ENV must be development, production or test (got "${nodeEnv}")`);
  }
  const production = nodeEnv === 'production';
  const warnings: string[] = [];

  const dataDir = resolve(str(env, 'DATA_DIR') ?? './.data');
  const dbUrl = databaseUrl(env);
  const betterAuthUrl = httpUrl(env, 'BETTER_AUTH_URL', 'http://localhost:3000');
  const betterAuthUrlSource: Config['betterAuthUrlSource'] =
    str(env, 'BETTER_AUTH_URL') !== undefined ? 'BETTER_AUTH_URL' : str(env, 'JWKS_URL') !== undefined ? 'JWKS_URL' : 'default';
  const jwksExplicit = betterAuthUrlSource !== 'default';

  let secret = str(env, 'BETTER_AUTH_SECRET');
  let secretSource: Config['secretSource'] = secret === undefined ? 'none' : 'env';
  if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) {
    if (production) {
      throw new ConfigError(`BETTER_AUTH_SECRET must be at least ${MIN_SECRET_LENGTH} characters in production`);
    }
    warnings.push(`BETTER_AUTH_SECRET is shorter than ${MIN_SECRET_LENGTH} characters; production would refuse it`);
  }
  if (secret === undefined) {
    if (production) {
      if (!jwksExplicit) {
        throw new ConfigError(
          'BETTER_AUTH_SECRET is required in production: without it, and without BETTER_AUTH_URL or JWKS_URL, no token a frontend has can be verified ' +
            "(set BETTER_AUTH_SECRET to the frontend's, or BETTER_AUTH_URL to its Better Auth baseURL for JWT-plugin and session tokens)",
        );
      }
    } else {
      secret = devSecret(dataDir);
      secretSource = 'dev-secret';
      warnings.push(
        `BETTER_AUTH_SECRET is not set: using a generated development secret kept in ${join(dataDir, DEV_SECRET_FILE)}. ` +
          'Set BETTER_AUTH_SECRET to the value your Better Auth frontend uses; never run production like this.',
      );
    }
  }

  if (production && betterAuthUrlSource === 'JWKS_URL' && (str(env, 'JWT_ISSUER') === undefined || str(env, 'JWT_AUDIENCE') === undefined)) {
    const why =
      'JWKS_URL is set but BETTER_AUTH_URL is not, so JWTs are checked for iss and aud http://localhost:3000, the development default: ' +
      "set BETTER_AUTH_URL to Better Auth's baseURL (or JWT_ISSUER and JWT_AUDIENCE)";
    // Without a secret, that would leave no token of the frontend that can verify.
    if (secret === undefined) throw new ConfigError(`${why}; without BETTER_AUTH_SECRET no token a frontend has can be verified`);
    warnings.push(why);
  }
  if (production && dbUrl === undefined) {
    warnings.push(
      `NODE_ENV=production on the EMBEDDED database in ${dataDir}: no DATABASE_URL is set, so every task lives in ` +
        'this folder on this machine only (no replica, no backup, one instance); for production set DATABASE_URL ' +
        'or NEON_DATABASE_URL (Neon: docs/DEPLOYMENT.md)',
    );
  }
  const prepareDefault = dbUrl === undefined ? true : !looksPooled(dbUrl);
  const push = vapid(env, production, dataDir, warnings);

  const config: Config = {
    env: nodeEnv as Config['env'],
    host: str(env, 'HOST') ?? '127.0.0.1',
    port: int(env, 'PORT', 8000, 0, 65535),
    publicUrl: str(env, 'PUBLIC_URL') === undefined ? undefined : httpUrl(env, 'PUBLIC_URL', ''),
    logLevel: logLevel(env),
    logFormat: logFormat(env, nodeEnv, tty),
    databaseUrl: dbUrl,
    embeddedUrl: dbUrl === undefined ? str(env, 'TASK_API_EMBEDDED_URL') : undefined,
    embeddedUser: str(env, 'EMBEDDED_POSTGRES_USER') ?? 'postgres',
    databasePrepare: bool(env, 'DATABASE_PREPARE', prepareDefault),
    databasePoolMax: int(env, 'DATABASE_POOL_MAX', 10, 1, 1000),
    databaseTimeoutMs: int(env, 'DATABASE_TIMEOUT_MS', 5000, 100, 600_000),
    queryBudgetMs: int(env, 'QUERY_BUDGET_MS', 2000, 50, 600_000),
    readsInFlightPerUser: int(env, 'READS_IN_FLIGHT_PER_USER', 8, 1, 1000),
    costlyReadsInFlightPerUser: int(env, 'COSTLY_READS_IN_FLIGHT_PER_USER', 1, 1, 1000),
    databaseConnectRetryMs: int(env, 'DATABASE_CONNECT_RETRY_MS', 30_000, 0, 3_600_000),
    dataDir,
    betterAuthSecret: secret,
    secretSource,
    betterAuthUrl,
    betterAuthUrlSource,
    jwksUrl: httpUrl(env, 'JWKS_URL', `${betterAuthUrl}/api/auth/jwks`),
    jwtIssuer: str(env, 'JWT_ISSUER') ?? betterAuthUrl,
    jwtAudience: str(env, 'JWT_AUDIENCE') ?? betterAuthUrl,
    jwtRequireExp: bool(env, 'JWT_REQUIRE_EXP', true),
    jwksCooldownMs: int(env, 'JWKS_REFETCH_COOLDOWN_MS', 2000, 0, 3_600_000),
    sessionTokens: bool(env, 'AUTH_SESSION_TOKENS', true),
    sessionCacheTtlMs: int(env, 'AUTH_SESSION_CACHE_MS', 10_000, 0, 3_600_000),
    sessionLookupsMax: int(env, 'AUTH_SESSION_LOOKUPS_MAX', 32, 1, 10_000),
    sessionLookupsPerIp: int(env, 'AUTH_SESSION_LOOKUPS_PER_IP', 4, 1, 10_000),
    sessionCookie: cookieName(env),
    sessionSource: oneOf(env, 'AUTH_SESSION_SOURCE', ['get-session', 'database'] as const, 'get-session'),
    sessionDatabaseUrl: postgresUrl(env, 'AUTH_SESSION_DATABASE_URL'),
    sessionTable: sessionTable(env),
    sessionColumns: ((c) => (c === 'auto' ? undefined : c))(oneOf(env, 'AUTH_SESSION_COLUMNS', ['auto', 'snake', 'camel'] as const, 'auto')),
    corsOrigins: origins(env),
    rateLimitPerMinute: int(env, 'RATE_LIMIT_PER_MINUTE', 1000, 0, 10_000_000),
    redisUrl: redisUrl(env),
    bodyLimit: int(env, 'BODY_LIMIT', 64 * 1024, 1024, 10 * 1024 * 1024),
    maxTasksPerPage: int(env, 'MAX_TASKS_PER_LIST', 1000, 1, 100_000),
    maxTasksPerUser: int(env, 'MAX_TASKS_PER_USER', 100_000, 1, 100_000_000),
    maxListsPerUser: int(env, 'MAX_LISTS_PER_USER', 1000, 1, 1_000_000),
    maxMembersPerList: int(env, 'MAX_MEMBERS_PER_LIST', 100, 2, 10_000),
    maxWebhooksPerUser: int(env, 'MAX_WEBHOOKS_PER_USER', 20, 1, 1000),
    webhooksAllowPrivate: bool(env, 'WEBHOOKS_ALLOW_PRIVATE', false),
    maxCalendarFeedsPerUser: int(env, 'MAX_CALENDAR_FEEDS_PER_USER', 100, 1, 10_000),
    pageCacheBytes: int(env, 'LIST_CACHE_MB', 32, 0, 16_384) * 1024 * 1024,
    databaseDirectUrl: directUrl(env, dbUrl),
    eventsMaxPerUser: int(env, 'EVENTS_MAX_PER_USER', 10, 1, 10_000),
    eventsMaxStreams: int(env, 'EVENTS_MAX_STREAMS', 10_000, 1, 1_000_000),
    eventsHeartbeatMs: int(env, 'EVENTS_HEARTBEAT_MS', 15_000, 100, 3_600_000),
    eventsPollMs: str(env, 'EVENTS_POLL_MS') === undefined ? undefined : int(env, 'EVENTS_POLL_MS', 2000, 50, 3_600_000),
    syncRetentionDays: days(env, 'SYNC_RETENTION_DAYS', 30),
    syncPurgeIntervalMs: int(env, 'SYNC_PURGE_INTERVAL_MS', 3_600_000, 50, 86_400_000),
    trashRetentionDays: days(env, 'TRASH_RETENTION_DAYS', 30),
    syncMaxDeletionsPerUser: int(env, 'SYNC_MAX_DELETIONS_PER_USER', 100_000, 1, 100_000_000),
    idempotencyMaxKeysPerUser: int(env, 'IDEMPOTENCY_MAX_KEYS_PER_USER', 10_000, 1, 10_000_000),
    trustProxy: trustProxy(env),
    workers: int(env, 'WORKERS', 1, 1, 64),
    maxConnections: int(env, 'MAX_CONNECTIONS', defaultMaxConnections(), 1, 1_000_000),
    maxConnectionsPerIp: int(env, 'MAX_CONNECTIONS_PER_IP', 256, 0, 1_000_000),
    keepAliveTimeoutMs: int(env, 'KEEP_ALIVE_TIMEOUT_MS', 65_000, 1000, 3_600_000),
    requestTimeoutMs: 30_000,
    jobsConcurrency: int(env, 'JOBS_CONCURRENCY', 4, 0, 100),
    jobsPollIntervalMs: int(env, 'JOBS_POLL_INTERVAL_MS', 2000, 100, 60_000),
    jobsProcess: oneOf(env, 'JOBS_PROCESS', ['separate', 'inline'] as const, 'separate'),
    jobsNice: int(env, 'JOBS_NICE', 10, 0, 19),
    vapid: push.vapid,
    vapidSource: push.source,
    pushAllowPrivate: bool(env, 'PUSH_ALLOW_PRIVATE', false),
    pushMaxSubscriptionsPerUser: int(env, 'PUSH_MAX_SUBSCRIPTIONS_PER_USER', 50, 1, 10_000),
    warnings,
  };
  return Object.freeze(config);
}

/** A number of days, fractions allowed (tests shorten retention to seconds). */
function days(env: Env, name: string, fallback: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) <= 0 || Number(raw) > 3650) {
    throw new ConfigError(`${name} must be a number of days above 0, at most 3650 (got "${raw}")`);
  }
  return Number(raw);
}

/**
 * Where LISTEN goes: a transaction pooler cannot carry it. DATABASE_DIRECT_URL if set; else, for a
 * Neon pooled URL, the same URL on the host without "-pooler"; else the URL itself unless it looks
 * pooled (then the event streams poll).
 */
function directUrl(env: Env, dbUrl: string | undefined): string | undefined {
  const raw = postgresUrl(env, 'DATABASE_DIRECT_URL');
  if (raw !== undefined) return raw;
  if (dbUrl === undefined) return undefined;
  const u = new URL(dbUrl);
  if (u.hostname.includes('-pooler.')) {
    u.hostname = u.hostname.replace('-pooler.', '.');
    u.searchParams.delete('pgbouncer');
    return u.toString();
  }
  return looksPooled(dbUrl) || str(env, 'DATABASE_PREPARE')?.toLowerCase() === 'false' ? undefined : dbUrl;
}

/** The process's open-file limit (soft), or undefined where it cannot be read (not Linux). */
export function openFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    if (Number.isFinite(soft) && soft > 0) return soft;
  } catch {
    // not Linux
  }
  return undefined;
}

/**
 * MAX_CONNECTIONS by default: what the process's open-file limit leaves after 128 descriptors for
 * the database pool, the embedded server, Redis, logs and files, between 100 and 10,000 (1,024
 * descriptors, a common default: 896 connections). Where the limit cannot be read: 1,000.
 */
function defaultMaxConnections(): number {
  const limit = openFileLimit();
  return limit === undefined ? 1000 : Math.max(100, Math.min(10_000, limit - 128));
}

/** proxy-addr's names for address ranges, accepted in a TRUST_PROXY list. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrCidr(entry: string): boolean {
  if (PROXY_RANGES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY: `false`/`0` (default), `true` (one hop: a load balancer in front), a hop count, or a
 * comma-separated list of proxy addresses and CIDRs (`10.0.0.0/8, 192.168.1.7`, `loopback`). The
 * client's address is then the right-most X-Forwarded-For entry not added by a trusted proxy; what
 * a client writes into the left part of the header is never believed.
 */
function trustProxy(env: Env): Config['trustProxy'] {
  const raw = str(env, 'TRUST_PROXY');
  if (raw === undefined) return false;
  const lower = raw.toLowerCase();
  if (['false', 'no', 'off', '0'].includes(lower)) return false;
  if (['true', 'yes', 'on'].includes(lower)) return 1;
  if (/^\d+$/.test(raw)) {
    if (Number(raw) > 20) throw new ConfigError(`TRUST_PROXY must be a hop count from 0 to 20 (got "${raw}")`);
    return Number(raw);
  }
  const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
  const bad = entries.find((e) => !isAddressOrCidr(e));
  if (bad !== undefined || entries.length === 0) {
    throw new ConfigError(
      `TRUST_PROXY must be true, false, a hop count, or a comma-separated list of proxy addresses/CIDRs (got "${bad ?? raw}")`,
    );
  }
  return Object.freeze(entries);
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${values.join(', ')} (got "${raw}")`);
  return raw as T;
}

function postgresUrl(env: Env, name: string): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a postgres:// or postgresql:// URL`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`${name} must be a postgres:// or postgresql:// URL (got scheme "${url.protocol}")`);
  }
  return raw;
}

/** AUTH_SESSION_TABLE: `session` (default), or `schema.session`; plain identifiers only. */
function sessionTable(env: Env): string {
  const raw = str(env, 'AUTH_SESSION_TABLE') ?? 'session';
  if (!/^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/.test(raw)) {
    throw new ConfigError(`AUTH_SESSION_TABLE must be a table name such as session or auth.session (got "${raw}")`);
  }
  return raw;
}

/** AUTH_SESSION_COOKIE: a cookie name (RFC 6265 token characters). */
function cookieName(env: Env): string | undefined {
  const raw = str(env, 'AUTH_SESSION_COOKIE');
  if (raw === undefined) return undefined;
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(raw)) throw new ConfigError(`AUTH_SESSION_COOKIE must be a cookie name (got "${raw}")`);
  return raw;
}

function logLevel(env: Env): string {
  const level = str(env, 'LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) {
    throw new ConfigError(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "${level}")`);
  }
  return level;
}

function redisUrl(env: Env): string | undefined {
  const raw = str(env, 'REDIS_URL');
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('REDIS_URL must be a redis:// or rediss:// URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError('REDIS_URL must be a redis:// or rediss:// URL');
  }
  return raw;
}

/**
 * A config for tests and tools: defaults, a fixed secret, then overrides (tests pass their own
 * `databaseUrl`). As in loadConfig, the JWKS URL, issuer and audience follow `betterAuthUrl`
 * unless given themselves.
 */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({
    ...loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: join(tmpdir(), `task-api-test-${process.pid}`),
      // Nothing listens on port 9 (discard): tests that want an auth server start their own.
      BETTER_AUTH_URL: overrides.betterAuthUrl ?? 'http://127.0.0.1:9',
      BETTER_AUTH_SECRET: 'test-secret-test-secret-test-secret-0123',
      LOG_LEVEL: 'silent',
      // One job at a time per test app: dozens of apps share the test servers' connections.
      JOBS_CONCURRENCY: '1',
      // In the app's process: tests give buildApp job handlers of their own (the server's process tests start the separate one).
      JOBS_PROCESS: 'inline',
    }, false),
    ...overrides,
  });
}

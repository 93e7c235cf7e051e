/**
 * A local Web Push service, as a browser's push service would be (RFC 8030), on 127.0.0.1: it takes
 * the POST of a message, checks its VAPID Authorization (RFC 8292: `vapid t=<JWT>, k=<key>`, an
 * ES256 JWT for this origin, signed with that key) and decrypts its aes128gcm body (RFC 8291) with
 * the subscription's private key, as the browser would. And a browser's subscription: an ECDH P-256
 * key pair and a 16-byte auth secret, made here as a browser makes them.
 */
import { createECDH, randomBytes, type ECDH } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import ece from 'http_ece';
import { importJWK, jwtVerify } from 'jose';

export interface BrowserSubscription {
  /** `PushSubscription.toJSON()`. */
  json: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
  ecdh: ECDH;
  auth: Buffer;
}

export interface Received {
  /** The path of the endpoint that received it (which subscription). */
  path: string;
  /** The decrypted payload, or undefined when it could not be decrypted. */
  text: string | undefined;
  /** The VAPID public key the JWT was verified with (k=), or undefined when the header was not valid. */
  vapidKey: string | undefined;
  /** The JWT's claims, when verified. */
  claims: Record<string, unknown> | undefined;
  headers: IncomingMessage['headers'];
  /** What the service answered. */
  status: number;
}

export interface PushService {
  url: string;
  received: Received[];
  /** A browser subscribes: a new endpoint on this service and new keys. */
  subscribe(name?: string): BrowserSubscription;
  /** The next answers for `path` (default 201 each). */
  answer(path: string, ...statuses: number[]): void;
  /** Waits until `n` messages arrived (or the time runs out), then returns them all. */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Verifies `vapid t=..., k=...` for `audience`: the key and the claims, or undefined. */
async function verifyVapid(header: string | undefined, audience: string): Promise<{ key: string; claims: Record<string, unknown> } | undefined> {
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  if (!m) return undefined;
  const [, token = '', k = ''] = m;
  const raw = Buffer.from(k, 'base64url');
  if (raw.length !== 65 || raw[0] !== 4) return undefined;
  const key = await importJWK({ kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, 'ES256');
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ['ES256'], audience });
    return { key: k, claims: payload as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

export async function startPushService(): Promise<PushService> {
  const received: Received[] = [];
  const plans = new Map<string, number[]>();
  const browsers = new Map<string, BrowserSubscription>();
  const waiters: (() => void)[] = [];
  let origin = '';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', origin).pathname;
      const data = await body(req);
      const vapid = await verifyVapid(req.headers.authorization, origin);
      const browser = browsers.get(path);
      let text: string | undefined;
      try {
        if (browser && req.headers['content-encoding'] === 'aes128gcm') {
          text = ece.decrypt(data, { version: 'aes128gcm', privateKey: browser.ecdh, authSecret: browser.auth.toString('base64url') }).toString('utf8');
        }
      } catch {
        text = undefined;
      }
      const status = plans.get(path)?.shift() ?? (browser ? 201 : 404);
      received.push({ path, text, vapidKey: vapid?.key, claims: vapid?.claims, headers: req.headers, status });
      res.writeHead(status).end();
      for (const w of waiters.splice(0)) w();
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  origin = `http://127.0.0.1:${address.port}`;
  return {
    url: origin,
    received,
    subscribe(name = randomBytes(8).toString('hex')) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      const path = `/push/${name}`;
      const sub: BrowserSubscription = {
        json: { endpoint: `${origin}${path}`, expirationTime: null, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } },
        ecdh,
        auth,
      };
      browsers.set(path, sub);
      return sub;
    },
    answer(path, ...statuses) {
      plans.set(path, [...(plans.get(path) ?? []), ...statuses]);
    },
    async waitFor(n, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      while (received.length < n && Date.now() < until) {
        await new Promise<void>((r) => {
          const timer = setTimeout(r, Math.max(0, until - Date.now()));
          waiters.push(() => {
            clearTimeout(timer);
            r();
          });
        });
      }
      return received;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

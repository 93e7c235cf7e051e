/**
 * The API against a real Better Auth server (test/support/better-auth-server.ts), over real HTTP:
 * the three ways a Better Auth frontend can call us (JWT plugin tokens verified by JWKS, HS256
 * tokens signed with the shared secret, bearer session tokens checked with get-session), user
 * isolation, sign-out, key rotation, every signing algorithm, wrong issuer, and an auth server
 * that is down or hung.
 *
 * Its paths come from the test client's routes; its calls keep their own `call`, whose answer
 * ({status, body, headers}) the assertions compare whole, with a timeout on every call for the
 * tests of an auth server that hangs.
 */
import { generateKeyPair, SignJWT, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { routes } from '../helpers/api.js';
import { startApi } from '../helpers/app.js';
import { startBetterAuth, type BetterAuthAlg, type BetterAuthServer, type BetterAuthSession } from '../support/better-auth-server.js';
import { NEW_TASK_DEFAULTS, type TaskJson as Task } from '../helpers/task-json.js';

type RunningApi = Awaited<ReturnType<typeof startApi>>;
type Answer = { status: number; body: unknown; headers: Headers };

const PASSWORD = 'a long enough password';
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/** How the API is started for Better Auth `ba`: its URL is BETTER_AUTH_URL, nothing else is set. */
function startApiFor(ba: BetterAuthServer, overrides: Parameters<typeof startApi>[0] = {}): Promise<RunningApi> {
  return startApi({
    betterAuthUrl: ba.baseURL,
    corsOrigins: ['http://localhost:3000'],
    // Sign-out must show at once (the API may otherwise cache a session for a few seconds).
    sessionCacheTtlMs: 0,
    ...overrides,
  });
}

async function call(api: RunningApi, token: string | undefined, method: string, path: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown), headers: res.headers };
}

const tasksPath = routes.tasks;

function error(code: string): { error: unknown; code: string; detail: unknown } {
  return { error: expect.any(String), code, detail: expect.any(String) };
}

/** A 401 INVALID_TOKEN with the Bearer challenge, exactly. */
function expectInvalidToken(answer: Answer): void {
  expect({ status: answer.status, body: answer.body }).toEqual({ status: 401, body: error('INVALID_TOKEN') });
  expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
}


/** The full create/read/update/toggle/delete cycle for one user with one token; exact answers. */
async function expectCrudWorks(api: RunningApi, token: string, userId: string, title: string): Promise<void> {
  const base = tasksPath(userId);
  const created = await call(api, token, 'POST', base, { title, description: 'from Better Auth' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body).toEqual({
    data: {
      id: expect.any(Number),
      user_id: userId,
      title,
      description: 'from Better Auth',
      completed: false,
      ...NEW_TASK_DEFAULTS,
      created_at: expect.stringMatching(ISO_UTC),
      updated_at: expect.stringMatching(ISO_UTC),
    },
    message: 'Task created successfully',
  });
  const task = (created.body as { data: Task }).data;

  expect(await call(api, token, 'GET', routes.task(userId, task.id))).toMatchObject({
    status: 200,
    body: { data: task, message: 'Task retrieved successfully' },
  });
  const list = await call(api, token, 'GET', base);
  expect(list.status).toBe(200);
  expect((list.body as { data: Task[] }).data).toContainEqual(task);
  expect((list.body as { message: string }).message).toBe('Tasks retrieved successfully');

  const updated = await call(api, token, 'PUT', routes.task(userId, task.id), { title: `${title} (edited)`, description: null });
  expect({ status: updated.status, body: updated.body }).toEqual({
    status: 200,
    body: {
      data: { ...task, title: `${title} (edited)`, description: null, version: 2, updated_at: expect.stringMatching(ISO_UTC) },
      message: 'Task updated successfully',
    },
  });

  const toggled = await call(api, token, 'PATCH', routes.complete(userId, task.id));
  expect({ status: toggled.status, body: toggled.body }).toEqual({
    status: 200,
    body: {
      data: {
        ...task,
        title: `${title} (edited)`,
        description: null,
        completed: true,
        completed_at: expect.stringMatching(ISO_UTC),
        version: 3,
        updated_at: expect.stringMatching(ISO_UTC),
      },
      message: 'Task marked as completed',
    },
  });
  const done = (toggled.body as { data: Task }).data;

  expect(await call(api, token, 'DELETE', routes.task(userId, task.id))).toMatchObject({
    status: 200,
    body: { data: done, message: 'Task deleted successfully' },
  });
  expect(await call(api, token, 'GET', routes.task(userId, task.id))).toMatchObject({ status: 404, body: error('NOT_FOUND') });
}

async function createTask(api: RunningApi, token: string, userId: string, title: string): Promise<Task> {
  const created = await call(api, token, 'POST', tasksPath(userId), { title });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return (created.body as { data: Task }).data;
}

describe('API with a real Better Auth server (EdDSA JWTs and bearer session tokens)', () => {
  let ba: BetterAuthServer;
  let api: RunningApi;
  let alice: BetterAuthSession;
  let bob: BetterAuthSession;
  let aliceJwt: string;
  let bobJwt: string;

  beforeAll(async () => {
    ba = await startBetterAuth();
    api = await startApiFor(ba);
    alice = await ba.signUp('alice@example.com', PASSWORD, 'Alice');
    bob = await ba.signUp('bob@example.com', PASSWORD, 'Bob');
    aliceJwt = await ba.getJwt(alice.sessionToken);
    bobJwt = await ba.getJwt(bob.sessionToken);
  }, 30_000);

  afterAll(async () => {
    await api?.close();
    await ba?.close();
  });

  it("accepts each user's JWT from /api/auth/token for CRUD on their own tasks", async () => {
    await expectCrudWorks(api, aliceJwt, alice.userId, 'Alice with a JWT');
    await expectCrudWorks(api, bobJwt, bob.userId, 'Bob with a JWT');
  });

  it("answers 403 FORBIDDEN for A's token on B's path, and A never sees or touches B's tasks", async () => {
    const bobsTask = await createTask(api, bobJwt, bob.userId, "Bob's secret");
    for (const token of [aliceJwt, alice.sessionToken]) {
      for (const [method, path, body] of [
        ['GET', tasksPath(bob.userId)],
        ['POST', tasksPath(bob.userId), { title: 'planted' }],
        ['GET', routes.task(bob.userId, bobsTask.id)],
        ['PUT', routes.task(bob.userId, bobsTask.id), { title: 'stolen' }],
        ['PATCH', routes.complete(bob.userId, bobsTask.id)],
        ['DELETE', routes.task(bob.userId, bobsTask.id)],
      ] as Array<[string, string, unknown?]>) {
        const answer = await call(api, token, method, path, body);
        expect({ method, path, status: answer.status, body: answer.body }).toEqual({ method, path, status: 403, body: error('FORBIDDEN') });
      }
      // Under her own path, Bob's task id does not exist for Alice.
      for (const [method, body] of [['GET'], ['PUT', { title: 'stolen' }], ['PATCH'], ['DELETE']] as Array<[string, unknown?]>) {
        const answer = await call(api, token, method, method === 'PATCH' ? routes.complete(alice.userId, bobsTask.id) : routes.task(alice.userId, bobsTask.id), body);
        expect({ method, status: answer.status, body: answer.body }).toEqual({ method, status: 404, body: error('NOT_FOUND') });
      }
      const list = await call(api, token, 'GET', tasksPath(alice.userId));
      expect(list.status).toBe(200);
      expect((list.body as { data: Task[] }).data.map((t) => t.id)).not.toContain(bobsTask.id);
      expect((list.body as { data: Task[] }).data.every((t) => t.user_id === alice.userId)).toBe(true);
    }
    // Bob's task is untouched.
    expect(await call(api, bobJwt, 'GET', routes.task(bob.userId, bobsTask.id))).toMatchObject({
      status: 200,
      body: { data: bobsTask },
    });
  });

  it('accepts a bearer session token, both the set-auth-token value and its bare 32-character part', async () => {
    expect(alice.sessionToken).toMatch(/^[A-Za-z0-9]{32}\.[A-Za-z0-9+/]{43}=$/);
    await expectCrudWorks(api, alice.sessionToken, alice.userId, 'Alice with a signed session token');
    expect(alice.bareToken).toMatch(/^[A-Za-z0-9]{32}$/);
    await expectCrudWorks(api, alice.bareToken, alice.userId, 'Alice with a bare session token');
  });

  it('answers 401 INVALID_TOKEN for session tokens Better Auth does not know or did not sign', async () => {
    const [bare] = alice.sessionToken.split('.');
    for (const token of [
      'A'.repeat(32), // well-formed, no such session
      `${bare}.${Buffer.alloc(32, 1).toString('base64')}`, // a real session with a forged signature
      `${'B'.repeat(32)}.${Buffer.alloc(32, 2).toString('base64')}`,
      'not-a-token',
    ]) {
      expectInvalidToken(await call(api, token, 'GET', tasksPath(alice.userId)));
    }
  });

  it('answers 401 INVALID_TOKEN for a signed-out session token; a JWT obtained before stays valid until it expires', async () => {
    const carol = await ba.signUp('carol@example.com', PASSWORD, 'Carol');
    const carolJwt = await ba.getJwt(carol.sessionToken);
    expect((await call(api, carol.sessionToken, 'GET', tasksPath(carol.userId))).status).toBe(200);
    expect((await call(api, carol.bareToken, 'GET', tasksPath(carol.userId))).status).toBe(200);

    await ba.signOut(carol.sessionToken);
    expect((await ba.getSession(carol.sessionToken)).body).toBeNull();

    expectInvalidToken(await call(api, carol.sessionToken, 'GET', tasksPath(carol.userId)));
    expectInvalidToken(await call(api, carol.bareToken, 'POST', tasksPath(carol.userId), { title: 'after sign-out' }));
    // A JWT is stateless: Better Auth's sign-out cannot revoke it (15 minutes by default).
    expect((await call(api, carolJwt, 'GET', tasksPath(carol.userId))).status).toBe(200);

    // Signing in again gives a new session token that works.
    const again = await ba.signIn('carol@example.com', PASSWORD);
    expect((await call(api, again.sessionToken, 'GET', tasksPath(carol.userId))).status).toBe(200);
  });

  it('accepts a JWT signed with a new key after rotation without a restart, and still the old key', async () => {
    // A third user's JWT signed with the old key, never shown to the API before the rotation.
    const dave = await ba.signUp('dave@example.com', PASSWORD, 'Dave');
    const daveOldJwt = await ba.getJwt(dave.sessionToken);
    const oldKid = decodeProtectedHeader(aliceJwt).kid;
    expect(decodeProtectedHeader(daveOldJwt).kid).toBe(oldKid);
    expect((await call(api, aliceJwt, 'GET', tasksPath(alice.userId))).status).toBe(200); // the API has the old key

    const { kid: newKid, retired } = await ba.rotateKeys();
    expect(retired).toEqual([oldKid]);
    const aliceNewJwt = await ba.getJwt(alice.sessionToken);
    expect(decodeProtectedHeader(aliceNewJwt).kid).toBe(newKid);

    // The API sees an unknown kid and refetches the JWKS. It may rate-limit refetches (a cooldown of
    // a few seconds is fine), so allow up to 5 s, then the answer must be a 200.
    const started = Date.now();
    let answer = await call(api, aliceNewJwt, 'GET', tasksPath(alice.userId));
    while (answer.status === 401 && Date.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      answer = await call(api, aliceNewJwt, 'GET', tasksPath(alice.userId));
    }
    expect({ status: answer.status, body: answer.body }).toMatchObject({ status: 200, body: { message: 'Tasks retrieved successfully' } });
    await expectCrudWorks(api, aliceNewJwt, alice.userId, 'Alice after rotation');

    // Old-key tokens: one the API had seen, and one it had not.
    expect((await call(api, aliceJwt, 'GET', tasksPath(alice.userId))).status).toBe(200);
    await expectCrudWorks(api, daveOldJwt, dave.userId, 'Dave with an old-key JWT');
  }, 15_000);

  it('a Better Auth JWT is one spelling: the aliases of its last signature character are refused (RFC 8725)', async () => {
    expect((await call(api, aliceJwt, 'GET', tasksPath(alice.userId))).status).toBe(200);
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const i = ALPHABET.indexOf(aliceJwt.at(-1) as string);
    // An Ed25519 signature is 64 bytes: 86 characters, the last one carrying 4 unused bits.
    for (let bits = 1; bits < 16; bits++) {
      const alias = `${aliceJwt.slice(0, -1)}${ALPHABET[i ^ bits]}`;
      const answer = await call(api, alias, 'GET', tasksPath(alice.userId));
      expectInvalidToken(answer);
    }
  });

  it('answers 401 INVALID_TOKEN for a JWT whose kid Better Auth never published', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ sub: alice.userId, email: 'alice@example.com' })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'not-a-better-auth-kid' })
      .setIssuedAt(now)
      .setExpirationTime(now + 900)
      .setIssuer(ba.baseURL)
      .setAudience(ba.baseURL)
      .sign(privateKey);
    const started = Date.now();
    expectInvalidToken(await call(api, forged, 'GET', tasksPath(alice.userId)));
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('API with Better Auth, per signing algorithm', () => {
  // EdDSA, Better Auth's default, is the suite above. Each case starts its own API (a fresh database): ~0.4 s.
  const algs: BetterAuthAlg[] = ['ES256', 'ES512', 'RS256', 'PS256'];
  it.each(algs)(
    'accepts %s tokens from /api/auth/token (keys from /api/auth/jwks)',
    async (alg) => {
      const ba = await startBetterAuth({ alg });
      let api: RunningApi | undefined;
      try {
        api = await startApiFor(ba);
        const user = await ba.signUp(`alg-${alg.toLowerCase()}@example.com`, PASSWORD, alg);
        const token = await ba.getJwt(user.sessionToken);
        expect(decodeProtectedHeader(token).alg).toBe(alg);
        await expectCrudWorks(api, token, user.userId, `task signed with ${alg}`);
      } finally {
        await api?.close();
        await ba.close();
      }
    },
    20_000,
  );

  it('accepts HS256 tokens from /api/auth/token signed with the shared BETTER_AUTH_SECRET (custom jwt.sign)', async () => {
    const ba = await startBetterAuth({ alg: 'HS256' });
    let api: RunningApi | undefined;
    try {
      api = await startApiFor(ba, { betterAuthSecret: ba.secret });
      const user = await ba.signUp('hs256@example.com', PASSWORD, 'Hs');
      const token = await ba.getJwt(user.sessionToken);
      expect(decodeProtectedHeader(token).alg).toBe('HS256');
      await expectCrudWorks(api, token, user.userId, 'task signed with HS256');
    } finally {
      await api?.close();
      await ba.close();
    }
  }, 20_000);
});

describe('API with Better Auth: issuer', () => {
  it('answers 401 INVALID_TOKEN when iss/aud is not the API’s BETTER_AUTH_URL, though the signature is good', async () => {
    // Better Auth believes it is http://127.0.0.1:<port>; the API was told http://localhost:<port>.
    const ba = await startBetterAuth({ host: '127.0.0.1' });
    let api: RunningApi | undefined;
    try {
      const apiSideUrl = `http://localhost:${ba.port}`;
      api = await startApi({ betterAuthUrl: apiSideUrl, corsOrigins: ['http://localhost:3000'], sessionCacheTtlMs: 0 });
      const user = await ba.signUp('issuer@example.com', PASSWORD, 'Issuer');
      const token = await ba.getJwt(user.sessionToken);
      expect(decodeProtectedHeader(token).alg).toBe('EdDSA');
      const answer = await call(api, token, 'GET', tasksPath(user.userId));
      expectInvalidToken(answer);
      expect((answer.body as { error: string }).error).toBe(
        "The token's issuer (iss) is not the one expected: is BETTER_AUTH_URL (or JWT_ISSUER) Better Auth's baseURL exactly?",
      );
      // The keys were reachable (the API fetched them): the claims alone made it fail.
      expect(ba.requests.some((r) => r.method === 'GET' && r.path.startsWith('/api/auth/jwks'))).toBe(true);
    } finally {
      await api?.close();
      await ba.close();
    }
  }, 20_000);
});

/**
 * What the API answers for a token it has no means to check because Better Auth is unreachable
 * and nothing is cached for it (no JWKS ever fetched; a session it never looked up): 503 with
 * Retry-After, so a frontend retries instead of signing its user out (docs/API.md, Authentication).
 * A token it CAN check and that fails (an unknown kid while cached keys exist) stays 401.
 */
const AUTH_DOWN = { status: 503, code: 'SERVICE_UNAVAILABLE' } as const;

function expectAuthDown(answer: Answer): void {
  expect({ status: answer.status, body: answer.body }).toEqual({ status: AUTH_DOWN.status, body: error(AUTH_DOWN.code) });
}

async function foreignKidJwt(sub: string, issuer: string): Promise<string> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'rotated-while-down' })
    .setIssuedAt(now)
    .setExpirationTime(now + 900)
    .setIssuer(issuer)
    .setAudience(issuer)
    .sign(privateKey);
}

describe('API while Better Auth is stopped', () => {
  let ba: BetterAuthServer;
  let api: RunningApi;
  let erin: BetterAuthSession;
  let erinJwt: string;
  let frank: BetterAuthSession;
  let frankJwt: string;
  let erinTask: Task;

  beforeAll(async () => {
    ba = await startBetterAuth();
    api = await startApiFor(ba);
    erin = await ba.signUp('erin@example.com', PASSWORD, 'Erin');
    frank = await ba.signUp('frank@example.com', PASSWORD, 'Frank');
    erinJwt = await ba.getJwt(erin.sessionToken);
    frankJwt = await ba.getJwt(frank.sessionToken); // same key, never shown to the API before the outage
    erinTask = await createTask(api, erinJwt, erin.userId, 'before the outage'); // the API now has the keys
    expect((await call(api, frank.sessionToken, 'GET', tasksPath(frank.userId))).status).toBe(200);
    await ba.close();
  }, 30_000);

  afterAll(async () => {
    await api?.close();
    await ba?.close();
  });

  it('keeps accepting JWTs signed with a key it has cached, even ones it never saw', async () => {
    await expectCrudWorks(api, frankJwt, frank.userId, 'during the outage');
    expect(await call(api, erinJwt, 'GET', routes.task(erin.userId, erinTask.id))).toMatchObject({
      status: 200,
      body: { data: erinTask },
    });
  });

  it('answers 401 INVALID_TOKEN at once for a JWT with a kid it does not know (the JWKS cannot be refetched)', async () => {
    const token = await foreignKidJwt(erin.userId, ba.baseURL);
    const started = Date.now();
    expectInvalidToken(await call(api, token, 'GET', tasksPath(erin.userId)));
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('answers a session token it cannot look up at once, without hanging', async () => {
    for (const token of [erin.sessionToken, 'C'.repeat(32)]) {
      const started = Date.now();
      expectAuthDown(await call(api, token, 'GET', tasksPath(erin.userId)));
      expect(Date.now() - started, `answer for ${token.slice(0, 12)}… took too long`).toBeLessThan(2000);
    }
  });
});

describe('API while Better Auth accepts connections but never answers', () => {
  let ba: BetterAuthServer;
  let api: RunningApi;
  let gina: BetterAuthSession;
  let ginaJwt: string;

  beforeAll(async () => {
    ba = await startBetterAuth();
    api = await startApiFor(ba);
    gina = await ba.signUp('gina@example.com', PASSWORD, 'Gina');
    ginaJwt = await ba.getJwt(gina.sessionToken);
    ba.stall(); // this API has never fetched the JWKS nor looked up a session
  }, 30_000);

  afterAll(async () => {
    await api?.close();
    await ba?.close();
  });

  it('answers a JWT and a session token within a bounded time (its own fetch timeouts)', async () => {
    for (const token of [ginaJwt, gina.sessionToken]) {
      const started = Date.now();
      expectAuthDown(await call(api, token, 'GET', tasksPath(gina.userId)));
      expect(Date.now() - started, `answer for ${token.slice(0, 12)}… took too long`).toBeLessThan(8000);
    }
  }, 20_000);

  it('accepts both once Better Auth answers again', async () => {
    ba.resume();
    // A failed fetch may hold off the next one for a short cooldown: allow 5 s.
    const started = Date.now();
    let answers: number[] = [];
    do {
      if (answers.length > 0) await new Promise((resolve) => setTimeout(resolve, 250));
      answers = [
        (await call(api, gina.sessionToken, 'GET', tasksPath(gina.userId))).status,
        (await call(api, ginaJwt, 'GET', tasksPath(gina.userId))).status,
      ];
    } while (answers.some((status) => status !== 200) && Date.now() - started < 5000);
    expect(answers).toEqual([200, 200]);
  }, 15_000);
});

import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database, Executor } from '../db/client.js';
import { ApiError } from '../errors.js';
import { errorBody } from '../plugins/error-handler.js';

/** What a write answers: status, body, headers. Kept as is for a retry with the same key. */
export interface Outcome {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** How long an answer is kept for its key. */
const KEEP = "interval '24 hours'";

/** sha256 of method, path and body: what a retry must repeat exactly. */
function fingerprint(request: FastifyRequest): string {
  return createHash('sha256').update(`${request.method} ${request.url}\n${request.rawBody ?? ''}`).digest('base64url');
}

/**
 * Runs a write with `Idempotency-Key` semantics (API.md, "Safe retries"). Without the header the
 * write simply runs. With it, in ONE transaction: a transaction-level advisory lock on (user, key)
 * (another instance holding it means the first request is still running: 409); a kept answer is
 * replayed (same method, path and body) or refused (422); otherwise the write runs and its answer
 * is recorded, in the same transaction, unless it is a 5xx. So a retry after a crash between the
 * write and the answer replays instead of writing twice, on any instance.
 */
export function createIdempotency(database: Pick<Database, 'rows' | 'transaction'>, options: { maxKeysPerUser: number } = { maxKeysPerUser: 10_000 }) {
  // The user's ring of answers (IDEMPOTENCY_MAX_KEYS_PER_USER): the answer takes the next slot,
  // replacing the one kept there (the user's oldest). The counter is the user's change-counter row,
  // already locked by the write this answer belongs to.
  const keep = `with n as (
      insert into user_changes as u (user_id, idempotency_seq) values ($1, 1)
      on conflict (user_id) do update set idempotency_seq = u.idempotency_seq + 1 returning (idempotency_seq % $6)::int as slot),
    gone as (delete from idempotency_keys where user_id = $1 and slot = (select slot from n) and key <> $2)
    insert into idempotency_keys (user_id, key, fingerprint, status, body, slot) select $1, $2, $3, $4, $5::jsonb, n.slot from n
    on conflict (user_id, key) do update set fingerprint = excluded.fingerprint, status = excluded.status, body = excluded.body, created_at = now(), slot = excluded.slot`;
  return async function idempotent(request: FastifyRequest, write: (exec: Executor) => Promise<Outcome>): Promise<Outcome> {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string') return write(database);
    const userId = request.userId as string;
    const print = fingerprint(request);
    let thrown: ApiError | undefined;
    const outcome = await database.transaction(async (tx) => {
      // Two int4 keys: a lock space of their own (migrations lock a single bigint).
      const [lock] = await tx.rows<{ locked: boolean }>('select pg_try_advisory_xact_lock(hashtext($1), hashtext($2)) as locked', [userId, key]);
      if (!lock?.locked) {
        throw new ApiError('CONFLICT', 'A request with this Idempotency-Key is still running; retry in a moment', { 'retry-after': '1' });
      }
      const [kept] = await tx.rows<{ fingerprint: string; status: number; answer: string }>(
        `select fingerprint, status, body::text as answer from idempotency_keys where user_id = $1 and key = $2 and created_at > now() - ${KEEP}`,
        [userId, key],
      );
      if (kept !== undefined) {
        if (kept.fingerprint !== print) {
          throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with another method, path or body');
        }
        const answer = JSON.parse(kept.answer) as { body: unknown; headers?: Record<string, string> };
        return { status: kept.status, body: answer.body, headers: { ...answer.headers, 'idempotent-replayed': 'true' } };
      }
      let result: Outcome;
      try {
        result = await write(tx);
      } catch (err) {
        // A client error is an answer too (404, 412, ...): kept, then given as itself.
        if (!(err instanceof ApiError) || err.statusCode >= 500) throw err;
        thrown = err;
        result = { status: err.statusCode, body: errorBody(err.message, err.code), ...(err.headers ? { headers: err.headers } : {}) };
      }
      if (result.status < 500) {
        await tx.rows(keep, [userId, key, print, result.status, JSON.stringify({ body: result.body, headers: result.headers ?? {} }), options.maxKeysPerUser]);
      }
      return result;
    });
    if (thrown) throw thrown;
    return outcome;
  };
}

export type Idempotent = ReturnType<typeof createIdempotency>;

/** Sends an outcome: its headers, its status, its body. */
export function send(reply: FastifyReply, outcome: Outcome): FastifyReply {
  if (outcome.headers) reply.headers(outcome.headers);
  return reply.code(outcome.status).send(outcome.body);
}

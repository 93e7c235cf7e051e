import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Executor } from '../db/client.js';
import { KeyedLimit } from '../lib/keyed-limit.js';
import { send, type Idempotent, type Outcome } from './idempotency.js';

/** src/lib/keyed-limit.ts: 2 keeps the next write ready in PostgreSQL, without a crowd waiting on the lock. */
const WRITES_IN_FLIGHT_PER_USER = 2;
/** How long closing waits for writes in flight (the server's own shutdown bound is 10 s). */
const SHUTDOWN_WAIT_MS = 8000;

/** What a write's answer carries besides itself: each user whose feed it changed, and at which number (not sent). */
export type Written = Outcome & { told?: ReadonlyArray<readonly [string, number]> };

export interface WritePipeline {
  /**
   * Runs a write the one way every resource does: at most WRITES_IN_FLIGHT_PER_USER of a user's
   * writes at once from this process (they serialise on the feed counters in PostgreSQL anyway),
   * with Idempotency-Key semantics when the header is sent (the answer kept in the write's
   * transaction), counted until it ends so that closing waits for it; then answers it and wakes the
   * event streams of everyone whose feed it changed, on every instance.
   */
  answer(request: FastifyRequest, reply: FastifyReply, write: (exec: Executor) => Promise<Written>): Promise<FastifyReply>;
  /**
   * Counts a handler's work until it ends, whatever its client does: a client that hung up closed its
   * socket (the server's own close does not wait for it) while its handler may still be on its way to
   * the database.
   */
  hold<T>(work: Promise<T>): Promise<T>;
  /** Waits for writes and held handlers still running or waiting their turn (at most SHUTDOWN_WAIT_MS): before the pool closes. */
  drain(): Promise<void>;
}

export function createWritePipeline(options: { idempotent: Idempotent; changed(userId: string, seq: number): void }): WritePipeline {
  const writesPerUser = new KeyedLimit(WRITES_IN_FLIGHT_PER_USER);
  // A client that went away stops waiting for its answer, not the write it sent.
  const running = new Set<Promise<unknown>>();
  return {
    async answer(request, reply, write) {
      const done = writesPerUser.run(request.userId as string, () => options.idempotent(request, write));
      running.add(done);
      const outcome: Written = await done.finally(() => running.delete(done));
      for (const [user, seq] of outcome.told ?? []) options.changed(user, seq);
      return send(reply, outcome);
    },
    hold(work) {
      running.add(work);
      void work.catch(() => {}).finally(() => running.delete(work));
      return work;
    },
    async drain() {
      // Requests that were still on their way to a write (authentication, the access look-up) may
      // start one after these end: wait until a turn of the event loop passes with none running.
      const until = Date.now() + SHUTDOWN_WAIT_MS;
      for (;;) {
        await new Promise((r) => setTimeout(r, 10));
        if (running.size === 0 || Date.now() >= until) return;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.allSettled([...running]), new Promise((r) => (timer = setTimeout(r, until - Date.now())))]);
        clearTimeout(timer);
      }
    },
  };
}

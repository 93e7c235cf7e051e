import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { ApiError } from '../errors.js';
import { ErrorSchema } from '../tasks/tasks.schemas.js';

export interface HealthRoutesOptions {
  /** Resolves when the database answers and takes writes. */
  ready(): Promise<void>;
  /** Bound on the readiness probe's query. */
  timeoutMs: number;
}

const HealthySchema = Type.Object({ status: Type.Literal('healthy') });
const ReadySchema = Type.Object({ status: Type.Literal('ready') });

/** /health: the process answers (liveness). /ready: the database answers too (readiness). */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, { ready, timeoutMs }) => {
  app.get(
    '/health',
    { schema: { tags: ['health'], summary: 'Liveness', response: { 200: HealthySchema } } },
    async () => ({ status: 'healthy' as const }),
  );

  app.get(
    '/ready',
    {
      schema: { tags: ['health'], summary: 'Readiness: the database answers', response: { 200: ReadySchema, 503: ErrorSchema } },
    },
    async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      });
      try {
        await Promise.race([ready(), timeout]);
      } catch {
        throw new ApiError('SERVICE_UNAVAILABLE', 'The database is unavailable');
      } finally {
        clearTimeout(timer);
      }
      return { status: 'ready' as const };
    },
  );
};

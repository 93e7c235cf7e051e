import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { ApiError } from '../errors.js';
import { errorResponses } from '../http/errors.js';

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
    { schema: { operationId: 'health', tags: ['health'], summary: 'Liveness: the process answers', response: { 200: { ...HealthySchema, description: 'The process answers' } } } },
    async () => ({ status: 'healthy' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        operationId: 'ready',
        tags: ['health'],
        summary: 'Readiness: the database answers and takes writes',
        response: { 200: { ...ReadySchema, description: 'Ready to serve' }, ...errorResponses(503) },
      },
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

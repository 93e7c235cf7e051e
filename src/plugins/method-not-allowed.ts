import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

/** TRACE is listed so that it is a 405 on a known path (it echoes requests: never answered). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'TRACE'] as const;

/**
 * Records every route as it is added; `register405Routes` then answers the other methods on each
 * known path with 405 and an Allow header. Call `trackRoutes` first and `register405Routes` last.
 */
export function trackRoutes(app: FastifyInstance): Map<string, Set<string>> {
  const routes = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    if (route.url === '*' || route.url.startsWith('/docs')) return;
    const methods = routes.get(route.url) ?? new Set<string>();
    for (const m of [route.method].flat()) methods.add(m);
    routes.set(route.url, methods);
  });
  return routes;
}

export function register405Routes(app: FastifyInstance, routes: Map<string, Set<string>>): void {
  for (const [url, methods] of [...routes]) {
    const other = METHODS.filter((m) => !methods.has(m));
    if (other.length === 0) continue;
    const allow = METHODS.filter((m) => methods.has(m)).join(', ');
    app.route({
      method: other,
      url,
      schema: { hide: true },
      handler: async () => {
        throw new ApiError('METHOD_NOT_ALLOWED', `Method not allowed here; allowed: ${allow}`, { allow });
      },
    });
  }
}

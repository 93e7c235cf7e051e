import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { projectRoot } from '../lib/project-root.js';

const { version } = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };

/**
 * The OpenAPI document comes from the same TypeBox schemas that validate and serialize.
 * Served at /openapi.json, with Swagger UI at /docs (its assets are served from here: no CDN).
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Task API',
        version,
        description:
          'Tasks for a Next.js + Better Auth todo app. Every /api route needs `Authorization: Bearer <token>`; ' +
          'the token\'s `sub` must equal `{user_id}`. Success bodies are `{data, message}`, errors `{error, code}`.',
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'A Better Auth JWT (HS256 with the shared secret, or EdDSA/ES256/RS256/PS256 via JWKS), or a Better Auth session token',
          },
        },
      },
      tags: [
        { name: 'tasks', description: "A user's tasks" },
        { name: 'health', description: 'Liveness and readiness' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

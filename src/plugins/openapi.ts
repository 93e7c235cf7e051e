import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { projectRoot } from '../lib/project-root.js';
import { pathOf } from '../lib/request-log.js';

const { version } = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };

export interface OpenApiOptions {
  /** Where clients reach this API (the document's `servers`). */
  serverUrl: string;
}

type Operation = { operationId?: string; requestBody?: { required?: boolean }; responses?: Record<string, unknown> };
type OpenApiDocument = { paths?: Record<string, Record<string, Operation>> };

/** Every path answers other methods with 405 and `Allow` (plugins/method-not-allowed.ts). */
const METHOD_NOT_ALLOWED = {
  description: 'This path does not answer that method; `Allow` lists the ones it does',
  headers: { Allow: { description: 'The methods this path answers', schema: { type: 'string', examples: ['GET, HEAD, POST'] } } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/MethodNotAllowedError' } } },
};

/** Operations whose body may be left out (Fastify always marks a declared body as required). */
const OPTIONAL_BODY = new Set(['completeTask', 'moveList']);

/**
 * The OpenAPI 3.1 document comes from the same TypeBox schemas that validate and serialize; named
 * schemas (Task, TaskCreate, the error schemas, ...) become components under their own names.
 * Served at /openapi.json, with Swagger UI at /docs reading that same document (its assets are
 * served from here: no CDN).
 */
export async function registerOpenApi(app: FastifyInstance, options: OpenApiOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Task API',
        version,
        description:
          'Tasks for a Next.js + Better Auth todo app. Every /api route needs `Authorization: Bearer <token>`; ' +
          "the token's `sub` must equal `{user_id}`. Success bodies are `{data, message}`; errors are " +
          '`{error, code, detail}`, `detail` repeating `error`. Another method on a known path is `405` with `Allow`.',
      },
      servers: [{ url: options.serverUrl }],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description:
              'A Better Auth JWT (HS256 with the shared secret, or EdDSA/ES256/RS256/PS256 via JWKS), or a Better Auth session token',
          },
        },
      },
      tags: [
        { name: 'tasks', description: "A user's tasks" },
        { name: 'lists', description: "The lists a user is a member of, in their own order (version 3)" },
        { name: 'tags', description: "The tags of a user's tasks" },
        { name: 'sync', description: 'Changes since a cursor, and live updates (Server-Sent Events)' },
        { name: 'health', description: 'Liveness and readiness' },
      ],
    },
    refResolver: {
      // Named schemas keep their names: `Task`, not `def-0`.
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    transformObject: (documentObject) => {
      if (!('openapiObject' in documentObject)) return documentObject.swaggerObject;
      const { openapiObject } = documentObject;
      const doc = openapiObject as OpenApiDocument;
      for (const methods of Object.values(doc.paths ?? {})) {
        for (const operation of Object.values(methods)) {
          if (operation.operationId && OPTIONAL_BODY.has(operation.operationId) && operation.requestBody) {
            operation.requestBody.required = false;
          }
          if (operation.responses && !('405' in operation.responses)) operation.responses['405'] = METHOD_NOT_ALLOWED;
        }
      }
      return openapiObject;
    },
  });
  // One document, one address: /openapi.json. Swagger UI's page reads it (the plugin's initializer
  // would read its own ./json, and shows that address), and /docs/json sends the browser there.
  await app.register(async (docs) => {
    docs.addHook('onRequest', async (request, reply) => {
      if (pathOf(request.url).replace(/\/+$/, '') === '/docs/json') return reply.redirect('/openapi.json', 301);
    });
    docs.addHook('onSend', async (request, _reply, payload) =>
      typeof payload === 'string' && pathOf(request.url).endsWith('/swagger-initializer.js') ? payload.replace(UI_SPEC_URL, OUR_SPEC_URL) : payload,
    );
    await docs.register(swaggerUi, { routePrefix: '/docs', uiConfig: { tryItOutEnabled: true } });
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

/** In @fastify/swagger-ui's initializer: where the page reads the document, and what we put instead. */
const UI_SPEC_URL = "url: resolveUrl('./json')";
const OUR_SPEC_URL = "url: resolveUrl('../openapi.json')";

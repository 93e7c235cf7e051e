import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes as apiRoutes } from '../helpers/api.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

describe('OpenAPI and docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('embedded');
  });
  afterAll(async () => t?.close());

  it('/openapi.json documents every route of the contract from the route schemas', async () => {
    const res = await t.app.inject(apiRoutes.openapi);
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).filter((k) => k !== 'parameters').map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual([
      'DELETE /api/{user_id}/calendar-feeds/{id}',
      'DELETE /api/{user_id}/lists/{list_id}',
      'DELETE /api/{user_id}/lists/{list_id}/invitations/{id}',
      'DELETE /api/{user_id}/lists/{list_id}/members/{member_id}',
      'DELETE /api/{user_id}/push-subscriptions/{id}',
      'DELETE /api/{user_id}/tasks/{id}',
      'DELETE /api/{user_id}/trash',
      'DELETE /api/{user_id}/trash/{id}',
      'DELETE /api/{user_id}/webhooks/{id}',
      'GET /api/{user_id}/calendar-feeds',
      'GET /api/{user_id}/lists',
      'GET /api/{user_id}/lists/{list_id}',
      'GET /api/{user_id}/lists/{list_id}/invitations',
      'GET /api/{user_id}/lists/{list_id}/members',
      'GET /api/{user_id}/tags',
      'GET /api/{user_id}/tasks',
      'GET /api/{user_id}/tasks/changes',
      'GET /api/{user_id}/tasks/events',
      'GET /api/{user_id}/tasks/{id}',
      'GET /api/{user_id}/tasks/{id}/completions',
      'GET /api/{user_id}/trash',
      'GET /api/{user_id}/trash/{id}',
      'GET /api/{user_id}/webhooks',
      'GET /api/{user_id}/webhooks/{id}',
      'GET /api/{user_id}/webhooks/{id}/deliveries',
      'GET /health',
      'GET /ical/{file}',
      'GET /push/public-key',
      'GET /ready',
      'PATCH /api/{user_id}/tasks/{id}/complete',
      'POST /api/{user_id}/calendar-feeds',
      'POST /api/{user_id}/invitations/{token}/accept',
      'POST /api/{user_id}/lists',
      'POST /api/{user_id}/lists/{list_id}/invitations',
      'POST /api/{user_id}/lists/{list_id}/move',
      'POST /api/{user_id}/push-subscriptions',
      'POST /api/{user_id}/tasks',
      'POST /api/{user_id}/tasks/batch',
      'POST /api/{user_id}/tasks/events/ticket',
      'POST /api/{user_id}/tasks/{id}/move',
      'POST /api/{user_id}/tasks/{id}/skip',
      'POST /api/{user_id}/trash/{id}/restore',
      'POST /api/{user_id}/webhooks',
      'POST /api/{user_id}/webhooks/{id}/deliveries/{delivery_id}/redeliver',
      'PUT /api/{user_id}/lists/{list_id}',
      'PUT /api/{user_id}/lists/{list_id}/members/{member_id}',
      'PUT /api/{user_id}/tasks/{id}',
      'PUT /api/{user_id}/webhooks/{id}',
    ]);
    const create = doc.paths['/api/{user_id}/tasks'].post;
    expect(create.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '413', '415', '429']));
    expect(create.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/TaskCreate' });
    const body = doc.components.schemas.TaskCreate;
    expect(body.properties.title).toMatchObject({ type: 'string', minLength: 1, maxLength: 200 });
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('names the Last-Event-ID request header of the event stream and the Idempotent-Replayed answer header of every write', async () => {
    const doc = (await t.app.inject(apiRoutes.openapi)).json();
    const events = doc.paths['/api/{user_id}/tasks/events'].get;
    expect(events.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'last-event-id', required: false, schema: expect.objectContaining({ type: 'string' }) }));
    const writes: [string, string, string][] = [
      ['/api/{user_id}/tasks', 'post', '201'],
      ['/api/{user_id}/tasks/{id}', 'put', '200'],
      ['/api/{user_id}/tasks/{id}', 'delete', '200'],
      ['/api/{user_id}/tasks/{id}/complete', 'patch', '200'],
      ['/api/{user_id}/tasks/{id}/skip', 'post', '200'],
      ['/api/{user_id}/tasks/batch', 'post', '200'],
      ['/api/{user_id}/tasks/events/ticket', 'post', '201'],
      ['/api/{user_id}/lists', 'post', '201'],
      ['/api/{user_id}/lists/{list_id}', 'put', '200'],
      ['/api/{user_id}/lists/{list_id}', 'delete', '200'],
      ['/api/{user_id}/lists/{list_id}/move', 'post', '200'],
      ['/api/{user_id}/push-subscriptions', 'post', '201'],
      ['/api/{user_id}/push-subscriptions/{id}', 'delete', '200'],
      ['/api/{user_id}/calendar-feeds', 'post', '201'],
      ['/api/{user_id}/calendar-feeds/{id}', 'delete', '200'],
      ['/api/{user_id}/webhooks', 'post', '201'],
      ['/api/{user_id}/webhooks/{id}', 'put', '200'],
      ['/api/{user_id}/webhooks/{id}', 'delete', '200'],
      ['/api/{user_id}/lists/{list_id}/invitations', 'post', '201'],
      ['/api/{user_id}/lists/{list_id}/invitations/{id}', 'delete', '200'],
      ['/api/{user_id}/invitations/{token}/accept', 'post', '200'],
      ['/api/{user_id}/lists/{list_id}/members/{member_id}', 'put', '200'],
      ['/api/{user_id}/lists/{list_id}/members/{member_id}', 'delete', '200'],
      ['/api/{user_id}/trash/{id}/restore', 'post', '200'],
      ['/api/{user_id}/trash/{id}', 'delete', '200'],
      ['/api/{user_id}/trash', 'delete', '200'],
    ];
    for (const [path, method, status] of writes) {
      const op = doc.paths[path][method];
      expect(op.parameters, `${method} ${path}`).toContainEqual(expect.objectContaining({ in: 'header', name: 'idempotency-key' }));
      expect(op.responses[status].headers?.['Idempotent-Replayed'], `${method} ${path}`).toMatchObject({ schema: { const: 'true' } });
    }
  });

  it('/docs serves interactive docs with local assets only (no CDN)', async () => {
    const page = await t.app.inject(apiRoutes.docs);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).not.toMatch(/https?:\/\/(?!localhost)[a-z0-9.-]+\.[a-z]{2,}\/[^"']*\.(js|css)/i);
    const scripts = [...page.body.matchAll(/(?:src|href)="\.?\/?([^"]+\.(?:js|css))"/g)].map((m) => m[1] as string);
    expect(scripts.length).toBeGreaterThan(0);
    for (const asset of scripts) {
      const res = await t.app.inject(`/docs/${asset.replace(/^docs\//, '')}`);
      expect(res.statusCode, asset).toBe(200);
    }
  });

  it('one document, one address: the docs page reads /openapi.json, and /docs/json sends the browser there', async () => {
    const init = await t.app.inject('/docs/static/swagger-initializer.js');
    expect(init.statusCode).toBe(200);
    expect(init.body).toContain("url: resolveUrl('../openapi.json')");
    expect(init.body).not.toContain("resolveUrl('./json')");
    for (const url of ['/docs/json', '/docs/json/']) {
      const res = await t.app.inject(url);
      expect({ status: res.statusCode, location: res.headers.location }).toEqual({ status: 301, location: '/openapi.json' });
    }
  });
});

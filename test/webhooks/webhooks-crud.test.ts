/**
 * Webhooks, the resource (API.md, Version 3, "Webhooks"): made with a secret shown once, listed,
 * changed and deleted by their user only; targets checked (https on public addresses unless
 * WEBHOOKS_ALLOW_PRIVATE); at most 20 per user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose, type Api } from '../helpers/api.js';
import { buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';

const SECRET_SHAPE = /^whsec_[A-Za-z0-9+/]{43}=$/;

describe.each(drivers)('webhooks, the resource [%s]', (driver) => {
  let strict: TestApp;
  let open: TestApp;
  beforeAll(async () => {
    [strict, open] = await Promise.all([buildTestApp(driver), buildTestApp(driver, { webhooksAllowPrivate: true, maxWebhooksPerUser: 3 })]);
  });
  afterAll(async () => {
    await strict?.close();
    await open?.close();
  });

  const user = async (t: TestApp): Promise<Api> => {
    const me = await api(t.app, uniqueUser());
    expect((await me.list()).statusCode).toBe(200);
    return me;
  };

  it('POST: 201 with the secret (shown only here); GET, PUT, DELETE; another user sees nothing of it', async () => {
    const me = await user(open);
    const made = await me.webhooks.create({ url: 'http://127.0.0.1:9/hook', events: ['task.created', 'task.completed'] });
    expect(made.statusCode).toBe(201);
    const { id, secret } = made.json().data;
    expect(made.json()).toEqual({ data: { id, url: 'http://127.0.0.1:9/hook', events: ['task.created', 'task.completed'], secret }, message: 'Webhook created successfully' });
    expect(secret).toMatch(SECRET_SHAPE);

    const one = await me.webhooks.get(id);
    expect(one.statusCode).toBe(200);
    const shown = { id, url: 'http://127.0.0.1:9/hook', events: ['task.created', 'task.completed'], enabled: true, created_at: one.json().data.created_at };
    expect(one.json()).toEqual({ data: shown, message: 'Webhook retrieved successfully' });
    expect(one.body).not.toContain(secret);
    const all = await me.webhooks.list();
    expect(all.json()).toEqual({ data: [shown], message: 'Webhooks retrieved successfully' });
    expect(all.body).not.toContain(secret);

    const changed = await me.webhooks.put(id, { events: ['*'] });
    expect(changed.json()).toEqual({ data: { ...shown, events: ['*'] }, message: 'Webhook updated successfully' });
    const deliveries = await me.webhooks.deliveries(id);
    expect(deliveries.json()).toEqual({ data: [], message: 'Deliveries retrieved successfully' });

    const other = await user(open);
    expectError(await other.webhooks.get(id), 404, 'NOT_FOUND', 'Webhook not found');
    expectError(await other.webhooks.put(id, { events: ['task.deleted'] }), 404, 'NOT_FOUND', 'Webhook not found');
    expectError(await other.webhooks.deliveries(id), 404, 'NOT_FOUND', 'Webhook not found');
    expectError(await other.webhooks.del(id), 404, 'NOT_FOUND', 'Webhook not found');
    expect((await other.webhooks.list()).json().data).toEqual([]);

    const gone = await me.webhooks.del(id);
    expect(gone.json()).toEqual({ data: { ...shown, events: ['*'] }, message: 'Webhook deleted successfully' });
    expectError(await me.webhooks.get(id), 404, 'NOT_FOUND', 'Webhook not found');
  });

  it('bad bodies: 400 naming the field, nothing made', async () => {
    const me = await user(open);
    for (const [body, field] of [
      [{ url: 'http://127.0.0.1:9/h', events: [] }, 'events'],
      [{ url: 'http://127.0.0.1:9/h', events: ['task.exploded'] }, 'events'],
      [{ url: 'http://127.0.0.1:9/h', events: ['task.created', 'task.created'] }, 'events'],
      [{ url: 'http://127.0.0.1:9/h' }, 'events'],
      [{ events: ['*'] }, 'url'],
      [{ url: 'not a url', events: ['*'] }, 'url'],
      [{ url: 'ftp://example.com/h', events: ['*'] }, 'url'],
      [{ url: 'https://user:pass@example.com/h', events: ['*'] }, 'url'],
    ] as const) {
      const res = await me.webhooks.create(loose(body));
      expectError(res, 400, 'VALIDATION_ERROR');
      expect(res.json().error).toContain(field);
    }
    expect((await me.webhooks.list()).json().data).toEqual([]);
  });

  it('targets: https on public addresses only; loopback, private, link-local and names that resolve to them are refused (at creation and on change)', async () => {
    const me = await user(strict);
    for (const url of [
      'http://127.0.0.1/hook',
      'https://127.0.0.1/hook',
      'https://localhost/hook',
      'https://10.1.2.3/hook',
      'https://172.16.0.1/hook',
      'https://192.168.1.1/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hook',
      'https://[fd00::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://0.0.0.0/hook',
      'http://93.184.215.14/hook',
    ]) {
      const res = await me.webhooks.create({ url, events: ['*'] });
      expectError(res, 400, 'VALIDATION_ERROR');
      expect(res.json().error).toMatch(/^url /);
    }
    // A public address is taken (nothing is sent at creation).
    const made = await me.webhooks.create({ url: 'https://93.184.215.14/hook', events: ['*'] });
    expect(made.statusCode).toBe(201);
    expectError(await me.webhooks.put(made.json().data.id, { url: 'https://127.0.0.1/x' }), 400, 'VALIDATION_ERROR');
    expect((await me.webhooks.get(made.json().data.id)).json().data.url).toBe('https://93.184.215.14/hook');
  });

  it('at most MAX_WEBHOOKS_PER_USER (3 here): 403 WEBHOOK_LIMIT_REACHED, also when the creates race', async () => {
    const me = await user(open);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => me.webhooks.create({ url: `http://127.0.0.1:9/h${i}`, events: ['*'] })));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 201, 201, 403, 403, 403, 403, 403]);
    expectError(answers.find((a) => a.statusCode === 403)!, 403, 'WEBHOOK_LIMIT_REACHED', 'You keep 3 webhooks, the most allowed: delete one to make another');
    expect((await me.webhooks.list()).json().data).toHaveLength(3);
  });
});

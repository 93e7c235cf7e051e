/**
 * Feature suite: the settings page (/settings), webhooks and calendar feeds, in Chromium against the
 * real API (started by e2e.mjs with WEBHOOKS_ALLOW_PRIVATE=true, so that a receiver on loopback can
 * be a webhook's target).
 *
 * Webhooks: a receiver started here (an HTTP server on a free port) records every POST. A webhook
 * added in the page shows its secret once (copied through the clipboard); a task created in the
 * task page reaches the receiver, its signature verified with the `standardwebhooks` package (the
 * API's own dependency, at the repository's root) and that secret; the deliveries list shows it;
 * Redeliver sends the same webhook-id again; after Delete nothing more arrives (a second webhook
 * proves the next event was sent).
 *
 * Calendar: a feed made in the page; the URL read from the page (the field, and the clipboard after
 * Copy) fetched without a token is text/calendar with the task; the webcal:// link is that URL with
 * its scheme swapped; Revoke makes the URL answer 404.
 *
 * Secrets and feed URLs are compared, never printed; no screenshot is taken while one is shown.
 */
import { createServer } from 'node:http';

import { Webhook as Verifier } from 'standardwebhooks';

/** An HTTP receiver on a free port (127.0.0.1): records every request, answers 204. */
async function startReceiver() {
  const got = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ method: req.method, path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    got,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    at: (path) => got.filter((g) => g.path === path),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** A datetime-local value (the browser runs in UTC) `days` from now at `hh:mm`, and the iCalendar DTSTART of it. */
function dueIn(days, hhmm) {
  const day = new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
  return { input: `${day}T${hhmm}`, dtstart: `DTSTART:${day.replaceAll('-', '')}T${hhmm.replace(':', '')}00Z` };
}

export async function run(kit) {
  const { step, eventually, assertEqual, apiCall, screenshot, origin, apiUrl, sleep } = kit;
  const receiver = await startReceiver();
  const clipboard = { permissions: ['clipboard-read', 'clipboard-write'] };
  const contexts = [];
  const signUp = async (name) => {
    const s = await kit.signUp(name, clipboard);
    contexts.push(s.context);
    return s;
  };
  const readClipboard = (page) => page.evaluate(() => navigator.clipboard.readText());
  const webhookItem = (page, id) => page.locator(`li[data-testid=webhook][data-id="${id}"]`);
  const rows = (page, hookId) =>
    webhookItem(page, hookId)
      .locator('[data-testid=delivery]')
      .evaluateAll((trs) =>
        trs.map((tr) => [
          tr.getAttribute('data-id'),
          ...['delivery-type', 'delivery-status', 'delivery-attempts', 'delivery-time'].map((t) => tr.querySelector(`[data-testid=${t}]`)?.textContent?.trim()),
        ]),
      );

  /** Creates a task in the task page's form; returns its id (from the API's answer). */
  async function createTask(page, title, due) {
    const form = page.locator('[data-testid=create-form]');
    await form.getByLabel('Title').fill(title);
    if (due) await form.getByLabel('Due').fill(due);
    const { body } = await apiCall(page, apiUrl, 'POST', /^\/api\/[^/]+\/tasks$/, 201, () => form.getByRole('button', { name: 'Add task' }).click());
    await eventually(async () => (await kit.titles(page)).includes(title), true, `"${title}" listed`);
    return body.data.id;
  }

  async function toSettings(page) {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(`${origin}/settings`);
  }

  // ---------------------------------------------------------------- webhooks
  let owner;
  const A = `/hooks/a-${Date.now()}`; // task.created and task.completed
  const B = `/hooks/b-${Date.now()}`; // every event
  const hooks = {};
  let taskId;
  let webhookId;

  try {
    await step('settings: signed out, /settings sends to /sign-in', async () => {
      const ctx = await kit.browser.newContext(kit.contextOptions);
      contexts.push(ctx);
      const p = await ctx.newPage();
      await p.goto(`${origin}/settings`);
      assertEqual(new URL(p.url()).pathname, '/sign-in', 'path');
    });

    await step('settings: the task page links to /settings: no webhooks, no calendar feeds yet', async () => {
      owner = await signUp('Hook owner');
      const { page } = owner;
      const lists = Promise.all([
        apiCall(page, apiUrl, 'GET', /^\/api\/[^/]+\/webhooks$/, 200, async () => {}),
        apiCall(page, apiUrl, 'GET', /^\/api\/[^/]+\/calendar-feeds$/, 200, async () => {}),
      ]);
      await toSettings(page);
      const [hooksList, feedsList] = await lists;
      assertEqual(hooksList.body, { data: [], message: 'Webhooks retrieved successfully' }, 'GET webhooks');
      assertEqual(feedsList.body, { data: [], message: 'Calendar feeds retrieved successfully' }, 'GET calendar-feeds');
      assertEqual(await kit.text(page, 'user-email'), owner.email, 'email in the header');
      await eventually(() => kit.text(page, 'webhooks-count'), 'No webhooks yet', 'webhooks count');
      await eventually(() => kit.text(page, 'feeds-count'), 'No calendar feeds yet', 'feeds count');
    });

    await step('settings: add a webhook (task.created, task.completed): the secret is shown once and copied', async () => {
      const { page } = owner;
      const form = page.locator('[data-testid=webhook-form]');
      await form.getByLabel('Endpoint URL').fill(receiver.url(A));
      await form.getByRole('checkbox', { name: 'All events' }).uncheck();
      await form.getByRole('checkbox', { name: 'task.created', exact: true }).check();
      await form.getByRole('checkbox', { name: 'task.completed', exact: true }).check();
      const { body } = await apiCall(page, apiUrl, 'POST', /^\/api\/[^/]+\/webhooks$/, 201, () => form.getByRole('button', { name: 'Add webhook' }).click());
      assertEqual(body.message, 'Webhook created successfully', 'message');
      assertEqual([body.data.url, body.data.events], [receiver.url(A), ['task.created', 'task.completed']], 'url and events sent');
      hooks.a = { id: body.data.id, secret: body.data.secret };
      if (!/^whsec_[A-Za-z0-9+/]{43}=$/.test(hooks.a.secret)) throw new Error('the secret is not whsec_ and 32 bytes in base64');
      const shown = page.locator('[data-testid=webhook-secret]');
      assertEqual((await shown.inputValue()) === hooks.a.secret, true, 'the page shows the secret of the answer');
      await page.getByRole('button', { name: 'Copy secret' }).click();
      await eventually(() => kit.text(page, 'webhook-secret-copied'), 'Copied', 'copied notice');
      assertEqual((await readClipboard(page)) === hooks.a.secret, true, 'the clipboard holds the secret');
      await page.getByRole('button', { name: 'Done' }).click();
      assertEqual(await page.locator('[data-testid=webhook-secret-box]').count(), 0, 'secret hidden after Done');
      await eventually(() => kit.text(page, 'webhooks-count'), '1 webhook', 'webhooks count');
      assertEqual(await webhookItem(page, hooks.a.id).locator('[data-testid=webhook-events]').textContent(), 'task.created, task.completed', 'events shown');
    });

    await step('settings: a second webhook (all events); after a reload both are listed and no secret is shown again', async () => {
      const { page } = owner;
      const form = page.locator('[data-testid=webhook-form]');
      await form.getByLabel('Endpoint URL').fill(receiver.url(B));
      const { body } = await apiCall(page, apiUrl, 'POST', /^\/api\/[^/]+\/webhooks$/, 201, () => form.getByRole('button', { name: 'Add webhook' }).click());
      assertEqual(body.data.events, ['*'], 'all events');
      hooks.b = { id: body.data.id, secret: body.data.secret };
      assertEqual((await page.locator('[data-testid=webhook-secret]').inputValue()) === hooks.b.secret, true, 'second secret shown');
      await eventually(() => kit.text(page, 'webhooks-count'), '2 webhooks', 'count before the reload'); // the page's own reload done
      const { body: listed } = await apiCall(page, apiUrl, 'GET', /^\/api\/[^/]+\/webhooks$/, 200, () => page.reload());
      assertEqual(listed.data.map((h) => [h.id, h.url, h.events, h.enabled, 'secret' in h]), [
        [hooks.a.id, receiver.url(A), ['task.created', 'task.completed'], true, false],
        [hooks.b.id, receiver.url(B), ['*'], true, false],
      ], 'the list, without secrets');
      await eventually(() => kit.text(page, 'webhooks-count'), '2 webhooks', 'count');
      assertEqual(await page.locator('[data-testid=webhook-secret-box]').count(), 0, 'no secret after a reload');
      assertEqual(await page.locator('[data-testid=webhook-url]').allTextContents(), [receiver.url(A), receiver.url(B)], 'urls shown');
      assertEqual(await page.locator('[data-testid=webhook-events]').allTextContents(), ['task.created, task.completed', 'All events'], 'events shown');
    });

    await step('settings: a task created in the page reaches the receiver, signed (standardwebhooks verify)', async () => {
      const { page } = owner;
      await page.getByRole('link', { name: 'Back to tasks' }).click();
      await page.waitForURL(`${origin}/tasks`);
      taskId = await createTask(page, 'Hook me');
      await eventually(() => receiver.at(A).length, 1, 'one POST at the first webhook', 15_000);
      const [got] = receiver.at(A);
      assertEqual(got.method, 'POST', 'method');
      const event = new Verifier(hooks.a.secret).verify(got.body, got.headers);
      assertEqual([event.type, event.data.task.id, event.data.task.title, event.data.task.user_id], ['task.created', taskId, 'Hook me', owner.user.id], 'the event');
      webhookId = got.headers['webhook-id'];
      if (!/^msg_[0-9a-f]{32}$/.test(webhookId)) throw new Error(`webhook-id ${webhookId}`);
      let refused = false;
      try {
        new Verifier(hooks.b.secret).verify(got.body, got.headers);
      } catch {
        refused = true;
      }
      assertEqual(refused, true, 'another webhook\'s secret does not verify it');
      // The all-events webhook got it too, signed with its own secret.
      await eventually(() => receiver.at(B).length, 1, 'one POST at the second webhook', 15_000);
      const other = receiver.at(B)[0];
      assertEqual(new Verifier(hooks.b.secret).verify(other.body, other.headers).data.task.id, taskId, 'second webhook\'s event');
    });

    await step('settings: the deliveries list shows it (task.created, Delivered (204), 1 attempt)', async () => {
      const { page } = owner;
      await toSettings(page);
      const item = webhookItem(page, hooks.a.id);
      await apiCall(page, apiUrl, 'GET', new RegExp(`/webhooks/${hooks.a.id}/deliveries$`), 200, () => item.getByRole('button', { name: 'Deliveries' }).click());
      await eventually(() => rows(page, hooks.a.id), [[webhookId, 'task.created', 'Delivered (204)', '1', '—']], 'the delivery row', 10_000);
      await screenshot(page, 'settings-webhook-deliveries');
    });

    await step('settings: Redeliver sends the same webhook-id again; the list counts 2 attempts', async () => {
      const { page } = owner;
      const item = webhookItem(page, hooks.a.id);
      const { body } = await apiCall(page, apiUrl, 'POST', new RegExp(`/webhooks/${hooks.a.id}/deliveries/${webhookId}/redeliver$`), 202, () =>
        item.getByRole('button', { name: 'Redeliver' }).click(),
      );
      assertEqual(body, { data: null, message: 'Redelivery scheduled successfully' }, '202 body');
      await eventually(() => kit.text(page, 'deliveries-notice'), 'Redelivery scheduled.', 'notice');
      await eventually(() => receiver.at(A).length, 2, 'a second POST at the first webhook', 15_000);
      const [first, again] = receiver.at(A);
      assertEqual(again.headers['webhook-id'], webhookId, 'the same webhook-id');
      assertEqual(again.body, first.body, 'the same event');
      assertEqual(new Verifier(hooks.a.secret).verify(again.body, again.headers).data.task.id, taskId, 'verified again');
      await eventually(() => rows(page, hooks.a.id), [[webhookId, 'task.created', 'Delivered (204)', '2', '—']], 'attempts 2', 10_000);
    });

    await step('settings: Delete stops deliveries (the other webhook still gets the next task)', async () => {
      const { page } = owner;
      const { body } = await apiCall(page, apiUrl, 'DELETE', new RegExp(`/webhooks/${hooks.a.id}$`), 200, () =>
        webhookItem(page, hooks.a.id).getByRole('button', { name: 'Delete' }).click(),
      );
      assertEqual([body.message, body.data.id], ['Webhook deleted successfully', hooks.a.id], 'delete answer');
      await eventually(() => page.locator('[data-testid=webhook-url]').allTextContents(), [receiver.url(B)], 'only the second is listed');
      await page.getByRole('link', { name: 'Back to tasks' }).click();
      await page.waitForURL(`${origin}/tasks`);
      const atA = receiver.at(A).length;
      const later = await createTask(page, 'After the delete');
      await eventually(
        () => receiver.at(B).some((g) => new Verifier(hooks.b.secret).verify(g.body, g.headers).data.task?.id === later),
        true,
        'the second webhook got the new task',
        15_000,
      );
      await sleep(1000); // the deleted webhook's delivery, if one had been made, would run alongside
      assertEqual(receiver.at(A).length, atA, 'nothing more at the deleted webhook');
    });

    // ---------------------------------------------------------------- calendar feeds
    let cal;
    let feedUrl;
    let feedId;
    const due = dueIn(2, '09:30');
    await step('settings: create a calendar feed; its URL (shown, and copied) serves text/calendar with the task', async () => {
      cal = await signUp('Calendar user');
      const { page } = cal;
      await createTask(page, 'Dentist appointment', due.input);
      await createTask(page, 'Someday');
      await toSettings(page);
      const form = page.locator('[data-testid=feed-form]');
      const { body } = await apiCall(page, apiUrl, 'POST', /^\/api\/[^/]+\/calendar-feeds$/, 201, () => form.getByRole('button', { name: 'Create feed' }).click());
      assertEqual([body.message, body.data.list_id, body.data.format], ['Calendar feed created successfully', null, 'events'], 'the answer');
      feedId = body.data.id;
      const item = page.locator(`li[data-testid=feed][data-id="${feedId}"]`);
      await eventually(() => item.count(), 1, 'the feed listed');
      assertEqual(await item.locator('[data-testid=feed-title]').textContent(), 'All lists · Events', 'feed title');
      feedUrl = await item.locator('[data-testid=feed-url]').inputValue();
      assertEqual(feedUrl === `${apiUrl}${body.data.url}`, true, 'the shown URL is the API\'s address of the feed');
      if (!/^\/ical\/[A-Za-z0-9_-]{43,}\.ics$/.test(body.data.url)) throw new Error('the feed\'s url is not /ical/<secret>.ics');
      await item.getByRole('button', { name: 'Copy URL' }).click();
      await eventually(() => kit.text(page, 'feed-url-copied'), 'Copied', 'copied notice');
      const copied = await readClipboard(page);
      assertEqual(copied === feedUrl, true, 'the clipboard holds the shown URL');
      const res = await fetch(copied); // no token: calendar apps cannot send one
      assertEqual(res.status, 200, 'GET the feed');
      assertEqual(res.headers.get('content-type'), 'text/calendar; charset=utf-8', 'content type');
      const ics = await res.text();
      const lines = ics.split('\r\n');
      assertEqual([lines[0], lines.includes('SUMMARY:Dentist appointment'), lines.includes(due.dtstart), ics.includes('Someday')], ['BEGIN:VCALENDAR', true, true, false], 'the calendar: the due task as an event, the undated one not');
    });

    await step('settings: the webcal:// link is the URL with its scheme swapped', async () => {
      const { page } = cal;
      const href = await page.locator(`li[data-testid=feed][data-id="${feedId}"] [data-testid=feed-webcal]`).getAttribute('href');
      assertEqual(href === feedUrl.replace(/^http:\/\//, 'webcal://'), true, 'href is webcal:// and the rest of the URL');
      assertEqual(href.startsWith('webcal://127.0.0.1:'), true, 'scheme');
    });

    await step('settings: Revoke removes the feed and its URL answers 404', async () => {
      const { page } = cal;
      const { body } = await apiCall(page, apiUrl, 'DELETE', new RegExp(`/calendar-feeds/${feedId}$`), 200, () =>
        page.locator(`li[data-testid=feed][data-id="${feedId}"]`).getByRole('button', { name: 'Revoke' }).click(),
      );
      assertEqual([body.message, body.data.id], ['Calendar feed deleted successfully', feedId], 'revoke answer');
      await eventually(() => kit.text(page, 'feeds-count'), 'No calendar feeds yet', 'feeds count');
      const res = await fetch(feedUrl);
      assertEqual(res.status, 404, 'the revoked URL');
      const gone = await res.json();
      assertEqual([gone.code, gone.detail], ['NOT_FOUND', 'Calendar feed not found'], 'its error body');
      await screenshot(page, 'settings-calendar-revoked');
    });
  } finally {
    for (const ctx of contexts) await ctx.close().catch(() => {});
    await receiver.close();
  }
}

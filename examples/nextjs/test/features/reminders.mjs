/**
 * Reminders (issue 25, point 5): the reminders of the task form (presets and a custom time), the
 * notification permission asked when the first reminder is added (not on page load), Web Push in
 * the service worker, and the in-page toast from the event stream.
 *
 * What headless Chromium allows, and so what this checks:
 *   - The permission: granted with `context.grantPermissions(['notifications'], { origin })` (the
 *     user's "Allow" in a prompt headless Chromium cannot show); without it, Chromium answers
 *     Notification.requestPermission() "denied" by itself, which the second user's steps use.
 *   - Subscribing: `pushManager.subscribe` rejects at once in Playwright's contexts (off-the-record
 *     profiles have no push service: "AbortError: Registration failed - permission denied"; in a
 *     regular profile it waits forever for Google's push service, which this machine cannot reach).
 *     So the app's subscription attempt is checked to fail as it does, and to be reported in the
 *     page; the API's side of subscribing (and a real push, encrypted, decrypted) is tested in
 *     packages/client's tests against a push service of their own.
 *   - A push: `ServiceWorker.deliverPushMessage` through the DevTools protocol hands the service
 *     worker the reminder's JSON (what the API pushes), and its notification is read back with
 *     `registration.getNotifications()`.
 *   - A click on a notification: no DevTools command clicks one, so a `notificationclick` event
 *     carrying the real notification is dispatched in the service worker (Playwright's worker
 *     evaluate). Being synthetic, it has no user activation: `waitUntil` throws, `focus()` and
 *     `openWindow()` are refused; the open page is told to open the task, which is what is checked.
 *     The new-window path's destination, /tasks?task=<id>, is checked by loading it.
 */

/** A datetime-local value (the browser runs in UTC) `days` from now at `hh:mm`. */
function dayIn(days) {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}
/** An instant a few seconds from now, whole seconds: [ISO with ms, the datetime-local value, as the app shows it]. */
function secondsFromNow(s) {
  const d = new Date(Math.ceil((Date.now() + s * 1000) / 1000) * 1000);
  const iso = d.toISOString();
  const shown = iso.slice(17, 19) === '00' ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return { iso, input: iso.slice(0, 19), shown };
}

const PROMPT =
  'Get reminders as notifications on this device, even when this page is closed? Your browser will ask you to allow them.Allow notificationsNot now';
const DENIED =
  "Notifications are blocked for this site, so reminders show only here, while this page is open. To get them anyway, allow notifications in the browser's site settings. OK";
const FAILED = (detail) =>
  `Notifications are allowed, but this browser has no push subscription (${detail}): reminders show here while this page is open. OK`;

export async function run(kit) {
  const { step, eventually, assertEqual, apiCall, screenshot, origin, apiUrl, text, taskItem } = kit;

  const remy = await kit.signUp('Remy');
  const { page, context } = remy;
  const form = page.getByTestId('create-form');
  const chips = (scope) => scope.locator('[data-testid=reminder-chip] > span').allTextContents();
  const toastTitles = () => page.locator('[data-testid=reminder-toast-title]').allTextContents();
  const permission = (p) => p.evaluate(() => Notification.permission);

  // The service worker's registrations, through the DevTools protocol.
  const cdp = await context.newCDPSession(page);
  const registrations = new Map();
  cdp.on('ServiceWorker.workerRegistrationUpdated', (event) => {
    for (const r of event.registrations) {
      if (r.isDeleted) registrations.delete(r.registrationId);
      else registrations.set(r.registrationId, r);
    }
  });
  await cdp.send('ServiceWorker.enable');

  await step('reminders: no notification prompt on page load (the permission stays "default")', async () => {
    await eventually(() => text(page, 'count'), 'No tasks yet', 'the list loaded');
    assertEqual(await permission(page), 'default', 'Notification.permission');
    assertEqual(await page.getByTestId('notify-prompt').count(), 0, 'prompts shown');
  });

  await step('reminders: without a due date only a custom time can be added (the presets are disabled, a hint says why)', async () => {
    await form.getByLabel('Title').click(); // the quick add's details open once its line is used
    const disabled = await form.getByLabel('Add a reminder').locator('option:disabled').allTextContents();
    assertEqual(disabled, ['At due time', '10 min before', '1 hour before', '1 day before'], 'disabled presets');
    assertEqual(await text(page, 'reminders-hint'), 'Set a due date for reminders before it.', 'hint');
    assertEqual(await chips(form), [], 'chips');
  });

  const due = dayIn(2);
  const custom = dayIn(1);
  await step('reminders: the first reminder added explains notifications and offers them (the browser is not asked yet)', async () => {
    await form.getByLabel('Title').fill('Pay rent');
    await form.getByLabel('Due').fill(`${due}T09:00`);
    assertEqual(await page.getByTestId('reminders-hint').count(), 0, 'hint gone with a due date');
    await form.getByLabel('Add a reminder').selectOption('At due time');
    assertEqual(await chips(form), ['At due time'], 'chips');
    await eventually(() => text(page, 'notify-prompt'), PROMPT, 'the explanation');
    assertEqual(await permission(page), 'default', 'Notification.permission');
    await screenshot(page, 'reminders-prompt');
  });

  await step('reminders: "Allow notifications" asks the browser (granted), registers the service worker, and reports that Chromium gives no push subscription', async () => {
    // The user's "Allow" in the browser's own prompt.
    await context.grantPermissions(['notifications'], { origin });
    const { body } = await apiCall(page, apiUrl, 'GET', /^\/push\/public-key$/, 200, () => page.getByRole('button', { name: 'Allow notifications' }).click());
    assertEqual(Buffer.from(body.data.public_key, 'base64url').length, 65, 'VAPID public key bytes');
    await eventually(() => text(page, 'notify-note'), FAILED('Registration failed - permission denied'), 'the note');
    assertEqual(await page.getByTestId('notify-note').getAttribute('data-state'), 'failed', 'note state');
    assertEqual(await permission(page), 'granted', 'Notification.permission');
    // What Chromium itself answers, with the API's key.
    const answer = await page.evaluate(async (key) => {
      const registration = await navigator.serviceWorker.ready;
      try {
        await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
        return 'subscribed';
      } catch (err) {
        return `${err.name}: ${err.message}`;
      }
    }, body.data.public_key);
    assertEqual(answer, 'AbortError: Registration failed - permission denied', 'pushManager.subscribe');
    assertEqual(remy.api.filter((r) => r.path.endsWith('/push-subscriptions')).length, 0, 'subscriptions sent to the API');
    const scopes = [...registrations.values()].map((r) => r.scopeURL);
    assertEqual([...new Set(scopes)], [`${origin}/`], 'service worker registrations');
  });

  let rentId = null;
  await step('reminders: presets and a custom time are saved as the API\'s reminders; the edit form shows them and saves a removal', async () => {
    const add = form.getByLabel('Add a reminder');
    await add.selectOption('10 min before');
    await add.selectOption('1 hour before');
    await add.selectOption('1 day before');
    await form.getByLabel('Custom reminder time').fill(`${custom}T18:30`);
    await form.getByRole('button', { name: 'Add time' }).click();
    const all = ['At due time', '10 min before', '1 hour before', '1 day before', `${custom} 18:30`];
    assertEqual(await chips(form), all, 'chips');
    assertEqual(await add.isDisabled(), true, 'full at 5');
    assertEqual(await add.locator('option').first().textContent(), 'At most 5 reminders', 'full text');
    const { body } = await apiCall(page, apiUrl, 'POST', /^\/api\/[^/]+\/tasks$/, 201, () => form.getByRole('button', { name: 'Add task' }).click());
    rentId = body.data.id;
    const saved = [{ minutes_before: 0 }, { minutes_before: 10 }, { minutes_before: 60 }, { minutes_before: 1440 }, { at: `${custom}T18:30:00.000Z` }];
    assertEqual(body.data.reminders, saved, 'reminders');
    await eventually(() => chips(form), [], 'the create form emptied');

    await taskItem(page, rentId).getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Edit Pay rent' });
    assertEqual(await chips(edit), all, 'edit form chips');
    await edit.getByRole('button', { name: 'Remove reminder 1 day before' }).click();
    const put = await apiCall(page, apiUrl, 'PUT', /^\/api\/[^/]+\/tasks\/\d+$/, 200, () => edit.getByRole('button', { name: 'Save' }).click());
    assertEqual(put.body.data.reminders, saved.filter((r) => r.minutes_before !== 1440), 'reminders after the edit');
  });

  let dentist = null;
  let fire = null;
  await step('reminders: one that fires while the page is open shows a toast (from the event stream), not before its time', async () => {
    await page.getByRole('button', { name: 'OK' }).click(); // the note
    fire = secondsFromNow(8);
    await form.getByLabel('Title').fill('Call the dentist');
    await form.getByLabel('Custom reminder time').fill(fire.input);
    await form.getByRole('button', { name: 'Add time' }).click();
    const { body } = await apiCall(page, apiUrl, 'POST', /^\/api\/[^/]+\/tasks$/, 201, () => form.getByRole('button', { name: 'Add task' }).click());
    dentist = body.data;
    assertEqual(dentist.reminders, [{ at: fire.iso }], 'reminders');
    assertEqual(await toastTitles(), [], 'no toast before');
    const wait = Date.parse(fire.iso) - Date.now() + 8000;
    const seenAt = await eventually(toastTitles, ['Call the dentist'], 'the toast', wait);
    if (seenAt < Date.parse(fire.iso)) throw new Error(`the toast came ${Date.parse(fire.iso) - seenAt} ms before the reminder's time`);
    assertEqual(await text(page, 'reminder-toast-when'), `For ${fire.shown}`, 'toast time');
    console.log(`        toast ${seenAt - Date.parse(fire.iso)} ms after the reminder's time`);
    await screenshot(page, 'reminders-toast');
  });

  const notifications = () =>
    page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      return (await registration.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
    });
  await step('reminders: a push delivered through the DevTools protocol (ServiceWorker.deliverPushMessage) shows a notification', async () => {
    const [registration] = [...registrations.values()].filter((r) => r.scopeURL === `${origin}/`);
    assertEqual(typeof registration?.registrationId, 'string', 'registration id');
    const message = { type: 'reminder', task: dentist, fire_at: fire.iso }; // what the API pushes
    assertEqual(await notifications(), [], 'notifications before');
    const expected = [{ title: 'Call the dentist', body: 'Reminder', tag: `reminder-${dentist.id}`, data: { url: `/tasks?task=${dentist.id}`, taskId: dentist.id, fire_at: fire.iso } }];
    // A delivery through DevTools was sometimes not shown at all (2 runs of 6 here; the cause is not
    // known): sent again, as a push service retries, at most 3 times. The tag makes a second delivery
    // replace the first, so one notification is still expected.
    for (let attempt = 1; ; attempt++) {
      await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: registration.registrationId, data: JSON.stringify(message) });
      try {
        await eventually(notifications, expected, 'the notification');
        break;
      } catch (e) {
        if (attempt === 3) throw e;
      }
    }
  });

  await step('reminders: clicking the notification (a notificationclick in the service worker) opens its task in the open page', async () => {
    const worker = context.serviceWorkers().find((w) => w.url() === `${origin}/sw.js`);
    if (!worker) throw new Error(`no service worker ${origin}/sw.js: ${context.serviceWorkers().map((w) => w.url())}`);
    assertEqual(await taskItem(page, dentist.id).getAttribute('data-editing'), null, 'not open before');
    const clicked = await worker.evaluate(async () => {
      const [notification] = await self.registration.getNotifications();
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification }));
      return notification.title;
    });
    assertEqual(clicked, 'Call the dentist', 'clicked');
    await eventually(() => taskItem(page, dentist.id).getAttribute('data-editing'), 'true', 'the task open (its edit form)');
    assertEqual(await notifications(), [], 'the notification closed');
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  await step('reminders: /tasks?task=<id> (where a click opens a new window) opens the task', async () => {
    await page.goto(`${origin}/tasks?task=${rentId}`);
    await eventually(() => taskItem(page, rentId).getAttribute('data-editing'), 'true', 'the task open (its edit form)');
    assertEqual(new URL(page.url()).search, '', 'the query removed');
    assertEqual(await page.getByTestId('notify-prompt').count(), 0, 'no prompt on load');
  });

  await step('reminders: a denied permission shows a short note, and the toast still works', async () => {
    const dee = await kit.signUp('Dee');
    const p = dee.page;
    const f = p.getByTestId('create-form');
    const soon = secondsFromNow(6);
    await f.getByLabel('Title').fill('Water the plants');
    await f.getByLabel('Custom reminder time').fill(soon.input);
    await f.getByRole('button', { name: 'Add time' }).click();
    await eventually(() => text(p, 'notify-prompt'), PROMPT, 'the explanation');
    // No grant in this context: headless Chromium answers the browser's prompt "denied" itself.
    await p.getByRole('button', { name: 'Allow notifications' }).click();
    await eventually(() => text(p, 'notify-note'), DENIED, 'the note');
    assertEqual(await permission(p), 'denied', 'Notification.permission');
    await apiCall(p, apiUrl, 'POST', /^\/api\/[^/]+\/tasks$/, 201, () => f.getByRole('button', { name: 'Add task' }).click());
    const wait = Date.parse(soon.iso) - Date.now() + 8000;
    await eventually(() => p.locator('[data-testid=reminder-toast-title]').allTextContents(), ['Water the plants'], 'the toast', wait);
    await screenshot(p, 'reminders-denied');
    await dee.context.close();
  });

  await context.close();
}

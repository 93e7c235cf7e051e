/**
 * Undo, trash, multi-select batches and offline mode (issue 26, point 4), in Chromium:
 *
 *   - a delete shows an undo toast; Undo restores the task from the trash; the toast goes by itself
 *   - the trash view lists a deleted task and restores it
 *   - multi-select: complete, move to another list and delete through ONE POST /tasks/batch each
 *   - offline (`context.setOffline(true)`): create, edit (also the task created offline), complete and
 *     delete; reload while offline (the app shell from the service worker's cache, the queue from
 *     IndexedDB); back online: one batch, and the server holds every change exactly once; a second
 *     tab (another browser context, same user, online all along) sees them live
 *   - a conflict (an offline edit of a task changed elsewhere meanwhile): Keep mine / Take theirs
 *
 * Server state is checked through the API with a token of the second context (online all along);
 * tokens are never printed.
 */
export async function run(kit) {
  const { step, eventually, assertEqual, apiCall, apiUrl, origin, titles, taskItem, text, screenshot, browser, contextOptions, password, sleep } = kit;

  // Better Auth's sign-up rate limit (3 per 10 s per address) is waited out by kit.signUp itself.
  const a = await kit.signUp('Olive');
  const page = a.page;
  const userPath = `/api/${encodeURIComponent(a.user.id)}`;
  let b = null; // the second tab: { context, page }
  const ids = {};
  let errandsId = null;
  let inboxId = null;

  /** The API, as the user, from Node, with a token the second (online) context fetched. */
  async function api(method, path, body) {
    const source = b?.page ?? page;
    const { token } = await source.evaluate(async () => (await fetch('/api/auth/token')).json());
    const headers = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET') headers['idempotency-key'] = `e2e-offline-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const res = await fetch(`${apiUrl}${userPath}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: await res.json().catch(() => null) };
  }
  async function serverTasks() {
    const r = await api('GET', '/tasks?limit=100&sort=title');
    assertEqual(r.status, 200, 'GET /tasks');
    return r.body.data;
  }
  async function trashTitles() {
    const r = await api('GET', '/trash?limit=100');
    assertEqual(r.status, 200, 'GET /trash');
    return r.body.data.map((t) => t.title).sort();
  }
  const byTitle = (page, title) => page.locator('li[data-testid=task]', { has: page.locator('[data-testid=task-title]', { hasText: new RegExp(`^${title.replace(/[()]/g, '\\$&')}$`) }) });
  const sorted = async (p) => (await titles(p)).slice().sort();
  const toastShown = () => page.locator('[data-testid=undo-toast]').count();
  /** How many elements with this test id (kit.text waits on an element that may just have gone). */
  const shown = (p, testid) => p.locator(`[data-testid=${testid}]`).count();
  const batches = () => a.api.filter((r) => r.method === 'POST' && r.path.endsWith('/tasks/batch'));

  await step('offline suite: six tasks and a second list (through the API); a second tab signed in as the same user', async () => {
    for (const title of ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Golf', 'Hotel']) {
      const r = await api('POST', '/tasks', { title });
      assertEqual(r.status, 201, `create ${title}`);
      ids[title] = r.body.data.id;
    }
    const list = await api('POST', '/lists', { name: 'Errands' });
    assertEqual(list.status, 201, 'create list');
    errandsId = list.body.data.id;
    await page.reload();
    await eventually(() => titles(page), ['Hotel', 'Golf', 'Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 1 titles');

    const context = await browser.newContext(contextOptions);
    const p2 = await context.newPage();
    await p2.goto(`${origin}/sign-in`);
    await p2.getByLabel('Email').fill(a.email);
    await p2.getByLabel('Password').fill(password);
    await kit.authTurn();
    await p2.getByRole('button', { name: 'Sign in' }).click();
    await p2.waitForURL(`${origin}/tasks`);
    b = { context, page: p2 };
    await eventually(() => titles(p2), ['Hotel', 'Golf', 'Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 2 titles');
    await eventually(() => p2.locator('[data-testid=live]').getAttribute('data-state'), 'open', 'tab 2 live', 10_000);
    // The service worker controls tab 1 and the app shell is cached (a reload offline needs it).
    await eventually(() => page.evaluate(() => Boolean(navigator.serviceWorker?.controller)), true, 'service worker in control', 15_000);
    await eventually(() => page.locator('[data-testid=offline-shell]').getAttribute('data-ready'), 'true', 'app shell cached', 15_000);
    await eventually(() => page.locator('[data-testid=live]').getAttribute('data-state'), 'open', 'tab 1 live', 10_000);
  });

  await step('delete shows an undo toast; Undo restores the task from the trash (same id), and the second tab sees both', async () => {
    const del = await apiCall(page, apiUrl, 'DELETE', new RegExp(`/tasks/${ids.Delta}$`), 200, () =>
      taskItem(page, ids.Delta).getByRole('button', { name: 'Delete' }).click(),
    );
    await eventually(() => page.locator('[data-testid=undo-toast] span').first().textContent(), 'Deleted “Delta”.', 'toast');
    await eventually(() => titles(page), ['Hotel', 'Golf', 'Charlie', 'Bravo', 'Alpha'], 'tab 1 without Delta');
    await eventually(() => titles(b.page), ['Hotel', 'Golf', 'Charlie', 'Bravo', 'Alpha'], 'tab 2 without Delta', 3000);
    assertEqual(await trashTitles(), ['Delta'], 'trash after the delete');
    await screenshot(page, 'offline-undo-toast');
    const restore = await apiCall(page, apiUrl, 'POST', new RegExp(`/trash/${ids.Delta}/restore$`), 200, () =>
      page.locator('[data-testid=undo-toast]').getByRole('button', { name: 'Undo' }).click(),
    );
    assertEqual(restore.body.message, 'Task restored successfully', 'restore message');
    assertEqual(restore.body.data.id, ids.Delta, 'same id');
    if (restore.at - del.at > 8000) throw new Error('undo took longer than the toast lasts');
    await eventually(() => page.locator('[data-testid=undo-toast] span').first().textContent(), 'Restored “Delta”.', 'toast after undo');
    await eventually(() => titles(page), ['Hotel', 'Golf', 'Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 1 with Delta again');
    await eventually(() => titles(b.page), ['Hotel', 'Golf', 'Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 2 with Delta again', 3000);
    assertEqual(await trashTitles(), [], 'trash after the undo');
    const delta = await api('GET', `/tasks/${ids.Delta}`);
    assertEqual([delta.status, delta.body.data.title], [200, 'Delta'], 'Delta on the server');
  });

  await step('the undo toast goes by itself after about 6 s', async () => {
    await eventually(toastShown, 0, 'the "Restored" toast gone', 5000);
    const r = await apiCall(page, apiUrl, 'DELETE', new RegExp(`/tasks/${ids.Charlie}$`), 200, () =>
      taskItem(page, ids.Charlie).getByRole('button', { name: 'Delete' }).click(),
    );
    await eventually(() => page.locator('[data-testid=undo-toast] span').first().textContent(), 'Deleted “Charlie”.', 'toast');
    const goneAt = await eventually(toastShown, 0, 'toast gone', 9000);
    const lasted = goneAt - r.at;
    if (lasted < 5000 || lasted > 8000) throw new Error(`the toast stayed ${lasted} ms (expected 5-8 s)`);
  });

  await step('trash view: the deleted task is listed and restored from /trash', async () => {
    await page.getByTestId('trash-link').click();
    await page.waitForURL(`${origin}/trash`);
    await eventually(() => titles(page), ['Charlie'], 'trash entries');
    assertEqual(await text(page, 'count'), '1 deleted task', 'trash count');
    await screenshot(page, 'offline-trash');
    const r = await apiCall(page, apiUrl, 'POST', new RegExp(`/trash/${ids.Charlie}/restore$`), 200, () =>
      page.locator('[data-testid=trash-entry]').getByRole('button', { name: 'Restore' }).click(),
    );
    assertEqual(r.body.data.title, 'Charlie', 'restored task');
    await eventually(() => text(page, 'count'), 'The trash is empty', 'empty trash');
    await eventually(() => text(page, 'notice'), 'Restored “Charlie”.', 'notice');
    await eventually(() => titles(b.page), ['Hotel', 'Golf', 'Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 2 with Charlie again', 3000);
    await page.getByTestId('tasks-link').click();
    await page.waitForURL(`${origin}/tasks`);
    await eventually(() => titles(page), ['Hotel', 'Golf', 'Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 1 with Charlie again');
    assertEqual(await trashTitles(), [], 'trash on the server');
    await eventually(() => page.locator('[data-testid=live]').getAttribute('data-state'), 'open', 'tab 1 live', 10_000);
  });

  /** Selects tasks by title, runs `action`, and answers the one POST /tasks/batch it made (its request and answer). */
  async function bulk(names, action) {
    for (const n of names) await byTitle(page, n).getByRole('checkbox', { name: `Select: ${n}` }).check();
    assertEqual(await text(page, 'selected-count'), `${names.length} selected`, 'selected count');
    const before = batches().length;
    const r = await apiCall(page, apiUrl, 'POST', /\/tasks\/batch$/, 200, action);
    await sleep(300);
    assertEqual(batches().length - before, 1, 'POST /tasks/batch requests');
    assertEqual(await shown(page, 'selection-bar'), 0, 'selection cleared');
    // (Chromium does not show a fetch's streamed body to the test: the results say what each operation was.)
    return { results: r.body.data.results };
  }

  await step('multi-select: "Complete selected" completes two tasks through one POST /tasks/batch; the second tab sees it', async () => {
    const { results } = await bulk(['Golf', 'Hotel'], () => page.getByRole('button', { name: 'Complete selected' }).click());
    assertEqual(results.map((r) => [r.status, r.message, r.data.id, r.data.completed]), [[200, 'Task marked as completed', ids.Golf, true], [200, 'Task marked as completed', ids.Hotel, true]], 'results (in the order selected)');
    await eventually(async () => [await taskItem(page, ids.Golf).getAttribute('data-completed'), await taskItem(page, ids.Hotel).getAttribute('data-completed')], ['true', 'true'], 'tab 1');
    await eventually(async () => [await taskItem(b.page, ids.Golf).getAttribute('data-completed'), await taskItem(b.page, ids.Hotel).getAttribute('data-completed')], ['true', 'true'], 'tab 2', 3000);
  });

  await step('multi-select: "Move to list…" Errands moves two tasks through one batch', async () => {
    const { results } = await bulk(['Golf', 'Hotel'], () => page.getByLabel('Move selected to list').selectOption({ label: 'Errands' }));
    assertEqual(results.map((r) => [r.status, r.data.id, r.data.list_id]), [[200, ids.Golf, errandsId], [200, ids.Hotel, errandsId]], 'results');
    const tasks = await serverTasks();
    assertEqual(tasks.filter((t) => t.list_id === errandsId).map((t) => t.title), ['Golf', 'Hotel'], 'in Errands on the server');
    // The page shows one list (the Inbox here: app/tasks/shared-lists.tsx): the two left it, in both tabs.
    await eventually(() => titles(page), ['Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 1: moved out of the Inbox');
    await eventually(() => titles(b.page), ['Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 2: moved out of the Inbox', 3000);
    // Back to the Inbox (one batch through the API) for the steps that follow: both tabs show them again, live.
    inboxId = tasks.find((t) => t.title === 'Alpha').list_id;
    const back = await api('POST', '/tasks/batch', { operations: [ids.Golf, ids.Hotel].map((id) => ({ op: 'move', id, list_id: inboxId })) });
    assertEqual(back.body.data.results.map((r) => [r.status, r.data.list_id]), [[200, inboxId], [200, inboxId]], 'moved back');
    await eventually(() => titles(page), ['Hotel', 'Golf', 'Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 1: back in the Inbox');
    await eventually(() => titles(b.page), ['Hotel', 'Golf', 'Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 2: back in the Inbox', 3000);
  });

  await step('multi-select: "Delete selected" deletes two tasks through one batch; Undo restores both', async () => {
    const { results } = await bulk(['Golf', 'Hotel'], () => page.getByRole('button', { name: 'Delete selected' }).click());
    assertEqual(results.map((r) => [r.status, r.message, r.data.id]), [[200, 'Task deleted successfully', ids.Golf], [200, 'Task deleted successfully', ids.Hotel]], 'results');
    await eventually(() => titles(page), ['Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 1 after the bulk delete');
    await eventually(() => titles(b.page), ['Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 2 after the bulk delete', 3000);
    assertEqual(await trashTitles(), ['Golf', 'Hotel'], 'trash');
    await eventually(() => page.locator('[data-testid=undo-toast] span').first().textContent(), 'Deleted 2 tasks.', 'toast');
    await page.locator('[data-testid=undo-toast]').getByRole('button', { name: 'Undo' }).click();
    await eventually(() => page.locator('[data-testid=undo-toast] span').first().textContent(), 'Restored 2 tasks.', 'toast after undo');
    await eventually(() => titles(page), ['Hotel', 'Golf', 'Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 1 after undo');
    await eventually(() => titles(b.page), ['Hotel', 'Golf', 'Delta', 'Charlie', 'Bravo', 'Alpha'], 'tab 2 after undo', 3000);
    assertEqual(await trashTitles(), [], 'trash after undo');
    const restored = (await serverTasks()).filter((t) => t.title === 'Golf' || t.title === 'Hotel');
    assertEqual(restored.map((t) => [t.title, t.list_id, t.completed]), [['Golf', inboxId, true], ['Hotel', inboxId, true]], 'restored in the Inbox');
  });

  // ---------------------------------------------------------------- offline
  let before = null; // the server's tasks before going offline, by title
  let cursor = null;
  const B_TITLES = ['Hotel', 'Golf', 'Delta', 'Charlie', 'Bravo', 'Alpha'];
  const OFFLINE_TITLES = ['India (renamed)', 'Hotel', 'Golf', 'Delta', 'Bravo', 'Alpha (edited offline)'];

  await step('offline: create, edit, complete and delete are queued (4 then 5 changes), shown pending; nothing reaches the API', async () => {
    before = Object.fromEntries((await serverTasks()).map((t) => [t.title, t]));
    cursor = (await api('GET', '/tasks/changes')).body.data.cursor;
    await eventually(() => titles(page), B_TITLES, 'tab 1 before');
    const seen = a.api.length;
    await a.context.setOffline(true);
    await eventually(() => page.evaluate(() => navigator.onLine), false, 'navigator.onLine');
    await eventually(() => page.locator('[data-testid=offline-banner]').getAttribute('data-online'), 'false', 'offline banner');

    const form = page.getByRole('form', { name: 'New task' });
    await form.getByLabel('Title').fill('India');
    await form.getByRole('button', { name: 'Add task' }).click();
    await eventually(() => titles(page), ['India', ...B_TITLES], 'created offline');
    assertEqual(await byTitle(page, 'India').getAttribute('data-pending'), 'true', 'India pending');

    await taskItem(page, ids.Alpha).getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Edit Alpha' });
    await edit.getByLabel('Title').fill('Alpha (edited offline)');
    await edit.getByRole('button', { name: 'Save' }).click();
    await eventually(() => taskItem(page, ids.Alpha).locator('[data-testid=task-title]').textContent(), 'Alpha (edited offline)', 'edited offline');

    await page.getByRole('checkbox', { name: 'Completed: Bravo' }).click();
    await eventually(() => taskItem(page, ids.Bravo).getAttribute('data-completed'), 'true', 'completed offline');

    await taskItem(page, ids.Charlie).getByRole('button', { name: 'Delete' }).click();
    await eventually(() => page.locator('[data-testid=undo-toast] span').first().textContent(), 'Deleted “Charlie”.', 'toast offline');
    await eventually(() => page.locator('[data-testid=offline-banner]').getAttribute('data-queued'), '4', 'queued');
    assertEqual(await text(page, 'offline-banner'), 'You are offline. 4 changes queued and sent when you are back online.', 'banner');

    // The task created offline, edited offline (by its uid).
    await byTitle(page, 'India').getByRole('button', { name: 'Edit' }).click();
    const editIndia = page.getByRole('form', { name: 'Edit India' });
    await editIndia.getByLabel('Title').fill('India (renamed)');
    await editIndia.getByRole('button', { name: 'Save' }).click();
    await eventually(() => titles(page), OFFLINE_TITLES, 'tab 1 offline');
    await eventually(() => page.locator('[data-testid=offline-banner]').getAttribute('data-queued'), '5', 'queued');
    const pending = await page.locator('li[data-testid=task][data-pending=true] [data-testid=task-title]').allTextContents();
    assertEqual(pending.sort(), ['Alpha (edited offline)', 'Bravo', 'India (renamed)'], 'pending tasks');
    assertEqual(a.api.length, seen, 'API answers seen by tab 1 while offline');
    assertEqual(await titles(b.page), B_TITLES, 'tab 2 unchanged');
    const now = await serverTasks();
    assertEqual(now.map((t) => [t.title, t.version]), Object.values(before).map((t) => [t.title, t.version]), 'server unchanged');
    await screenshot(page, 'offline-queued');
  });

  await step('offline: a reload renders the page from the service worker\'s cache, with the queue from IndexedDB', async () => {
    const res = await page.reload();
    assertEqual(res?.headers()['x-task-shell'], 'cache', 'the document came from the shell cache');
    await eventually(() => titles(page), OFFLINE_TITLES, 'tab 1 after the reload', 10_000);
    await eventually(() => page.locator('[data-testid=offline-banner]').getAttribute('data-queued'), '5', 'queue after the reload');
    const pending = await page.locator('li[data-testid=task][data-pending=true] [data-testid=task-title]').allTextContents();
    assertEqual(pending.sort(), ['Alpha (edited offline)', 'Bravo', 'India (renamed)'], 'pending after the reload');
    assertEqual(await taskItem(page, ids.Bravo).getAttribute('data-completed'), 'true', 'Bravo completed after the reload');
    const stored = await page.evaluate(
      (userId) =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open(`task-outbox-${userId}`);
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const get = open.result.transaction('outbox').objectStore('outbox').get('state');
            get.onsuccess = () => {
              resolve({ ops: get.result.queue.map(({ opId, queuedAt, ...op }) => op), pending: get.result.pending });
              open.result.close();
            };
            get.onerror = () => reject(get.error);
          };
        }),
      a.user.id,
    );
    const uid = stored.ops[0]?.uid;
    // The form's fields as the page sends them (reminders and recurrence from their own fields, empty here).
    const form = (title) => ({ title, description: null, priority: 'none', tags: [], due_at: null, reminders: [], recurrence: null });
    assertEqual(
      stored,
      {
        ops: [
          // A create names the list the page shows (the Inbox: app/tasks/shared-lists.tsx).
          { op: 'create', uid, task: { ...form('India'), list_id: inboxId, uid } },
          { op: 'update', ref: ids.Alpha, task: form('Alpha (edited offline)'), baseVersion: before.Alpha.version },
          { op: 'complete', ref: ids.Bravo, completed: true, occurrence: null },
          { op: 'delete', ref: ids.Charlie, baseVersion: before.Charlie.version },
          { op: 'update', ref: uid, task: form('India (renamed)'), baseVersion: null },
        ],
        pending: null,
      },
      'the outbox in IndexedDB (no flush tried offline)',
    );
    await screenshot(page, 'offline-reloaded');
  });

  await step('back online: one POST /tasks/batch with the five changes; the server holds each exactly once', async () => {
    const before1 = batches().length;
    const answered = page.waitForResponse((r) => r.url().startsWith(apiUrl) && r.request().method() === 'POST' && r.url().endsWith('/tasks/batch'), { timeout: 20_000 });
    await a.context.setOffline(false);
    const res = await answered;
    const at = Date.now();
    assertEqual(res.status(), 200, 'batch status');
    const key = res.request().headers()['idempotency-key'];
    if (!key) throw new Error('the batch had no Idempotency-Key');
    const results = (await res.json()).data.results;
    const uid = results[0]?.data?.uid;
    assertEqual(
      results.map((r) => [r.status, r.message, r.data.title, r.data.version, r.data.completed]),
      [
        [201, 'Task created successfully', 'India', 1, false],
        [200, 'Task updated successfully', 'Alpha (edited offline)', before.Alpha.version + 1, false],
        [200, 'Task marked as completed', 'Bravo', before.Bravo.version + 1, true],
        [200, 'Task deleted successfully', 'Charlie', before.Charlie.version, false],
        [200, 'Task updated successfully', 'India (renamed)', 2, false],
      ],
      'the batch\'s five results, in the order queued',
    );
    assertEqual(results[4].data.uid, uid, 'the update named the created task by its uid');
    await eventually(() => shown(page, 'offline-banner'), 0, 'banner gone', 5000);
    await eventually(() => titles(page), OFFLINE_TITLES, 'tab 1 after the flush');
    await eventually(() => page.locator('li[data-testid=task][data-pending=true]').count(), 0, 'nothing pending');
    // Tab 2, online all along, saw every change live.
    await eventually(() => titles(b.page), OFFLINE_TITLES, 'tab 2 titles', 3000);
    assertEqual(await taskItem(b.page, ids.Bravo).getAttribute('data-completed'), 'true', 'tab 2: Bravo completed');
    console.log(`        tab 2 showed the offline changes ${Date.now() - at} ms after the batch was answered`);
    await sleep(1500); // nothing more may arrive
    assertEqual(batches().length - before1, 1, 'POST /tasks/batch requests after going online');

    const after = await serverTasks();
    assertEqual(
      after.map((t) => [t.title, t.version, t.completed]),
      [
        ['Alpha (edited offline)', before.Alpha.version + 1, false],
        ['Bravo', before.Bravo.version + 1, true],
        ['Delta', before.Delta.version, false],
        ['Golf', before.Golf.version, true],
        ['Hotel', before.Hotel.version, true],
        ['India (renamed)', 2, false],
      ],
      'the server: each change once (versions)',
    );
    assertEqual(after.find((t) => t.title === 'India (renamed)').uid, uid, 'India has the uid the browser gave it');
    assertEqual(await trashTitles(), ['Charlie'], 'Charlie in the trash, once');
    const feed = await api('GET', `/tasks/changes?since=${encodeURIComponent(cursor)}&limit=100`);
    assertEqual(feed.status, 200, 'changes');
    const entries = feed.body.data.changes.map((c) => (c.type === 'delete' ? `delete ${c.id}` : `upsert ${c.task.title}`)).sort();
    assertEqual(entries, [`delete ${ids.Charlie}`, 'upsert Alpha (edited offline)', 'upsert Bravo', 'upsert India (renamed)'], 'the feed since going offline');
    await screenshot(b.page, 'offline-tab2-after-flush');
  });

  await step('a conflict: an offline edit of a task changed elsewhere meanwhile shows Keep mine / Take theirs; Keep mine wins', async () => {
    await eventually(() => page.locator('[data-testid=live]').getAttribute('data-state'), 'open', 'tab 1 live', 10_000);
    const delta = (await serverTasks()).find((t) => t.title === 'Delta');
    await a.context.setOffline(true);
    await eventually(() => page.evaluate(() => navigator.onLine), false, 'navigator.onLine');
    await taskItem(page, ids.Delta).getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Edit Delta' });
    await edit.getByLabel('Title').fill('Delta (mine)');
    await edit.getByRole('button', { name: 'Save' }).click();
    await eventually(() => page.locator('[data-testid=offline-banner]').getAttribute('data-queued'), '1', 'queued');
    const theirs = await api('PUT', `/tasks/${ids.Delta}`, { title: 'Delta (theirs)' });
    assertEqual(theirs.status, 200, 'the other edit');
    await a.context.setOffline(false);
    await eventually(() => page.locator('[data-testid=sync-conflict] > span').first().textContent(), '“Delta (theirs)” was changed elsewhere before your edit (title) was sent.', 'conflict', 10_000);
    await screenshot(page, 'offline-conflict');
    assertEqual((await api('GET', `/tasks/${ids.Delta}`)).body.data.title, 'Delta (theirs)', 'not overwritten');
    await page.locator('[data-testid=sync-conflict]').getByRole('button', { name: 'Keep mine' }).click();
    await eventually(() => shown(page, 'conflicts'), 0, 'conflict gone', 10_000);
    await eventually(async () => (await api('GET', `/tasks/${ids.Delta}`)).body.data.title, 'Delta (mine)', 'mine on the server', 10_000);
    const final = await api('GET', `/tasks/${ids.Delta}`);
    assertEqual(final.body.data.version, delta.version + 2, 'theirs, then mine: two writes');
    await eventually(() => taskItem(page, ids.Delta).locator('[data-testid=task-title]').textContent(), 'Delta (mine)', 'tab 1');
    await eventually(() => taskItem(b.page, ids.Delta).locator('[data-testid=task-title]').textContent(), 'Delta (mine)', 'tab 2', 3000);
  });

  await step('the outbox\'s database deleted by another page (an app update, "clear site data") is let go, and the next offline change opens it anew', async () => {
    const name = `task-outbox-${a.user.id}`;
    const outcome = await page.evaluate(
      (name) =>
        new Promise((resolve) => {
          const r = indexedDB.deleteDatabase(name);
          let blocked = false;
          r.onblocked = () => (blocked = true);
          r.onsuccess = () => resolve(blocked ? 'deleted after being blocked' : 'deleted');
          r.onerror = () => resolve(`error: ${r.error}`);
          setTimeout(() => resolve('still blocked after 3 s'), 3000);
        }),
      name,
    );
    assertEqual(outcome, 'deleted', 'deleteDatabase');
    await a.context.setOffline(true);
    await eventually(() => page.evaluate(() => navigator.onLine), false, 'navigator.onLine');
    const form = page.getByRole('form', { name: 'New task' });
    await form.getByLabel('Title').fill('Lima');
    await form.getByRole('button', { name: 'Add task' }).click();
    await eventually(() => page.locator('[data-testid=offline-banner]').getAttribute('data-queued'), '1', 'queued');
    const stored = await page.evaluate(
      (name) =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open(name);
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const get = open.result.transaction('outbox').objectStore('outbox').get('state');
            get.onsuccess = () => {
              resolve(get.result.queue.map((o) => [o.op, o.task?.title]));
              open.result.close();
            };
          };
        }),
      name,
    );
    assertEqual(stored, [['create', 'Lima']], 'the queue in the new database');
    const answered = page.waitForResponse((r) => r.url().startsWith(apiUrl) && r.request().method() === 'POST' && r.url().endsWith('/tasks/batch'), { timeout: 20_000 });
    await a.context.setOffline(false);
    assertEqual((await (await answered).json()).data.results.map((r) => [r.status, r.data.title]), [[201, 'Lima']], 'the batch');
    await eventually(() => shown(page, 'offline-banner'), 0, 'banner gone', 5000);
    assertEqual((await serverTasks()).filter((t) => t.title === 'Lima').length, 1, 'Lima once on the server');
  });

  let other = null;
  await step('two tabs of one browser: one holds the outbox; offline, the other refuses writes, then takes the queue over when the first closes', async () => {
    await a.context.setOffline(true);
    other = await a.context.newPage();
    const res = await other.goto(`${origin}/tasks`);
    assertEqual(res?.headers()['x-task-shell'], 'cache', 'the second tab opened from the shell cache');
    await eventually(() => other.locator('[data-testid=offline-banner]').getAttribute('data-owner'), 'false', 'the second tab does not hold the outbox');
    assertEqual(await page.locator('[data-testid=offline-banner]').getAttribute('data-owner'), 'true', 'the first tab holds it');
    const form = page.getByRole('form', { name: 'New task' });
    await form.getByLabel('Title').fill('Juliet');
    await form.getByRole('button', { name: 'Add task' }).click();
    await eventually(() => page.locator('[data-testid=offline-banner]').getAttribute('data-queued'), '1', 'queued in the first tab');
    const form2 = other.getByRole('form', { name: 'New task' });
    await form2.getByLabel('Title').fill('Kilo');
    await form2.getByRole('button', { name: 'Add task' }).click();
    await eventually(
      () => text(other, 'error'),
      'You are offline, and another open tab of this app keeps the offline changes: make them there (or close it, and this tab takes over).',
      'the second tab refuses the write',
    );
    await page.close();
    await eventually(() => other.locator('[data-testid=offline-banner]').getAttribute('data-owner'), 'true', 'the second tab took the outbox over', 5000);
    await eventually(() => other.locator('[data-testid=offline-banner]').getAttribute('data-queued'), '1', 'with the first tab\'s queue');
    await eventually(() => other.locator('li[data-testid=task][data-pending=true] [data-testid=task-title]').allTextContents(), ['Juliet'], 'Juliet pending in the second tab');
    const answered = other.waitForResponse((r) => r.url().startsWith(apiUrl) && r.request().method() === 'POST' && r.url().endsWith('/tasks/batch'), { timeout: 20_000 });
    await a.context.setOffline(false);
    assertEqual((await (await answered).json()).data.results.map((r) => [r.status, r.data.title]), [[201, 'Juliet']], 'the batch');
    await eventually(() => shown(other, 'offline-banner'), 0, 'banner gone', 5000);
    const all = (await serverTasks()).map((t) => t.title);
    assertEqual([all.filter((t) => t === 'Juliet').length, all.includes('Kilo')], [1, false], 'Juliet once, no Kilo');
    await eventually(async () => (await titles(b.page)).includes('Juliet'), true, 'tab 2 sees Juliet', 3000);
  });

  await step('sign out: the kept pages and lists and the cached HTML of /tasks and /trash are deleted from the device', async () => {
    // What is kept of the user: the data cache, and the pages in the shell cache (static files are no one's).
    const kept = () =>
      other.evaluate(async () => {
        const names = (await caches.keys()).filter((n) => n.startsWith('task-example-data-'));
        const shell = (await caches.has('task-example-shell-v1')) ? await caches.open('task-example-shell-v1') : null;
        const pages = shell ? (await shell.keys()).map((r) => new URL(r.url).pathname).filter((p) => !p.startsWith('/_next/static/')) : [];
        return [...names, ...pages].sort();
      });
    await eventually(kept, ['/tasks', '/trash', 'task-example-data-v1'], 'kept while signed in');
    await other.getByRole('button', { name: 'Sign out' }).click();
    await other.waitForURL(`${origin}/sign-in?reason=signed-out`);
    await eventually(kept, [], 'kept after sign-out');
    await a.context.setOffline(true);
    const res = await other.goto(`${origin}/tasks`).catch((err) => err);
    assertEqual(res?.headers?.()['x-task-shell'], 'offline', 'offline after sign-out: no copy of the page');
    await a.context.setOffline(false);
  });

  await b?.context.close();
  await a.context.close();
}

/**
 * Shared lists in two browser contexts (two users): Alice makes "Groceries" and shares it as editor
 * (link, copy, open invitations); Bob opens the link and accepts; each sees the other's tasks within
 * 1 s, with the creator's name; Alice assigns a task to Bob; Alice makes Bob a viewer: his page
 * turns read-only and a save he had begun is refused (403, shown); a used link, a link to a member
 * and a revoked link (opened signed out: sign-in first) say why they fail; Bob leaves, joins again,
 * and when Alice removes him his page empties at once, without a reload.
 *
 * Invitation tokens are never printed: every step that handles one redacts it from its error.
 */

/** Runs `fn`; an error's message has every given secret replaced (a URL with a token, say). */
async function redacting(secrets, fn) {
  try {
    return await fn();
  } catch (err) {
    let message = err instanceof Error ? err.message : String(err);
    for (const s of secrets.filter(Boolean)) message = message.split(s).join('[token]');
    throw new Error(message);
  }
}

export async function run(kit) {
  const { step, eventually, assertEqual, apiCall, seenWithin, screenshot, text, titles, taskItem, origin, apiUrl, LIVE_MS } = kit;
  let A;
  let B;
  const s = {};
  const GONE =
    'This invitation link no longer works: it has already been used, the list’s owner revoked it, or it has expired. Ask the owner for a new link.';

  // The sidebar's lists, in order, and the one shown (aria-current).
  const listNames = (page) => page.locator('[data-testid=list-item] [data-testid=list-name]').allTextContents();
  const selectedName = async (page) => {
    const l = page.locator('[data-testid=list-item][aria-current=page] [data-testid=list-name]');
    return (await l.count()) ? l.first().textContent() : null;
  };
  const live = (page) => eventually(() => text(page, 'live'), 'Live updates: on', 'live updates');
  const tokenOf = (link) => link?.slice(link.lastIndexOf('/') + 1);
  const creator = async (page, id) => {
    const l = taskItem(page, id).locator('[data-testid=task-creator]');
    return (await l.count()) ? l.textContent() : null;
  };
  const assignee = async (page, id) => {
    const l = taskItem(page, id).locator('[data-testid=task-assignee]');
    return (await l.count()) ? l.textContent() : null;
  };
  /** What a viewer must (not) see: the create form, the Edit/Delete buttons, enabled checkboxes, the note. */
  const controls = async (page) => ({
    createForm: await page.locator('[data-testid=create-form]').isVisible(),
    editButtons: await page.getByRole('button', { name: 'Edit', exact: true }).count(),
    deleteButtons: await page.getByRole('button', { name: 'Delete', exact: true }).count(),
    enabledCheckboxes: await page.locator('[data-testid=task] input[type=checkbox]:enabled').count(),
    note: await text(page, 'read-only'),
  });

  async function members(page) {
    const panel = page.locator('[data-testid=members]');
    if (!(await panel.count())) await page.getByRole('button', { name: 'Members', exact: true }).click();
    return panel;
  }
  const memberRows = (page) =>
    page.locator('[data-testid=member]').evaluateAll((rows) =>
      rows.map((r) => `${r.querySelector('[data-testid=member-name]')?.textContent} ${r.getAttribute('data-role')}`),
    );

  async function makeLink(role) {
    const page = A.page;
    const dialog = page.getByRole('dialog', { name: 'Share Groceries' });
    if (!(await dialog.count())) await page.getByRole('button', { name: 'Share', exact: true }).click();
    await dialog.getByLabel('Role').selectOption(role);
    const r = await apiCall(page, apiUrl, 'POST', /^\/api\/[^/]+\/lists\/\d+\/invitations$/, 201, () => dialog.getByRole('button', { name: 'Make link' }).click());
    assertEqual(r.body.message, 'Invitation created successfully', 'invite message');
    assertEqual(r.body.data.role, role, 'invitation role');
    assertEqual(r.body.data.token.length, 43, 'token length (256 bits, base64url)');
    const link = await dialog.getByTestId('invite-link').inputValue();
    assertEqual(link === `${origin}/invite/${r.body.data.token}`, true, 'the link is <origin>/invite/<the token of the answer>');
    return { link, id: r.body.data.id, dialog };
  }

  /** The accept page at `link` (signed in as `page`'s user): the API's answer to the accept. */
  function openLink(page, link, status) {
    return redacting([tokenOf(link), encodeURIComponent(tokenOf(link) ?? '')], () =>
      apiCall(page, apiUrl, 'POST', /^\/api\/[^/]+\/invitations\/[^/]+\/accept$/, status, () => page.goto(link)),
    );
  }

  await step('sharing: two users sign up in two browser contexts', async () => {
    A = await kit.signUp('Alice', { permissions: ['clipboard-read', 'clipboard-write'] });
    B = await kit.signUp('Bob');
    await eventually(() => listNames(A.page), ['Inbox'], 'Alice\'s lists');
    await eventually(() => listNames(B.page), ['Inbox'], 'Bob\'s lists');
  });

  await step('sharing: Alice makes the list "Groceries": it is selected, empty, only hers', async () => {
    const page = A.page;
    await page.getByLabel('New list name').fill('Groceries');
    const r = await apiCall(page, apiUrl, 'POST', /^\/api\/[^/]+\/lists$/, 201, () => page.getByRole('button', { name: 'New list', exact: true }).click());
    assertEqual(r.body.message, 'List created successfully', 'create message');
    assertEqual(
      { name: r.body.data.name, role: r.body.data.role, owner_id: r.body.data.owner_id, member_count: r.body.data.member_count, is_default: r.body.data.is_default },
      { name: 'Groceries', role: 'owner', owner_id: A.user.id, member_count: 1, is_default: false },
      'the list',
    );
    s.listId = r.body.data.id;
    await eventually(() => listNames(page), ['Inbox', 'Groceries'], 'Alice\'s lists');
    await eventually(() => selectedName(page), 'Groceries', 'selected list');
    await eventually(() => text(page, 'count'), 'No tasks yet', 'empty list');
    assertEqual(await text(page, 'list-role'), 'Only you', 'sharing state');
    assertEqual(new URL(page.url()).search, `?list=${s.listId}`, 'the address names the list');
    const list = A.api.filter((x) => x.method === 'GET' && x.path.endsWith('/tasks')).at(-1);
    assertEqual(new URLSearchParams(list.query).get('list_id'), String(s.listId), 'the page asks for this list\'s tasks');
    await live(page);
  });

  await step('sharing: Alice makes an editor link, copies it; it is an open invitation', async () => {
    const { link, dialog } = await makeLink('editor');
    s.link = link;
    await dialog.getByRole('button', { name: 'Copy link' }).click();
    await eventually(() => text(A.page, 'copied'), 'Copied. Anyone with the link can join until it is used, revoked or expires.', 'copied');
    const clip = await A.page.evaluate(() => navigator.clipboard.readText());
    assertEqual(clip === link, true, 'the clipboard holds the link');
    await eventually(() => dialog.locator('[data-testid=invitation] .who').allTextContents().then((t) => t.map((x) => x.replace(/ \d{4}-.*/, ''))), ['Editor link, expires'], 'open invitations');
    const listed = A.api.filter((x) => x.method === 'GET' && x.path.endsWith('/invitations')).map((x) => x.status);
    assertEqual(listed.every((st) => st === 200) && listed.length >= 2, true, `GET invitations answered 200 (${listed})`);
  });

  await step('sharing: Bob opens the link, accepts, and sees "Groceries" as its editor; Alice sees him join live', async () => {
    const r = await openLink(B.page, s.link, 200);
    assertEqual(r.body.message, 'Invitation accepted successfully', 'accept message');
    assertEqual({ id: r.body.data.id, name: r.body.data.name, role: r.body.data.role, member_count: r.body.data.member_count }, { id: s.listId, name: 'Groceries', role: 'editor', member_count: 2 }, 'the list joined');
    await B.page.waitForURL(`${origin}/tasks?list=${s.listId}`);
    await eventually(() => selectedName(B.page), 'Groceries', 'Bob\'s selected list');
    await eventually(() => listNames(B.page), ['Inbox', 'Groceries'], 'Bob\'s lists');
    await eventually(() => text(B.page, 'list-role'), 'Shared with 1 · you are its editor', 'Bob\'s role');
    await eventually(() => text(B.page, 'count'), 'No tasks yet', 'Bob sees the empty list');
    await eventually(() => text(A.page, 'list-role'), 'Shared with 1 · you are its owner', 'Alice sees the member');
    await eventually(() => text(A.page, 'no-invitations'), 'No open invitations.', 'the used invitation is no longer open');
    await live(B.page);
    await screenshot(B.page, 'sharing-bob-joined');
  });

  await step('sharing: Alice adds "Milk"; Bob sees it within 1 s, created by Alice', async () => {
    const form = A.page.locator('[data-testid=create-form]');
    await form.getByLabel('Title').fill('Milk');
    const r = await apiCall(A.page, apiUrl, 'POST', /^\/api\/[^/]+\/tasks$/, 201, () => form.getByRole('button', { name: 'Add task' }).click());
    assertEqual({ list_id: r.body.data.list_id, user_id: r.body.data.user_id }, { list_id: s.listId, user_id: A.user.id }, 'created in the list, by Alice');
    s.milk = r.body.data.id;
    const ms = await seenWithin(B.page, r.at, () => titles(B.page), ['Milk'], 'Bob sees Milk');
    console.log(`        (after ${ms} ms)`);
    await eventually(() => creator(B.page, s.milk), 'Created by Alice', 'creator on Bob\'s page');
    await eventually(() => creator(A.page, s.milk), 'Created by you', 'creator on Alice\'s page');
  });

  await step('sharing: Bob adds "Bread"; Alice sees it within 1 s, created by Bob', async () => {
    const form = B.page.locator('[data-testid=create-form]');
    await form.getByLabel('Title').fill('Bread');
    const r = await apiCall(B.page, apiUrl, 'POST', /^\/api\/[^/]+\/tasks$/, 201, () => form.getByRole('button', { name: 'Add task' }).click());
    assertEqual({ list_id: r.body.data.list_id, user_id: r.body.data.user_id }, { list_id: s.listId, user_id: B.user.id }, 'created in the list, by Bob');
    s.bread = r.body.data.id;
    const ms = await seenWithin(A.page, r.at, async () => [await titles(A.page), await creator(A.page, s.bread)], [['Bread', 'Milk'], 'Created by Bob'], 'Alice sees Bread by Bob');
    console.log(`        (after ${ms} ms)`);
  });

  await step('sharing: Alice assigns "Milk" to Bob; Bob sees it within 1 s', async () => {
    const r = await apiCall(A.page, apiUrl, 'PUT', new RegExp(`/tasks/${s.milk}$`), 200, () => taskItem(A.page, s.milk).getByLabel('Assignee of Milk').selectOption(B.user.id));
    assertEqual(r.body.data.assignee_id, B.user.id, 'assignee_id');
    await seenWithin(B.page, r.at, () => assignee(B.page, s.milk), 'Assigned to you', 'Bob sees the assignment');
    await eventually(() => assignee(A.page, s.milk), 'Assigned to Bob', 'Alice\'s page');
  });

  await step('sharing: the members, the owner first, with roles', async () => {
    await members(A.page);
    await eventually(() => memberRows(A.page), ['Alice owner', 'Bob editor'], 'Alice\'s members panel');
    await screenshot(A.page, 'sharing-alice-members'); // the share dialog (with its link) is closed now
    const got = A.api.filter((x) => x.method === 'GET' && x.path.endsWith('/members')).at(-1);
    assertEqual(got?.status, 200, 'GET members status');
    await members(B.page);
    await eventually(() => memberRows(B.page), ['Alice owner', 'Bob editor'], 'Bob\'s members panel');
    assertEqual(await B.page.getByRole('button', { name: 'Remove Alice' }).count(), 0, 'Bob cannot remove');
    assertEqual(await B.page.getByLabel('Role of Alice').count(), 0, 'Bob cannot change roles');
    await B.page.getByRole('button', { name: 'Members', exact: true }).click(); // closes it
  });

  await step('sharing: Alice makes Bob a viewer: his page turns read-only within 1 s; a save he had begun is refused (403), and says so', async () => {
    await taskItem(B.page, s.bread).getByRole('button', { name: 'Edit' }).click();
    const edit = B.page.getByRole('form', { name: 'Edit Bread' });
    await edit.getByLabel('Title').fill('Rye bread');
    const r = await apiCall(A.page, apiUrl, 'PUT', new RegExp(`/lists/${s.listId}/members/`), 200, () => A.page.getByLabel('Role of Bob').selectOption('viewer'));
    assertEqual(r.body.message, 'Member updated successfully', 'role message');
    assertEqual({ user_id: r.body.data.user_id, role: r.body.data.role }, { user_id: B.user.id, role: 'viewer' }, 'the member');
    const readOnly = { createForm: false, editButtons: 0, deleteButtons: 0, enabledCheckboxes: 0, note: 'You can view this list; only its owner and editors change its tasks.' };
    const ms = await seenWithin(B.page, r.at, () => controls(B.page), readOnly, 'Bob\'s page is read-only');
    console.log(`        (after ${ms} ms)`);
    assertEqual(await text(B.page, 'list-role'), 'Shared with 1 · you are its viewer', 'Bob\'s role');
    assertEqual((await B.page.getByLabel('Assignee of Milk').count()) + (await B.page.getByLabel('Assignee of Bread').count()), 0, 'no assignee controls');
    await eventually(() => memberRows(A.page), ['Alice owner', 'Bob viewer'], 'Alice\'s members panel');
    const refused = await apiCall(B.page, apiUrl, 'PUT', new RegExp(`/tasks/${s.bread}$`), 403, () => edit.getByRole('button', { name: 'Save' }).click());
    assertEqual(refused.body.code, 'FORBIDDEN', 'code');
    await eventually(() => text(B.page, 'error'), `${refused.body.detail} (403 FORBIDDEN)`, 'the refusal shown');
    assertEqual(refused.body.detail, 'Changing this list\'s tasks needs the editor role', 'the refusal');
    await edit.getByRole('button', { name: 'Cancel' }).click();
    await eventually(() => titles(A.page), ['Bread', 'Milk'], 'nothing changed');
    await screenshot(B.page, 'sharing-bob-viewer');
  });

  await step('sharing: a used link and a link to a member say why (404, 409); the member\'s link stays open', async () => {
    await openLink(B.page, s.link, 404);
    await eventually(() => text(B.page, 'invite-error'), GONE, 'used link');
    const { link, id, dialog } = await makeLink('editor');
    const r = await openLink(B.page, link, 409);
    assertEqual(r.body.code, 'CONFLICT', 'code');
    await eventually(() => text(B.page, 'invite-error'), 'You are already a member of this list: it is among your lists.', 'already a member');
    await eventually(() => dialog.locator('[data-testid=invitation]').evaluateAll((l) => l.map((e) => Number(e.dataset.id))), [id], 'still open');
    const revoked = await apiCall(A.page, apiUrl, 'DELETE', new RegExp(`/invitations/${id}$`), 200, () =>
      dialog.locator(`[data-testid=invitation][data-id="${id}"]`).getByRole('button', { name: 'Revoke' }).click(),
    );
    assertEqual(revoked.body.message, 'Invitation deleted successfully', 'revoke message');
    await B.page.goto(`${origin}/tasks?list=${s.listId}`);
  });

  await step('sharing: Alice revokes a viewer link; opened signed out it asks to sign in, then says it no longer works', async () => {
    const { link, id, dialog } = await makeLink('viewer');
    const r = await apiCall(A.page, apiUrl, 'DELETE', new RegExp(`/lists/${s.listId}/invitations/${id}$`), 200, () =>
      dialog.locator(`[data-testid=invitation][data-id="${id}"]`).getByRole('button', { name: 'Revoke' }).click(),
    );
    assertEqual({ message: r.body.message, id: r.body.data.id, role: r.body.data.role }, { message: 'Invitation deleted successfully', id, role: 'viewer' }, 'revoked');
    await eventually(() => text(A.page, 'no-invitations'), 'No open invitations.', 'no open invitations');
    assertEqual(await dialog.getByTestId('invite-link').count(), 0, 'the revoked link is no longer shown');
    const ctx = await kit.browser.newContext(kit.contextOptions);
    try {
      const page = await ctx.newPage();
      await redacting([tokenOf(link)], async () => {
        await page.goto(link);
        assertEqual(new URL(page.url()).pathname, '/sign-in', 'signed out: to sign-in');
        assertEqual(await text(page, 'auth-reason'), 'Sign in, or sign up, to accept the invitation to a shared list.', 'why');
        await page.getByLabel('Email').fill(B.email);
        await page.getByLabel('Password').fill(kit.password);
        await kit.authTurn();
        const answer = await apiCall(page, apiUrl, 'POST', /\/accept$/, 404, () => page.getByRole('button', { name: 'Sign in' }).click());
        assertEqual(answer.body.code, 'NOT_FOUND', 'code');
        assertEqual(new URL(page.url()).pathname.startsWith('/invite/'), true, 'back on the invitation');
        await eventually(() => text(page, 'invite-error'), GONE, 'revoked link');
      });
    } finally {
      await ctx.close();
    }
    await members(A.page);
    await eventually(() => memberRows(A.page), ['Alice owner', 'Bob viewer'], 'nothing changed');
  });

  await step('sharing: Bob leaves: his page shows his Inbox; Alice sees him gone', async () => {
    await eventually(() => selectedName(B.page), 'Groceries', 'Bob on Groceries');
    await members(B.page);
    const r = await apiCall(B.page, apiUrl, 'DELETE', new RegExp(`/lists/${s.listId}/members/`), 200, () => B.page.getByRole('button', { name: 'Leave list' }).click());
    assertEqual({ message: r.body.message, user_id: r.body.data.user_id }, { message: 'Member removed successfully', user_id: B.user.id }, 'left');
    await eventually(() => listNames(B.page), ['Inbox'], 'Bob\'s lists');
    await eventually(() => titles(B.page), [], 'Bob\'s Inbox');
    assertEqual(await text(B.page, 'lists-notice'), 'You left “Groceries”.', 'notice');
    await seenWithin(A.page, r.at, () => text(A.page, 'list-role'), 'Only you', 'Alice sees Bob gone');
    await eventually(() => memberRows(A.page), ['Alice owner'], 'Alice\'s members');
    await eventually(() => assignee(A.page, s.milk), null, 'Milk no longer assigned (the API resets it)');
  });

  await step('sharing: Bob joins again; Alice removes him: his page empties at once, without a reload', async () => {
    const { link } = await makeLink('editor');
    await openLink(B.page, link, 200);
    await B.page.waitForURL(`${origin}/tasks?list=${s.listId}`);
    await eventually(() => titles(B.page), ['Bread', 'Milk'], 'Bob sees the tasks again');
    await live(B.page);
    await B.page.evaluate(() => {
      window.__sameDocument = true;
    });
    await members(A.page);
    await eventually(() => memberRows(A.page), ['Alice owner', 'Bob editor'], 'Alice\'s members');
    const r = await apiCall(A.page, apiUrl, 'DELETE', new RegExp(`/lists/${s.listId}/members/`), 200, () => A.page.getByRole('button', { name: 'Remove Bob' }).click());
    assertEqual({ message: r.body.message, user_id: r.body.data.user_id, role: r.body.data.role }, { message: 'Member removed successfully', user_id: B.user.id, role: 'editor' }, 'removed');
    const ms = await seenWithin(
      B.page,
      r.at,
      async () => ({ lists: await listNames(B.page), titles: await titles(B.page) }),
      { lists: ['Inbox'], titles: [] },
      'Bob\'s page empties',
    );
    console.log(`        (after ${ms} ms, LIVE_MS ${LIVE_MS})`);
    assertEqual(await B.page.evaluate(() => window.__sameDocument === true), true, 'no reload');
    await eventually(() => text(B.page, 'lists-notice'), 'You no longer have access to “Groceries”.', 'notice');
    assertEqual(new URL(B.page.url()).search, '', 'the address is the Inbox\'s');
    await eventually(() => memberRows(A.page), ['Alice owner'], 'Alice\'s members');
    assertEqual(await titles(A.page), ['Bread', 'Milk'], 'the tasks stay in the list');
    await screenshot(B.page, 'sharing-bob-removed');
    await A.context.close();
    await B.context.close();
  });
}

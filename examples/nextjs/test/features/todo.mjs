/**
 * The todo app: the first page rendered on the server, the sidebar (views, lists: create, rename,
 * reorder by mouse and by keyboard, delete), the one-line quick add, tasks reordered by drag-and-drop
 * (mouse and keyboard) and seen live in a second tab, subtasks (add, indent, outdent, collapse,
 * progress), moving a task to another list, the All tasks, Today and Upcoming views, overdue and
 * today marks, empty states, keyboard shortcuts, and the phone layout (390x844). Screenshots at
 * desktop and phone sizes.
 */
const EMPTY_LIST = 'Type a task in the box above and press Enter. Press n to get there from anywhere, ? for every shortcut.';
const EMPTY_TODAY = 'Nothing due today or overdue. Give a task a due date to plan your day.';
const EMPTY_UPCOMING = 'Nothing due in the next 7 days. Tasks with a due date show here, by day.';

/** A datetime-local value `days` from today (UTC, as the browser runs) at `hh:mm`. */
function dueIn(days, hhmm) {
  const d = new Date(Date.now() + days * 86_400_000);
  return `${d.toISOString().slice(0, 10)}T${hhmm}`;
}
/** The Upcoming view's heading of the day `days` from today (en-GB, UTC). */
function dayHeading(days) {
  if (days === 1) return 'Tomorrow';
  const d = new Date(Date.now() + days * 86_400_000);
  return d.toLocaleDateString('en-GB', { weekday: 'long', day: 'numeric', month: 'long', timeZone: 'UTC' });
}

export async function run(kit) {
  const { step, eventually, assertEqual, apiCall, seenWithin, screenshot, text, titles, taskItem, origin, apiUrl, sleep } = kit;
  let A;
  let tab2;
  const ids = {};
  const lists = {};

  const listNames = (page) => page.locator('[data-testid=list-item] [data-testid=list-name]').allTextContents();
  const listItem = (page, name) => page.locator('[data-testid=list-item]', { has: page.locator('[data-testid=list-name]', { hasText: new RegExp(`^${name}$`) }) });
  const openList = async (page, name) => {
    await listItem(page, name).locator('[data-testid=list-name]').click();
    await eventually(() => text(page, 'page-title'), name, `${name} shown`);
  };
  const openView = async (page, kind, title) => {
    await page.locator(`[data-testid=view-item][data-view=${kind}]`).click();
    await eventually(() => text(page, 'page-title'), title, `${title} shown`);
  };
  const quickAdd = async (page, title, fill) => {
    const form = page.getByTestId('create-form');
    await form.getByLabel('Title').fill(title);
    if (fill) await fill(form);
    const r = await apiCall(page, apiUrl, 'POST', /^\/api\/[^/]+\/tasks$/, 201, () => form.getByLabel('Title').press('Enter'));
    assertEqual(r.body.data.title, title, 'created title');
    return r.body.data;
  };
  const depthOf = async (page, id) => {
    const item = taskItem(page, id);
    return (await item.count()) ? item.getAttribute('data-depth') : null;
  };
  const progressOf = async (page, id) => {
    const l = taskItem(page, id).locator('[data-testid=task-progress]');
    return (await l.count()) ? (await l.textContent())?.trim() : null;
  };
  /** A mouse drag with dnd-kit's pointer sensor: press on the handle, move in steps, drop on the target's centre. */
  async function drag(page, handle, target) {
    const a = await handle.boundingBox();
    const b = await target.boundingBox();
    if (!a || !b) throw new Error('nothing to drag or no target');
    await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
    await page.mouse.down();
    await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2 + 8, { steps: 4 });
    await page.mouse.move(b.x + Math.min(b.width / 2, 60), b.y + b.height / 2, { steps: 15 });
    await sleep(150);
    await page.mouse.up();
  }
  /** dnd-kit's keyboard sensor: focus the handle, Space, arrows, Space. */
  async function keyboardMove(page, handle, key, times) {
    await handle.focus();
    await page.keyboard.press('Space');
    await sleep(150);
    for (let i = 0; i < times; i++) {
      await page.keyboard.press(key);
      await sleep(150);
    }
    await page.keyboard.press('Space');
  }

  await step('todo: a new user sees the sidebar (views, the Inbox), an empty state that says what to do, and empty Today and Upcoming', async () => {
    A = await kit.signUp('Tina');
    const page = A.page;
    assertEqual(await page.locator('[data-testid=view-item]').allTextContents(), ['☀Today', '▦Upcoming', '≡All tasks'], 'views');
    await eventually(() => listNames(page), ['Inbox'], 'lists');
    assertEqual(await text(page, 'page-title'), 'Inbox', 'title');
    await eventually(() => text(page, 'empty'), EMPTY_LIST, 'empty Inbox');
    assertEqual(await page.getByRole('button', { name: 'Delete Inbox' }).count(), 0, 'the Inbox cannot be deleted');
    await openView(page, 'today', 'Today');
    await eventually(() => text(page, 'empty'), EMPTY_TODAY, 'empty Today');
    await openView(page, 'upcoming', 'Upcoming');
    await eventually(() => text(page, 'empty'), EMPTY_UPCOMING, 'empty Upcoming');
    assertEqual(new URL(page.url()).search, '?view=upcoming', 'the address names the view');
    await openList(page, 'Inbox');
    await screenshot(page, 'todo-desktop-empty');
  });

  await step('todo: lists: create "Work", "Home" and "Errands"; rename "Home" to "Household"; Share from the sidebar', async () => {
    const page = A.page;
    for (const name of ['Work', 'Home', 'Errands']) {
      await page.getByLabel('New list name').fill(name);
      const r = await apiCall(page, apiUrl, 'POST', /^\/api\/[^/]+\/lists$/, 201, () => page.getByLabel('New list name').press('Enter'));
      lists[name] = r.body.data.id;
      await eventually(() => text(page, 'page-title'), name, `${name} selected`);
    }
    await eventually(() => listNames(page), ['Inbox', 'Work', 'Home', 'Errands'], 'lists');
    await page.getByRole('button', { name: 'Rename Home' }).click();
    await page.getByLabel('New name of Home').fill('Household');
    const r = await apiCall(page, apiUrl, 'PUT', new RegExp(`/lists/${lists.Home}$`), 200, () => page.getByLabel('New name of Home').press('Enter'));
    assertEqual(r.body.data.name, 'Household', 'renamed');
    await eventually(() => listNames(page), ['Inbox', 'Work', 'Household', 'Errands'], 'renamed in the sidebar');
    lists.Household = lists.Home;
    // Sharing is reachable from the sidebar: the list opens with its share dialog.
    await page.getByRole('button', { name: 'Share Work' }).click();
    await eventually(() => text(page, 'page-title'), 'Work', 'Work shown');
    await eventually(() => page.getByRole('dialog', { name: 'Share Work' }).count(), 1, 'the share dialog');
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await eventually(() => page.getByRole('dialog', { name: 'Share Work' }).count(), 0, 'closed again');
  });

  await step('todo: lists: reorder by mouse drag ("Errands" above "Work") and by keyboard ("Work" down one)', async () => {
    const page = A.page;
    const r = await apiCall(page, apiUrl, 'POST', new RegExp(`/lists/${lists.Errands}/move$`), 200, () =>
      drag(page, page.getByRole('button', { name: 'Reorder Errands' }), listItem(page, 'Work')),
    );
    assertEqual(r.body.message, 'List moved successfully', 'move message');
    await eventually(() => listNames(page), ['Inbox', 'Errands', 'Work', 'Household'], 'after the drag');
    const k = await apiCall(page, apiUrl, 'POST', new RegExp(`/lists/${lists.Work}/move$`), 200, () =>
      keyboardMove(page, page.getByRole('button', { name: 'Reorder Work' }), 'ArrowDown', 1),
    );
    assertEqual(k.body.data.id, lists.Work, 'the keyboard moved Work');
    await eventually(() => listNames(page), ['Inbox', 'Errands', 'Household', 'Work'], 'after the keyboard move');
    await page.reload();
    await eventually(() => listNames(page), ['Inbox', 'Errands', 'Household', 'Work'], 'the order kept after a reload');
  });

  await step('todo: lists: delete "Errands" (after a confirmation)', async () => {
    const page = A.page;
    await page.getByRole('button', { name: 'Delete Errands' }).click();
    await eventually(() => page.getByRole('alertdialog', { name: 'Delete Errands?' }).textContent(), 'Delete “Errands” and its tasks?Delete listKeep it', 'asks first');
    const r = await apiCall(page, apiUrl, 'DELETE', new RegExp(`/lists/${lists.Errands}$`), 200, () => page.getByRole('button', { name: 'Delete list' }).click());
    assertEqual(r.body.message, 'List deleted successfully', 'delete message');
    await eventually(() => listNames(page), ['Inbox', 'Household', 'Work'], 'after the delete');
  });

  await step('todo: quick add: a title and Enter adds a task; details on demand (priority, due) from the same line', async () => {
    const page = A.page;
    await openList(page, 'Household');
    assertEqual(await page.getByTestId('create-form').getByLabel('Priority').isVisible(), false, 'details hidden until the line is used');
    ids.dishes = (await quickAdd(page, 'Do the dishes')).id;
    ids.laundry = (await quickAdd(page, 'Laundry', async (form) => form.getByLabel('Priority').selectOption('high'))).id;
    ids.plants = (await quickAdd(page, 'Water the plants')).id;
    await eventually(() => titles(page), ['Water the plants', 'Laundry', 'Do the dishes'], 'newest first');
    assertEqual(await taskItem(page, ids.laundry).locator('[data-testid=task-priority]').textContent(), 'High', 'priority from the details');
    assertEqual(await page.getByTestId('create-form').getByLabel('Title').inputValue(), '', 'the line is empty again');
  });

  await step('todo: the first page is rendered by the server (its HTML holds the tasks)', async () => {
    const res = await A.context.request.get(`${origin}/tasks?list=${lists.Household}`);
    assertEqual(res.status(), 200, 'GET /tasks');
    const html = await res.text();
    for (const t of ['Do the dishes', 'Laundry', 'Water the plants', 'Household', 'Inbox']) if (!html.includes(t)) throw new Error(`the server's HTML has no "${t}"`);
  });

  await step('todo: tasks reordered by mouse drag in "My order", seen live in a second tab within 1 s; and by keyboard', async () => {
    const page = A.page;
    await page.getByTestId('filters').getByLabel('Sort').selectOption('position');
    await eventually(() => titles(page), ['Do the dishes', 'Laundry', 'Water the plants'], 'my order (as added)');
    tab2 = await A.context.newPage();
    await tab2.goto(`${origin}/tasks?list=${lists.Household}`);
    await tab2.getByTestId('filters').getByLabel('Sort').selectOption('position');
    await eventually(() => titles(tab2), ['Do the dishes', 'Laundry', 'Water the plants'], 'tab 2 in my order');
    await eventually(() => text(tab2, 'live'), 'Live updates: on', 'tab 2 live');
    await page.bringToFront();
    const r = await apiCall(page, apiUrl, 'POST', new RegExp(`/tasks/${ids.plants}/move$`), 200, () =>
      drag(page, taskItem(page, ids.plants).getByRole('button', { name: 'Drag', exact: true }), taskItem(page, ids.dishes)),
    );
    assertEqual(r.body.message, 'Task moved successfully', 'move message');
    const order = ['Water the plants', 'Do the dishes', 'Laundry'];
    await eventually(() => titles(page), order, 'after the drag');
    const ms = await seenWithin(tab2, r.at, () => titles(tab2), order, 'reorder');
    console.log(`        (tab 2 after ${ms} ms)`);
    await apiCall(page, apiUrl, 'POST', new RegExp(`/tasks/${ids.laundry}/move$`), 200, () =>
      keyboardMove(page, taskItem(page, ids.laundry).getByRole('button', { name: 'Drag', exact: true }), 'ArrowUp', 2),
    );
    const order2 = ['Laundry', 'Water the plants', 'Do the dishes'];
    await eventually(() => titles(page), order2, 'after the keyboard move');
    await eventually(() => titles(tab2), order2, 'tab 2 after the keyboard move', 2000);
  });

  await step('todo: subtasks: add two in the details, progress on the parent, complete one', async () => {
    const page = A.page;
    await taskItem(page, ids.laundry).getByRole('button', { name: 'Edit' }).click();
    const subtasks = page.getByRole('region', { name: 'Subtasks of Laundry' });
    for (const t of ['Wash', 'Dry']) {
      await subtasks.getByLabel('New subtask').fill(t);
      const r = await apiCall(page, apiUrl, 'POST', /^\/api\/[^/]+\/tasks$/, 201, () => subtasks.getByRole('button', { name: 'Add subtask' }).click());
      assertEqual(r.body.data.parent_id, ids.laundry, `${t}'s parent`);
      ids[t.toLowerCase()] = r.body.data.id;
    }
    await eventually(() => subtasks.locator('[data-testid=subtask]').allTextContents(), ['☐ Wash', '☐ Dry'], 'subtasks in the details');
    await page.getByRole('form', { name: 'Edit Laundry' }).getByRole('button', { name: 'Cancel' }).click();
    await eventually(() => titles(page), ['Laundry', 'Wash', 'Dry', 'Water the plants', 'Do the dishes'], 'subtasks under their parent');
    assertEqual([await depthOf(page, ids.wash), await depthOf(page, ids.dry)], ['1', '1'], 'indented');
    assertEqual(await progressOf(page, ids.laundry), '0/2', 'progress');
    await apiCall(page, apiUrl, 'PATCH', new RegExp(`/tasks/${ids.wash}/complete$`), 200, () => page.getByRole('checkbox', { name: 'Completed: Wash' }).click());
    await eventually(() => progressOf(page, ids.laundry), '1/2', 'progress after one done');
  });

  await step('todo: subtasks: indent (Tab on the selected task) and outdent (Shift+Tab), collapse and expand', async () => {
    const page = A.page;
    await taskItem(page, ids.dishes).locator('.task-meta, .task-head').first().click({ position: { x: 400, y: 8 } });
    await eventually(() => taskItem(page, ids.dishes).getAttribute('data-cursor'), 'true', 'selected');
    const r = await apiCall(page, apiUrl, 'POST', new RegExp(`/tasks/${ids.dishes}/move$`), 200, () => page.keyboard.press('Tab'));
    assertEqual(r.body.data.parent_id, ids.plants, 'under the task above');
    await eventually(() => depthOf(page, ids.dishes), '1', 'indented');
    await eventually(() => progressOf(page, ids.plants), '0/1', 'the new parent\'s progress');
    const o = await apiCall(page, apiUrl, 'POST', new RegExp(`/tasks/${ids.dishes}/move$`), 200, () => page.keyboard.press('Shift+Tab'));
    assertEqual(o.body.data.parent_id, null, 'top level again');
    await eventually(() => depthOf(page, ids.dishes), '0', 'outdented');
    await eventually(() => progressOf(page, ids.plants), null, 'no subtasks');
    await page.getByRole('button', { name: 'Collapse Laundry' }).click();
    await eventually(() => titles(page), ['Laundry', 'Water the plants', 'Do the dishes'], 'collapsed');
    await screenshot(page, 'todo-desktop-subtasks-collapsed');
    await page.getByRole('button', { name: 'Expand Laundry' }).click();
    await eventually(() => titles(page), ['Laundry', 'Wash', 'Dry', 'Water the plants', 'Do the dishes'], 'expanded');
    await screenshot(page, 'todo-desktop-list');
  });

  await step('todo: move a task (with its subtasks) to another list from its details', async () => {
    const page = A.page;
    await taskItem(page, ids.laundry).getByRole('button', { name: 'Edit' }).click();
    const r = await apiCall(page, apiUrl, 'POST', new RegExp(`/tasks/${ids.laundry}/move$`), 200, () => page.getByLabel('Move to list').selectOption(String(lists.Work)));
    assertEqual(r.body.data.list_id, lists.Work, 'moved to Work');
    await eventually(() => titles(page), ['Water the plants', 'Do the dishes'], 'gone from Household');
    await openList(page, 'Work');
    await eventually(() => titles(page), ['Dry', 'Wash', 'Laundry'], 'in Work, with its subtasks');
  });

  await step('todo: a task dragged onto a list of the sidebar moves there', async () => {
    const page = A.page;
    ids.bike = (await quickAdd(page, 'Fix the bike')).id;
    await eventually(() => titles(page), ['Fix the bike', 'Dry', 'Wash', 'Laundry'], 'in Work');
    const r = await apiCall(page, apiUrl, 'POST', new RegExp(`/tasks/${ids.bike}/move$`), 200, () =>
      drag(page, taskItem(page, ids.bike).getByRole('button', { name: 'Drag', exact: true }), listItem(page, 'Inbox')),
    );
    assertEqual(await listItem(page, 'Inbox').getAttribute('data-id'), String(r.body.data.list_id), 'moved to the Inbox');
    await eventually(() => titles(page), ['Dry', 'Wash', 'Laundry'], 'gone from Work');
    await openList(page, 'Inbox');
    await eventually(() => titles(page), ['Fix the bike'], 'in the Inbox');
    await openList(page, 'Work');
  });

  await step('todo: overdue and today marked; the All tasks view across lists', async () => {
    const page = A.page;
    // The marks depend on the hour the suite runs: "Call mom" at 23:00 today is overdue from 23:00
    // on. The page's clock is held at noon (UTC) of today from here on, its timers still running.
    await page.clock.setFixedTime(`${new Date().toISOString().slice(0, 10)}T12:00:00Z`);
    ids.rent = (await quickAdd(page, 'Pay rent', (f) => f.getByLabel('Due').fill(dueIn(-1, '09:00')))).id;
    ids.call = (await quickAdd(page, 'Call mom', (f) => f.getByLabel('Due').fill(dueIn(0, '23:00')))).id;
    ids.dentist = (await quickAdd(page, 'Dentist', (f) => f.getByLabel('Due').fill(dueIn(2, '10:00')))).id;
    ids.trip = (await quickAdd(page, 'Book the trip', (f) => f.getByLabel('Due').fill(dueIn(12, '10:00')))).id;
    const mark = async (id) => ({
      due: await taskItem(page, id).getAttribute('data-due'),
      badge: (await taskItem(page, id).locator('[data-testid=task-mark]').allTextContents()),
    });
    await eventually(() => mark(ids.rent), { due: 'overdue', badge: ['Overdue'] }, 'overdue');
    assertEqual(await mark(ids.call), { due: 'today', badge: ['Today'] }, 'today');
    assertEqual(await mark(ids.dentist), { due: null, badge: [] }, 'later');
    await openView(page, 'all', 'All tasks');
    await eventually(
      async () => (await titles(page)).slice().sort(),
      ['Book the trip', 'Call mom', 'Dentist', 'Do the dishes', 'Dry', 'Fix the bike', 'Laundry', 'Pay rent', 'Wash', 'Water the plants'],
      'every list\'s tasks',
    );
    assertEqual(await taskItem(page, ids.dishes).locator('[data-testid=task-list]').textContent(), 'Household', 'the list of each task');
    await screenshot(page, 'todo-desktop-all');
  });

  await step('todo: Today (overdue and due today) and Upcoming (the next 7 days, by day); a task added in Today is due today', async () => {
    const page = A.page;
    await openView(page, 'today', 'Today');
    await eventually(() => titles(page), ['Pay rent', 'Call mom'], 'Today');
    const added = await quickAdd(page, 'Buy stamps');
    assertEqual(new Date(added.due_at).toISOString().slice(0, 10), new Date().toISOString().slice(0, 10), 'due today');
    await eventually(() => titles(page), ['Pay rent', 'Call mom', 'Buy stamps'], 'Today with the new task (due 23:59)');
    await screenshot(page, 'todo-desktop-today');
    await openView(page, 'upcoming', 'Upcoming');
    await eventually(() => page.locator('[data-testid=day-heading]').allTextContents(), [dayHeading(2)], 'days');
    assertEqual(await titles(page), ['Dentist'], 'Upcoming (the trip is beyond 7 days)');
    await screenshot(page, 'todo-desktop-upcoming');
  });

  await step('todo: keyboard shortcuts: n focuses the quick add, j selects, x completes, ? lists them, Delete deletes (with Undo)', async () => {
    const page = A.page;
    await openList(page, 'Household');
    await page.locator('body').click({ position: { x: 600, y: 5 } });
    await page.keyboard.press('n');
    assertEqual(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'title', 'n: the quick add has the focus');
    await page.keyboard.type('Not added');
    assertEqual(await page.getByTestId('create-form').getByLabel('Title').inputValue(), 'Not added', 'typing goes into it, no shortcut fires');
    await page.getByTestId('create-form').getByLabel('Title').fill('');
    await page.keyboard.press('Escape');
    await page.keyboard.press('j');
    await eventually(() => page.locator('li[data-cursor=true] [data-testid=task-title]').allTextContents(), ['Water the plants'], 'j selects the first task');
    const r = await apiCall(page, apiUrl, 'PATCH', new RegExp(`/tasks/${ids.plants}/complete$`), 200, () => page.keyboard.press('x'));
    assertEqual(r.body.data.completed, true, 'x completes');
    await eventually(() => taskItem(page, ids.plants).getAttribute('data-completed'), 'true', 'shown completed');
    await page.keyboard.press('?');
    await eventually(() => page.getByRole('dialog', { name: 'Keyboard shortcuts' }).locator('kbd').count(), 8, 'the shortcuts listed');
    await screenshot(page, 'todo-desktop-shortcuts');
    await page.keyboard.press('Escape');
    assertEqual(await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).count(), 0, 'closed');
    await page.keyboard.press('j');
    await eventually(() => page.locator('li[data-cursor=true] [data-testid=task-title]').allTextContents(), ['Do the dishes'], 'j: the next one');
    await page.keyboard.press('k');
    await eventually(() => page.locator('li[data-cursor=true] [data-testid=task-title]').allTextContents(), ['Water the plants'], 'k: the one above');
    await page.keyboard.press('j');
    const d = await apiCall(page, apiUrl, 'DELETE', new RegExp(`/tasks/${ids.dishes}$`), 200, () => page.keyboard.press('Delete'));
    assertEqual(d.body.message, 'Task deleted successfully', 'deleted');
    await eventually(() => page.locator('[data-testid=undo-toast] span').first().textContent(), 'Deleted “Do the dishes”.', 'the undo toast');
    await eventually(() => titles(page), ['Water the plants'], 'after the delete');
  });

  await step('todo: phone (390x844): the sidebar is a drawer, lists reachable, quick add works', async () => {
    const page = A.page;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await eventually(() => text(page, 'page-title'), 'Household', 'the list');
    const sidebarX = async () => Math.round((await page.getByTestId('sidebar').boundingBox())?.x ?? -1);
    await eventually(async () => (await sidebarX()) < 0, true, 'the sidebar is off screen');
    await screenshot(page, 'todo-phone-list');
    await page.getByRole('button', { name: 'Lists', exact: true }).click();
    await eventually(sidebarX, 0, 'the drawer is open');
    await sleep(300);
    await screenshot(page, 'todo-phone-drawer');
    await openList(page, 'Work');
    await eventually(async () => (await sidebarX()) < 0, true, 'the drawer closed after choosing');
    await quickAdd(page, 'Phone task');
    await eventually(async () => (await titles(page))[0], 'Phone task', 'added on the phone');
    await screenshot(page, 'todo-phone-added');
    await page.setViewportSize({ width: 1100, height: 900 });
  });

  await step('todo: close', async () => {
    await tab2?.close();
    await A.context.close();
  });
}

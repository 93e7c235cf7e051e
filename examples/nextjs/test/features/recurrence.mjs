/**
 * Recurring tasks (issue 24, point 6) in Chromium with the browser in Europe/Berlin: the picker
 * (daily, weekdays, weekly on chosen days, monthly on a day or on "the last Friday", yearly, custom
 * RRULE text, from due or from completion, the browser's time zone by default), the rule in words,
 * completing moves the task to its next date, Skip, the completion history, editing the rule.
 * Every write is checked in the API's answer (the stored recurrence, repeat_from, time_zone, due_at).
 * The due dates are in 2030, so each next occurrence is exact (2030-03-31 is the change to summer time).
 */

const TASKS = /^\/api\/[^/]+\/tasks$/;
const ZONE = 'Europe/Berlin';

/** An instant as "YYYY-MM-DD HH:MM" in Berlin. */
function berlin(iso) {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(iso))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

export async function run(kit) {
  const { step, eventually, assertEqual, apiCall, screenshot, apiUrl, sleep } = kit;
  let rita;
  let page;
  const form = () => page.getByTestId('create-form');
  const row = (id) => kit.taskItem(page, id);
  const textOf = async (locator) => ((await locator.count()) ? (await locator.first().textContent())?.trim() : null);
  const rowText = (id, testid) => textOf(row(id).getByTestId(testid));
  const fields = (t) => ({ recurrence: t.recurrence, repeat_from: t.repeat_from, time_zone: t.time_zone, due_at: t.due_at, completed: t.completed });

  /** Fills the new-task form (title, due, then `pick(form)`), checks the preview, submits; the API's task. */
  async function create(title, due, pick, preview) {
    const f = form();
    await f.getByLabel('Title').fill(title);
    await f.getByLabel('Due').fill(due);
    await pick(f);
    if (preview !== undefined) await eventually(() => textOf(f.getByTestId('recurrence-preview')), preview, `${title}: the preview`);
    const { body } = await apiCall(page, apiUrl, 'POST', TASKS, 201, () => f.getByRole('button', { name: 'Add task' }).click());
    await eventually(async () => (await row(body.data.id).count()) > 0, true, `${title}: in the list`);
    return body.data;
  }
  const repeat = (f, label) => f.getByLabel('Repeat', { exact: true }).selectOption({ label });
  /**
   * Completes a task from its checkbox; the API's answer. (The page sends `{completed: true,
   * occurrence: <due_at shown>}`, tasks.completeOccurrence; Chromium does not show the tests the
   * body of a fetch of a cloned Request, so the client's own tests check that body's effect.)
   */
  async function complete(task) {
    const { body } = await apiCall(page, apiUrl, 'PATCH', new RegExp(`/tasks/${task.id}/complete$`), 200, () =>
      row(task.id).getByRole('checkbox', { name: `Completed: ${task.title}` }).click(),
    );
    assertEqual(body.message, 'Task marked as completed', 'message');
    return { task: body.data };
  }

  await step('recurrence: Rita signs up with the browser in Europe/Berlin; the picker offers that zone', async () => {
    // Better Auth's sign-up rate limit (3 per 10 s per address) is waited out by kit.signUp itself.
    try {
      rita = await kit.signUp('Rita', { timezoneId: ZONE });
    } catch (err) {
      // The sign-up page as it was (signUp shoots a user's page only once signed up).
      const pages = kit.browser.contexts().flatMap((c) => c.pages());
      if (pages.length) await screenshot(pages[pages.length - 1], 'recurrence-sign-up-failed');
      throw err;
    }
    page = rita.page;
    assertEqual(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone), ZONE, 'browser zone');
    await form().getByLabel('Title').click(); // the quick add's details open once its line is used
    await repeat(form(), 'Daily');
    assertEqual(await form().getByLabel('Time zone').inputValue(), ZONE, 'time zone field');
    assertEqual(await form().getByLabel('Repeat from').inputValue(), 'due', 'repeat from');
    await repeat(form(), 'Does not repeat');
    assertEqual(await textOf(form().getByTestId('recurrence-preview')), 'Does not repeat', 'preview');
  });

  const ids = {};
  let weekly;
  await step('recurrence: weekly on Monday and Thursday, in words, stored as FREQ=WEEKLY;BYDAY=MO,TH in Europe/Berlin', async () => {
    weekly = await create(
      'Team sync',
      '2030-03-25T09:00',
      async (f) => {
        await repeat(f, 'Weekly');
        await f.getByLabel('Monday', { exact: true }).check();
        await f.getByLabel('Thursday', { exact: true }).check();
      },
      'every Monday and Thursday at 09:00, Europe/Berlin',
    );
    assertEqual(
      fields(weekly),
      { recurrence: 'FREQ=WEEKLY;BYDAY=MO,TH', repeat_from: 'due', time_zone: ZONE, due_at: '2030-03-25T08:00:00.000Z', completed: false },
      'stored',
    );
    ids.weekly = weekly.id;
    assertEqual(await rowText(weekly.id, 'recurrence-words'), 'Repeats every Monday and Thursday at 09:00, Europe/Berlin', 'words');
    assertEqual(await rowText(weekly.id, 'recurrence-next'), 'Next: Monday 25 March 2030, 09:00', 'next');
    // The form starts again: no rule, the browser's zone.
    assertEqual(await textOf(form().getByTestId('recurrence-preview')), 'Does not repeat', 'form reset');
  });

  await step('recurrence: completing moves it to Thursday, then across summer time to Monday 09:00 (07:00 UTC)', async () => {
    const first = await complete(weekly);
    assertEqual(fields(first.task), { ...fields(weekly), due_at: '2030-03-28T08:00:00.000Z' }, 'after the first completion');
    await eventually(() => rowText(weekly.id, 'recurrence-next'), 'Next: Thursday 28 March 2030, 09:00', 'next');
    await eventually(() => rowText(weekly.id, 'recurrence-moved'), 'Moved from Monday 25 March 2030, 09:00 to Thursday 28 March 2030, 09:00', 'moved');
    await eventually(() => rowText(weekly.id, 'task-due'), 'Due 2030-03-28 09:00', 'due badge');
    assertEqual(await row(weekly.id).getAttribute('data-completed'), 'false', 'still pending');
    await screenshot(page, 'recurrence-moved');
    const second = await complete({ ...weekly, due_at: first.task.due_at });
    assertEqual(fields(second.task), { ...fields(weekly), due_at: '2030-04-01T07:00:00.000Z' }, 'after the second completion');
    await eventually(() => rowText(weekly.id, 'recurrence-next'), 'Next: Monday 1 April 2030, 09:00', 'next after summer time');
    await eventually(() => rowText(weekly.id, 'recurrence-moved'), 'Moved from Thursday 28 March 2030, 09:00 to Monday 1 April 2030, 09:00', 'moved');
    assertEqual(await row(weekly.id).getAttribute('data-completed'), 'false', 'still pending');
  });

  await step('recurrence: the completion history panel shows both completions, newest first', async () => {
    const before = new Date().toISOString();
    const { body } = await apiCall(page, apiUrl, 'GET', new RegExp(`/tasks/${weekly.id}/completions$`), 200, () =>
      row(weekly.id).getByRole('button', { name: 'History' }).click(),
    );
    assertEqual(
      body.data.map((c) => [c.occurrence_due_at, c.completed_by]),
      [
        ['2030-03-28T08:00:00.000Z', rita.user.id],
        ['2030-03-25T08:00:00.000Z', rita.user.id],
      ],
      'completions',
    );
    assertEqual([body.message, body.next_cursor], ['Completions retrieved successfully', null], 'message and cursor');
    if (!body.data.every((c) => c.completed_at <= before)) throw new Error(`completed_at after ${before}: ${JSON.stringify(body.data)}`);
    const items = row(weekly.id).getByTestId('completion');
    await eventually(() => items.evaluateAll((els) => els.map((e) => e.getAttribute('data-occurrence'))), ['2030-03-28T08:00:00.000Z', '2030-03-25T08:00:00.000Z'], 'panel');
    const texts = await items.allTextContents();
    const expected = body.data.map((c) => `${c.occurrence_due_at === '2030-03-28T08:00:00.000Z' ? 'Thursday 28 March 2030, 09:00' : 'Monday 25 March 2030, 09:00'}: done `);
    assertEqual(texts.map((t, i) => t.startsWith(expected[i])), [true, true], `panel texts ${JSON.stringify(texts)}`);
    await screenshot(page, 'recurrence-history');
  });

  await step('recurrence: Skip moves to Thursday 4 April without a completion', async () => {
    const { body } = await apiCall(page, apiUrl, 'POST', new RegExp(`/tasks/${weekly.id}/skip$`), 200, () =>
      row(weekly.id).getByRole('button', { name: 'Skip' }).click(),
    );
    assertEqual(body.message, 'Task skipped successfully', 'message');
    assertEqual(fields(body.data), { ...fields(weekly), due_at: '2030-04-04T07:00:00.000Z' }, 'after the skip');
    await eventually(() => rowText(weekly.id, 'recurrence-next'), 'Next: Thursday 4 April 2030, 09:00', 'next');
    await eventually(() => rowText(weekly.id, 'recurrence-moved'), 'Moved from Monday 1 April 2030, 09:00 to Thursday 4 April 2030, 09:00', 'moved');
    // The history (reloaded for the new version) still has the two completions.
    await sleep(300);
    assertEqual(await row(weekly.id).getByTestId('completion').count(), 2, 'completions after the skip');
    await row(weekly.id).getByRole('button', { name: 'Hide history' }).click();
  });


  await step('recurrence: daily → FREQ=DAILY', async () => {
    const t = await create('Stretch', '2030-03-25T07:30', (f) => repeat(f, 'Daily'), 'every day at 07:30, Europe/Berlin');
    assertEqual(fields(t), { recurrence: 'FREQ=DAILY', repeat_from: 'due', time_zone: ZONE, due_at: '2030-03-25T06:30:00.000Z', completed: false }, 'stored');
    assertEqual(await rowText(t.id, 'recurrence-words'), 'Repeats every day at 07:30, Europe/Berlin', 'words');
    ids.daily = t.id;
  });

  await step('recurrence: every weekday → FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR', async () => {
    const t = await create('Stand-up', '2030-03-25T09:15', (f) => repeat(f, 'Every weekday (Mon–Fri)'), 'every weekday at 09:15, Europe/Berlin');
    assertEqual(
      fields(t),
      { recurrence: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR', repeat_from: 'due', time_zone: ZONE, due_at: '2030-03-25T08:15:00.000Z', completed: false },
      'stored',
    );
    assertEqual(await rowText(t.id, 'recurrence-words'), 'Repeats every weekday at 09:15, Europe/Berlin', 'words');
  });

  await step('recurrence: monthly on the 15th → FREQ=MONTHLY;BYMONTHDAY=15', async () => {
    const t = await create(
      'Pay rent',
      '2030-03-15T10:00',
      async (f) => {
        await repeat(f, 'Monthly');
        await f.getByLabel('Monthly on').selectOption('day');
        await f.getByLabel('Day of month').selectOption('15');
      },
      'every month on the 15th at 10:00, Europe/Berlin',
    );
    assertEqual(fields(t), { recurrence: 'FREQ=MONTHLY;BYMONTHDAY=15', repeat_from: 'due', time_zone: ZONE, due_at: '2030-03-15T09:00:00.000Z', completed: false }, 'stored');
    assertEqual(await rowText(t.id, 'recurrence-words'), 'Repeats every month on the 15th at 10:00, Europe/Berlin', 'words');
  });

  await step('recurrence: monthly on the last Friday → FREQ=MONTHLY;BYDAY=-1FR; completing moves it to 26 April', async () => {
    const t = await create(
      'Team drinks',
      '2030-03-29T18:30',
      async (f) => {
        await repeat(f, 'Monthly');
        await f.getByLabel('Monthly on').selectOption('weekday');
        await f.getByLabel('Which').selectOption({ label: 'last' });
        await f.getByLabel('Weekday', { exact: true }).selectOption({ label: 'Friday' });
      },
      'every month on the last Friday at 18:30, Europe/Berlin',
    );
    assertEqual(fields(t), { recurrence: 'FREQ=MONTHLY;BYDAY=-1FR', repeat_from: 'due', time_zone: ZONE, due_at: '2030-03-29T17:30:00.000Z', completed: false }, 'stored');
    assertEqual(await rowText(t.id, 'recurrence-words'), 'Repeats every month on the last Friday at 18:30, Europe/Berlin', 'words');
    const done = await complete(t);
    assertEqual(fields(done.task), { ...fields(t), due_at: '2030-04-26T16:30:00.000Z' }, 'after completing');
    await eventually(() => rowText(t.id, 'recurrence-next'), 'Next: Friday 26 April 2030, 18:30', 'next');
    await eventually(() => rowText(t.id, 'recurrence-moved'), 'Moved from Friday 29 March 2030, 18:30 to Friday 26 April 2030, 18:30', 'moved');
  });

  await step('recurrence: yearly in another zone (America/New_York) → FREQ=YEARLY, said in that zone', async () => {
    const t = await create(
      'Call grandma',
      '2030-12-24T17:00',
      async (f) => {
        await repeat(f, 'Yearly');
        await f.getByLabel('Time zone').fill('America/New_York');
      },
      'every year on 24 December at 11:00, America/New_York',
    );
    assertEqual(fields(t), { recurrence: 'FREQ=YEARLY', repeat_from: 'due', time_zone: 'America/New_York', due_at: '2030-12-24T16:00:00.000Z', completed: false }, 'stored');
    assertEqual(await rowText(t.id, 'recurrence-words'), 'Repeats every year on 24 December at 11:00, America/New_York', 'words');
    assertEqual(await rowText(t.id, 'recurrence-next'), 'Next: Tuesday 24 December 2030, 11:00', 'next (in the task\'s zone)');
  });

  await step('recurrence: custom RRULE text (the last weekday of the month); an unsupported one is the API\'s 400, shown', async () => {
    const t = await create(
      'Close the books',
      '2030-03-29T16:00',
      async (f) => {
        await repeat(f, 'Custom (RRULE)');
        await f.getByLabel('RRULE').fill('FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1');
      },
      'every month on the last weekday at 16:00, Europe/Berlin',
    );
    assertEqual(
      fields(t),
      { recurrence: 'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1', repeat_from: 'due', time_zone: ZONE, due_at: '2030-03-29T15:00:00.000Z', completed: false },
      'stored',
    );
    assertEqual(await rowText(t.id, 'recurrence-words'), 'Repeats every month on the last weekday at 16:00, Europe/Berlin', 'words');
    const f = form();
    await f.getByLabel('Title').fill('Every hour');
    await f.getByLabel('Due').fill('2030-03-29T16:00');
    await repeat(f, 'Custom (RRULE)');
    await f.getByLabel('RRULE').fill('FREQ=HOURLY');
    const { body } = await apiCall(page, apiUrl, 'POST', TASKS, 400, () => f.getByRole('button', { name: 'Add task' }).click());
    assertEqual([body.code, body.detail], ['VALIDATION_ERROR', 'recurrence part FREQ has a value that is not supported: "HOURLY"'], 'error');
    await eventually(() => kit.text(page, 'error'), `${body.detail} (400 VALIDATION_ERROR)`, 'error shown');
    await repeat(f, 'Does not repeat');
    await f.getByLabel('Title').fill('');
  });

  await step('recurrence: from completion, every 3 days → repeat_from completion; completing restarts it from today', async () => {
    const t = await create(
      'Water the plants',
      '2030-03-25T09:00',
      async (f) => {
        await repeat(f, 'Daily');
        await f.getByLabel('Every (day(s))').fill('3');
        await f.getByLabel('Repeat from').selectOption('completion');
      },
      'every 3 days at 09:00, Europe/Berlin, counted from completion',
    );
    assertEqual(
      fields(t),
      { recurrence: 'FREQ=DAILY;INTERVAL=3', repeat_from: 'completion', time_zone: ZONE, due_at: '2030-03-25T08:00:00.000Z', completed: false },
      'stored',
    );
    assertEqual(await rowText(t.id, 'recurrence-words'), 'Repeats every 3 days at 09:00, Europe/Berlin, counted from completion', 'words');
    const done = await complete(t);
    // The rule starts again on the day of completion (in Berlin) at 09:00: the next is 3 days later.
    const today = berlin(new Date().toISOString()).slice(0, 10);
    const [y, m, d] = today.split('-').map(Number);
    const expectedDay = new Date(Date.UTC(y, m - 1, d + 3)).toISOString().slice(0, 10);
    assertEqual([done.task.completed, berlin(done.task.due_at)], [false, `${expectedDay} 09:00`], 'next due (Berlin)');
    await eventually(() => rowText(t.id, 'task-due'), `Due ${expectedDay} 09:00`, 'due badge');
  });

  await step('recurrence: editing reads the rule back; daily → weekly on Wednesday → does not repeat', async () => {
    const edit = () => row(ids.daily).locator('form');
    await row(ids.daily).getByRole('button', { name: 'Edit' }).click();
    assertEqual(await edit().getByLabel('Repeat', { exact: true }).inputValue(), 'daily', 'picker shows daily');
    await repeat(edit(), 'Weekly');
    await edit().getByLabel('Wednesday', { exact: true }).check();
    await edit().getByLabel('Monday', { exact: true }).uncheck();
    await eventually(() => textOf(edit().getByTestId('recurrence-preview')), 'every Wednesday at 07:30, Europe/Berlin', 'preview');
    let r = await apiCall(page, apiUrl, 'PUT', new RegExp(`/tasks/${ids.daily}$`), 200, () => edit().getByRole('button', { name: 'Save' }).click());
    assertEqual(fields(r.body.data), { recurrence: 'FREQ=WEEKLY;BYDAY=WE', repeat_from: 'due', time_zone: ZONE, due_at: '2030-03-25T06:30:00.000Z', completed: false }, 'weekly');
    await eventually(() => rowText(ids.daily, 'recurrence-words'), 'Repeats every Wednesday at 07:30, Europe/Berlin', 'words');
    await row(ids.daily).getByRole('button', { name: 'Edit' }).click();
    assertEqual(await edit().getByLabel('Repeat', { exact: true }).inputValue(), 'weekly', 'picker shows weekly');
    assertEqual(await edit().getByLabel('Wednesday', { exact: true }).isChecked(), true, 'Wednesday checked');
    await repeat(edit(), 'Does not repeat');
    r = await apiCall(page, apiUrl, 'PUT', new RegExp(`/tasks/${ids.daily}$`), 200, () => edit().getByRole('button', { name: 'Save' }).click());
    assertEqual(r.body.data.recurrence, null, 'no rule');
    await eventually(() => row(ids.daily).getByTestId('task-recurrence').count(), 0, 'no recurrence line');
    await screenshot(page, 'recurrence-list');
    await rita.context.close();
  });
}

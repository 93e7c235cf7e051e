// Web Push: notifications for reminders (push and notificationclick handlers). Loaded by sw.js.
//
// A push message is the API's reminder, JSON: {type: 'reminder', task: {id, title, due_at, ...},
// fire_at} (above 3,000 bytes `task` has only id, uid, list_id, title and due_at). Every push shows
// a notification (the subscription is userVisibleOnly); one per task (tag), so a reminder that also
// reached a hidden page (app/tasks/reminder-toast.tsx) is not shown twice. A click opens the task:
// an open page of the task list is told to open it ({type: 'open-task', taskId}, answered on the
// message's port) and focused; else a new window opens /tasks?task=<id>.

function twoDigits(n) {
  return String(n).padStart(2, '0');
}

/** 2026-12-24 17:00 in this browser's time zone. */
function formatInstant(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${twoDigits(d.getMonth() + 1)}-${twoDigits(d.getDate())} ${twoDigits(d.getHours())}:${twoDigits(d.getMinutes())}`;
}

function showReminder(message) {
  const task = message && message.type === 'reminder' ? message.task : null;
  if (!task || typeof task.id !== 'number') {
    // Not a reminder we know how to read: still a notification (a push must show one).
    return self.registration.showNotification('Tasks', { body: 'You have a reminder.', tag: 'reminder', data: { url: '/tasks' } });
  }
  return self.registration.showNotification(task.title, {
    body: task.due_at ? `Due ${formatInstant(task.due_at)}` : 'Reminder',
    tag: `reminder-${task.id}`,
    renotify: true,
    timestamp: Date.parse(message.fire_at) || Date.now(),
    data: { url: `/tasks?task=${task.id}`, taskId: task.id, fire_at: message.fire_at },
  });
}

self.addEventListener('push', (event) => {
  let message = null;
  try {
    message = event.data ? event.data.json() : null;
  } catch {
    message = null;
  }
  event.waitUntil(showReminder(message));
});

/** Asks an open page to open the task; true once it answered (a page without the task list does not). */
function askToOpen(page, taskId) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(false), 1000);
    channel.port1.onmessage = () => {
      clearTimeout(timer);
      resolve(true);
    };
    page.postMessage({ type: 'open-task', taskId }, [channel.port2]);
  });
}

async function openTask(data) {
  const url = new URL(data.url || '/tasks', self.location.origin).href;
  // A page's Client.url is where its document was loaded, not where the app navigated since: ask
  // each open page (the focused one first) rather than trusting its path.
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  windows.sort((a, b) => Number(b.focused) - Number(a.focused));
  if (typeof data.taskId === 'number') {
    for (const page of windows) {
      if (!(await askToOpen(page, data.taskId))) continue;
      try {
        await page.focus();
      } catch {
        // focusing needs the click's user activation
      }
      return;
    }
  }
  await self.clients.openWindow(url);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const opening = openTask(event.notification.data || {});
  event.waitUntil(opening);
});

'use client';
/**
 * Reminders while the page is open, and the notification permission.
 *   - A reminder that fires reaches every open event stream (`event: reminder`): the task list
 *     passes it to `announceReminder`, and it shows here as a toast (Open, Dismiss).
 *   - The first reminder the user adds (REMINDER_ADDED, from the task form) is the moment to offer
 *     notifications: an explanation with "Allow notifications", whose click asks the browser
 *     (lib/push.ts), never a prompt on page load. Denied or unavailable, a short note says that the
 *     toasts still work.
 *   - Opening a task: the service worker's notificationclick sends {type: 'open-task', taskId} to
 *     an open page, or opens /tasks?task=<id>; either way `onOpenTask` opens it (its edit form).
 */
import type { ReminderEvent, ReminderTask, TaskClient } from '@task-api/client';
import { useEffect, useRef, useState } from 'react';

import { enableNotifications, notificationPermission, subscribePush, type PushOutcome } from '@/lib/push';

import { formatInstant, REMINDER_ADDED } from './reminders-field';
import './reminders.css';

const listeners = new Set<(reminder: ReminderEvent) => void>();
/** Shows a reminder that fired (from the event stream's onReminder) in the ReminderCenter. */
export function announceReminder(reminder: ReminderEvent): void {
  for (const listener of listeners) listener(reminder);
}

/** "Not now" holds until the tab is closed. */
const LATER = 'task-example-notifications-later';
const MAX_TOASTS = 3;

type Note = { state: 'ask' } | PushOutcome;
interface Toast {
  key: string;
  task: ReminderTask;
  fire_at: string;
}

function noteText(note: Note): string | null {
  switch (note.state) {
    case 'subscribed':
      return 'Notifications are on: reminders reach this browser even when this page is closed.';
    case 'denied':
      return "Notifications are blocked for this site, so reminders show only here, while this page is open. To get them anyway, allow notifications in the browser's site settings.";
    case 'failed':
      return `Notifications are allowed, but this browser has no push subscription (${note.detail}): reminders show here while this page is open.`;
    case 'unsupported':
      return 'This browser cannot get push notifications from this page: reminders show here while it is open.';
    default:
      return null;
  }
}

export function ReminderCenter({ client, onOpenTask }: { client: TaskClient; onOpenTask: (id: number) => boolean }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [note, setNote] = useState<Note | null>(null);
  const [asking, setAsking] = useState(false);
  const [missing, setMissing] = useState<string | null>(null);
  const openRef = useRef(onOpenTask);
  openRef.current = onOpenTask;
  /** This page's subscription attempt, once (on load when already allowed, else after the click). */
  const push = useRef<Promise<PushOutcome> | null>(null);
  const offered = useRef(false);
  const pending = useRef<{ id: number; since: number } | null>(null);

  /** Opens the task (its edit form) when the list shows it; else says it is elsewhere. */
  const open = useRef((id: number) => {
    setMissing(null);
    if (openRef.current(id)) {
      requestAnimationFrame(() => document.querySelector(`li[data-testid="task"][data-id="${id}"]`)?.scrollIntoView({ block: 'center' }));
      return true;
    }
    return false;
  });
  const notOnPage = useRef(async (id: number) => {
    try {
      const task = await client.tasks.get(id);
      setMissing(`“${task.title}” is not on this page of the list.`);
    } catch {
      setMissing('That task is gone.');
    }
  });

  // Reminders from the stream: a toast each (the same firing once), the newest last. In a hidden
  // tab without push, a notification through the service worker too (it is the one the user sees).
  useEffect(() => {
    const onReminder = (r: ReminderEvent) => {
      const key = `${r.task.id}@${r.fire_at}`;
      setToasts((current) => (current.some((t) => t.key === key) ? current : [...current, { key, task: r.task, fire_at: r.fire_at }].slice(-MAX_TOASTS)));
      void (async () => {
        if (!document.hidden || notificationPermission() !== 'granted') return;
        if ((await push.current)?.state === 'subscribed') return; // the push message shows it
        const registration = await navigator.serviceWorker.getRegistration('/');
        await registration?.showNotification(r.task.title, {
          body: r.task.due_at ? `Due ${formatInstant(r.task.due_at)}` : 'Reminder',
          tag: `reminder-${r.task.id}`,
          data: { url: `/tasks?task=${r.task.id}`, taskId: r.task.id, fire_at: r.fire_at },
        });
      })().catch(() => {});
    };
    listeners.add(onReminder);
    return () => {
      listeners.delete(onReminder);
    };
  }, []);

  // Already allowed (an earlier visit): keep this browser's subscription known to the API, silently.
  useEffect(() => {
    if (notificationPermission() === 'granted') push.current = subscribePush(client);
  }, [client]);

  // The first reminder added on this page: the moment to offer notifications.
  useEffect(() => {
    const onAdded = () => {
      if (offered.current) return;
      offered.current = true;
      const permission = notificationPermission();
      if (permission === 'unsupported') setNote({ state: 'unsupported' });
      else if (permission === 'denied') setNote({ state: 'denied' });
      else if (permission === 'default') {
        if (sessionStorage.getItem(LATER) !== '1') setNote({ state: 'ask' });
      } else {
        push.current ??= subscribePush(client);
        void push.current.then((outcome) => outcome.state !== 'subscribed' && setNote(outcome));
      }
    };
    window.addEventListener(REMINDER_ADDED, onAdded);
    return () => window.removeEventListener(REMINDER_ADDED, onAdded);
  }, [client]);

  // A click on a notification while this page is open (public/sw-push.js).
  useEffect(() => {
    if (typeof navigator === 'undefined' || !navigator.serviceWorker) return;
    const onMessage = (event: MessageEvent) => {
      const data = event.data as { type?: string; taskId?: unknown } | null;
      if (data?.type !== 'open-task' || typeof data.taskId !== 'number') return;
      const id = data.taskId;
      event.ports[0]?.postMessage('opening'); // the service worker need not open a window
      if (!open.current(id)) void notOnPage.current(id);
    };
    navigator.serviceWorker.addEventListener('message', onMessage);
    return () => navigator.serviceWorker.removeEventListener('message', onMessage);
  }, []);

  // /tasks?task=<id> (a notification clicked while no page was open): open it once the list shows it.
  useEffect(() => {
    const id = Number(new URLSearchParams(window.location.search).get('task'));
    if (Number.isInteger(id) && id > 0) pending.current = { id, since: Date.now() };
  }, []);
  useEffect(() => {
    const p = pending.current;
    if (!p) return;
    const done = () => {
      pending.current = null;
      window.history.replaceState(null, '', window.location.pathname);
    };
    if (open.current(p.id)) return done();
    // Not on the page the list shows: say so once the list had its time to load.
    const t = setTimeout(() => {
      if (pending.current !== p) return;
      done();
      void notOnPage.current(p.id);
    }, Math.max(0, p.since + 3000 - Date.now()));
    return () => clearTimeout(t);
  });

  async function allow() {
    setAsking(true);
    try {
      push.current = enableNotifications(client);
      const outcome = await push.current;
      setNote(outcome.state === 'default' ? null : outcome);
    } finally {
      setAsking(false);
    }
  }

  const text = note ? noteText(note) : null;
  return (
    <>
      {note?.state === 'ask' ? (
        <div className="notice notify-ask" role="dialog" aria-label="Reminder notifications" data-testid="notify-prompt">
          <p>Get reminders as notifications on this device, even when this page is closed? Your browser will ask you to allow them.</p>
          <div className="row">
            <button type="button" className="primary" disabled={asking} onClick={() => void allow()}>
              Allow notifications
            </button>
            <button
              type="button"
              onClick={() => {
                sessionStorage.setItem(LATER, '1');
                setNote(null);
              }}
            >
              Not now
            </button>
          </div>
        </div>
      ) : text && note ? (
        <p className="muted notify-note" data-testid="notify-note" data-state={note.state}>
          {text}{' '}
          <button type="button" className="link" onClick={() => setNote(null)}>
            OK
          </button>
        </p>
      ) : null}
      {missing ? (
        <p className="notice" role="status" data-testid="reminder-missing">
          {missing}
        </p>
      ) : null}
      <div className="reminder-toasts" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.key} className="toast" role="status" data-testid="reminder-toast" data-task-id={t.task.id}>
            <div className="toast-text">
              <span className="toast-kind">Reminder</span>
              <strong data-testid="reminder-toast-title">{t.task.title}</strong>
              <span className="muted" data-testid="reminder-toast-when">
                {t.task.due_at ? `Due ${formatInstant(t.task.due_at)}` : `For ${formatInstant(t.fire_at)}`}
              </span>
            </div>
            <button
              type="button"
              onClick={() => {
                if (!open.current(t.task.id)) void notOnPage.current(t.task.id);
                setToasts((c) => c.filter((x) => x.key !== t.key));
              }}
            >
              Open
            </button>
            <button type="button" aria-label="Dismiss reminder" onClick={() => setToasts((c) => c.filter((x) => x.key !== t.key))}>
              ×
            </button>
          </div>
        ))}
      </div>
    </>
  );
}

/**
 * Web Push for reminders, in the browser: the permission, this browser's push subscription, and the
 * API's record of it (`client.push`). The service worker that shows the notifications is
 * public/sw.js (its push half: public/sw-push.js), registered by lib/service-worker.ts.
 *
 * The permission is asked only from a click (`enableNotifications`), never on page load: the app
 * asks when the user first adds a reminder, after saying why (app/tasks/reminder-toast.tsx).
 */
import { ApiError, type TaskClient } from '@task-api/client';

import { registerServiceWorker } from './service-worker';

export type PushOutcome =
  /** No service worker, PushManager or Notification here (an old browser, or not a secure context). */
  | { state: 'unsupported' }
  /** The user closed the browser's prompt without answering: ask again another time. */
  | { state: 'default' }
  /** Notifications are blocked for this site (by the user, or the browser's policy). */
  | { state: 'denied' }
  /** This browser gets the user's reminders pushed, also when no page of the app is open. */
  | { state: 'subscribed'; id: number }
  /** Allowed, but there is no subscription: the push service refused or cannot be reached, or the API has no VAPID keys. */
  | { state: 'failed'; detail: string };

/** How long a subscription may take: a browser that cannot reach its push service may never answer. */
const SUBSCRIBE_TIMEOUT_MS = 15_000;
const storageKey = (userId: string) => `task-example-push:${userId}`;

export function pushSupported(): boolean {
  return typeof window !== 'undefined' && window.isSecureContext && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/** The site's notification permission, or 'unsupported'. */
export function notificationPermission(): NotificationPermission | 'unsupported' {
  return pushSupported() ? Notification.permission : 'unsupported';
}

/** Asks for the permission (call it from a click: browsers ignore or penalize prompts without one), then subscribes. */
export async function enableNotifications(client: TaskClient): Promise<PushOutcome> {
  if (!pushSupported()) return { state: 'unsupported' };
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return { state: permission };
  return subscribePush(client);
}

function sameKey(a: ArrayBuffer | null | undefined, base64url: string): boolean {
  if (!a) return false;
  const b = Uint8Array.from(atob(base64url.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const x = new Uint8Array(a);
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e)),
    );
  });
}

/**
 * With the permission granted: this browser's push subscription (made with the API's VAPID key,
 * made again if the key changed), sent to the API. Safe to call again: the API answers the same id
 * for the same endpoint. Never throws.
 */
export async function subscribePush(client: TaskClient): Promise<PushOutcome> {
  if (!pushSupported()) return { state: 'unsupported' };
  if (Notification.permission !== 'granted') return { state: Notification.permission };
  try {
    const registration = await registerServiceWorker();
    if (!registration) return { state: 'unsupported' };
    const key = await client.push.publicKey();
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
      await subscription.unsubscribe(); // made with another server key: useless now
      subscription = null;
    }
    subscription ??= await withTimeout(
      registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
      SUBSCRIBE_TIMEOUT_MS,
      'The push service',
    );
    const { id } = await client.push.subscribe(subscription);
    localStorage.setItem(storageKey(await client.userId()), String(id));
    return { state: 'subscribed', id };
  } catch (err) {
    if (err instanceof ApiError && err.status === 503) return { state: 'failed', detail: 'the server has no Web Push keys' };
    if (err instanceof ApiError) return { state: 'failed', detail: err.detail };
    return { state: 'failed', detail: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * On sign-out: the API forgets this browser for this user (another user may sign in here next; the
 * browser's own subscription stays, and is theirs too once they allow notifications). Never throws.
 */
export async function forgetPushSubscription(client: TaskClient): Promise<void> {
  try {
    const key = storageKey(await client.userId());
    const id = Number(localStorage.getItem(key));
    if (!Number.isInteger(id) || id <= 0) return;
    try {
      await client.push.unsubscribe(id, { signal: AbortSignal.timeout(3000) }); // sign-out waits for this at most 3 s
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) return; // kept: tried again at the next sign-out here
    }
    localStorage.removeItem(key);
  } catch {
    // no storage: nothing to forget
  }
}

/**
 * The app's one service worker (public/sw.js, scope /): registered once, shared by the offline app
 * shell and Web Push. Resolves to the active registration, or null where the browser has none
 * (service workers need a secure context: https, or http on localhost / 127.0.0.1).
 */
export async function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return null;
  await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  return navigator.serviceWorker.ready;
}

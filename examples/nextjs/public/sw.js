// The app's one service worker (scope /), registered by lib/service-worker.ts. Each concern lives
// in a file of its own: the offline app shell (sw-offline.js) and Web Push notifications (sw-push.js).
importScripts('/sw-offline.js', '/sw-push.js');

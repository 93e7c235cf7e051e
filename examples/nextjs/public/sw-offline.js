// Offline: the app shell's cache (fetch handler). Loaded by sw.js.
//
// - Page navigations (/tasks, /trash): network first; a good answer (200, not redirected) is kept
//   under its path; without a network, the kept copy (the page then renders its data from what it
//   kept itself: lib/offline.ts), else a small "offline" page.
// - /_next/static/*: cache first (file names carry a content hash, so a cached file never goes stale).
// - Everything else is left alone: /api/* (Better Auth: sessions, tokens) and the Task API (another
//   origin; answers carry the user's data and the requests their token) are never cached here.
//
// The page (lib/offline.ts) warms the same cache once the worker is registered, since the first
// load of a page happens before the worker controls it. On sign-out (a request for
// /sign-in?reason=...) this cache and the page's data cache are deleted.
const SHELL_CACHE = 'task-example-shell-v1';
const DATA_CACHE = 'task-example-data-v1'; // the pages and lists lib/offline.ts keeps for offline
const SHELL_PAGES = new Set(['/tasks', '/trash']);

self.addEventListener('install', () => {
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('task-example-shell-') && name !== SHELL_CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

const OFFLINE_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Offline</title></head>
<body style="font: 15px system-ui, sans-serif; margin: 40px"><h1>You are offline</h1>
<p data-testid="offline-fallback">This page was not opened online before, so there is no copy of it here. Try again when you are back online.</p></body></html>`;

/** The answer from the cache, marked so that a test (or you, in devtools) can tell. */
function fromCache(response) {
  const headers = new Headers(response.headers);
  headers.set('x-task-shell', 'cache');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function navigation(request, url) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    const type = response.headers.get('content-type') ?? '';
    if (SHELL_PAGES.has(url.pathname) && response.status === 200 && !response.redirected && type.includes('text/html')) {
      await cache.put(url.pathname, response.clone());
    } else if (SHELL_PAGES.has(url.pathname) && (response.redirected || response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400))) {
      await cache.delete(url.pathname); // signed out: the copy of someone's page must not outlive it
    }
    return response;
  } catch (err) {
    const kept = SHELL_PAGES.has(url.pathname) ? await cache.match(url.pathname) : undefined;
    if (kept) return fromCache(kept);
    return new Response(OFFLINE_PAGE, { status: 503, headers: { 'content-type': 'text/html; charset=utf-8', 'x-task-shell': 'offline' } });
  }
}

async function staticFile(request) {
  const cache = await caches.open(SHELL_CACHE);
  const kept = await cache.match(request, { ignoreVary: true });
  if (kept) return kept;
  const response = await fetch(request);
  if (response.status === 200) await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return; // the Task API and anything else: the network only
  if (url.pathname.startsWith('/api/')) return; // Better Auth: never cached
  if (url.pathname === '/sign-in' && url.searchParams.has('reason')) {
    // Signed out (or the session ended): nothing of the user's is kept on this device.
    event.waitUntil(Promise.all([caches.delete(SHELL_CACHE), caches.delete(DATA_CACHE)]));
  }
  if (request.mode === 'navigate') {
    event.respondWith(navigation(request, url));
    return;
  }
  if (url.pathname.startsWith('/_next/static/')) event.respondWith(staticFile(request));
});

// Offline: the app shell's cache (fetch handler). Loaded by sw.js.

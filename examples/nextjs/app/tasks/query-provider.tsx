'use client';
import { QueryClient, QueryClientProvider, notifyManager } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';

// Updates reach the components in a microtask, not a setTimeout: a background tab's timers are
// throttled to about once a second, and a change from another tab must show within one.
if (typeof window !== 'undefined') notifyManager.setScheduler(queueMicrotask);

/**
 * One QueryClient per page load (made in the browser, not shared between requests on the server).
 * `networkMode: 'always'`: offline, the queries still run, and lib/offline.ts answers them from
 * the pages it kept (TanStack Query would otherwise pause them).
 */
export function QueryProvider({ children }: { children: ReactNode }) {
  const [client] = useState(() => new QueryClient({ defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false, networkMode: 'always' }, mutations: { networkMode: 'always' } } }));
  return <QueryClientProvider client={client}>{children}</QueryClientProvider>;
}

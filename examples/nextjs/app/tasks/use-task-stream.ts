'use client';
import type { ConnectionState, TaskClient } from '@task-api/client';
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';

import { AUTH_CHANNEL, apiToken } from '@/lib/api-token';
import type { OfflineMode } from '@/lib/offline';

import type { ListView } from './list-view';
import { invalidateTasks, updateCachedTasks } from './queries';
import { announceReminder } from './reminder-toast';

/**
 * What keeps the query cache fresh without a write here: the API's event stream (every change
 * anywhere, from another tab, device, user or a script, updates the cached tasks and refetches the
 * page; reminders go to the toasts, list entries to `list.onListChange`), the offline outbox once
 * synced, and a sign-out in another tab (the token forgotten, the stream stopped; the refetch then
 * gets a real 401, which sends this tab to the sign-in page). Returns the stream's state and `stop`.
 */
export function useTaskStream(client: TaskClient, offline: OfflineMode, userId: string, list: ListView | undefined) {
  const queryClient = useQueryClient();
  const listRef = useRef(list);
  listRef.current = list;
  const [live, setLive] = useState<ConnectionState>('connecting');
  const stop = useRef<() => void>(() => {});

  useEffect(() => offline.onSynced(() => void invalidateTasks(queryClient, userId)), [offline, queryClient, userId]);

  useEffect(() => {
    const unsubscribe = client.events.subscribe(
      {
        onChange: (change) => {
          updateCachedTasks(queryClient, userId, (current) =>
            change.type === 'delete' ? current.filter((t) => t.id !== change.id) : current.map((t) => (t.id === change.task.id ? change.task : t)),
          );
          void invalidateTasks(queryClient, userId);
        },
        // Ready (also after a reconnect): refetch once, for what changed before the stream was open.
        onReady: () => {
          void invalidateTasks(queryClient, userId);
          listRef.current?.onReady?.();
        },
        onStateChange: setLive,
        onReminder: announceReminder,
        onListChange: (change) => listRef.current?.onListChange?.(change),
      },
      listRef.current ? { include: ['lists'] } : {},
    );
    stop.current = unsubscribe;
    return unsubscribe;
  }, [client, queryClient, userId]);

  useEffect(() => {
    if (typeof BroadcastChannel === 'undefined') return;
    const channel = new BroadcastChannel(AUTH_CHANNEL);
    channel.onmessage = (event) => {
      if (event.data === 'signed-out') {
        apiToken.clear();
        stop.current();
        void invalidateTasks(queryClient, userId);
      }
    };
    return () => channel.close();
  }, [queryClient, userId]);

  return { live, stop: () => stop.current() };
}

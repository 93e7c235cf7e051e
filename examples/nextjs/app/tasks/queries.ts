'use client';
/**
 * The task page's data as TanStack Query hooks. The server component (page.tsx) fetches the first
 * page and hands it over as `initialData`; from then on:
 *   - useLists(): GET /lists (a refetch sends the ETag held: a 304 keeps the lists), kept current by
 *     the event stream's list entries (setQueryData)
 *   - useTaskPage(): one page of tasks; a refetch sends the page's ETag (If-None-Match), and a 304
 *     keeps the data held
 *   - invalidateTasks(): after a write here, or a change in the event stream (another tab, device, user)
 */
import type { List, ListChange, ListQuery, TagCount, Task, TaskClient } from '@task-api/client';
import { useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';

import { listsForOffline } from '@/lib/offline';

export interface TaskPageData {
  tasks: Task[];
  nextCursor: string | null;
  /** The ETag of the answer (null when the page came from the server component or offline). */
  etag: string | null;
}

export const keys = {
  lists: (userId: string) => ['lists', userId] as const,
  tasks: (userId: string) => ['tasks', userId] as const,
  taskPage: (userId: string, query: ListQuery) => ['tasks', userId, query] as const,
  tags: (userId: string) => ['tags', userId] as const,
};

/** The user's own order: by `position` (compared as bytes: base-62 ASCII), then `id`. */
export function ordered(lists: List[]): List[] {
  return [...lists].sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : a.id - b.id));
}

/** The ETag of the lists held, per user: sent as If-None-Match by the next refetch. */
const listsEtag = new Map<string, string | null>();

/** The lists held were changed here (optimistically): the next refetch asks for all of them. */
export function forgetListsEtag(userId: string): void {
  listsEtag.delete(userId);
}

export function useLists(client: TaskClient, userId: string, initial: List[] | null) {
  const queryClient = useQueryClient();
  return useQuery({
    queryKey: keys.lists(userId),
    // Offline (lib/offline.ts), the copy kept at the last load.
    queryFn: async () =>
      ordered(
        await listsForOffline(userId, async () => {
          const held = queryClient.getQueryData<List[]>(keys.lists(userId));
          const answer = await client.lists.poll({ ifNoneMatch: held ? (listsEtag.get(userId) ?? null) : null });
          if (answer === null && held) return held; // 304: nothing changed
          if (answer === null) throw new Error('Empty answer');
          listsEtag.set(userId, answer.etag);
          return answer.lists;
        }),
      ),
    ...(initial ? { initialData: ordered(initial), initialDataUpdatedAt: 0 } : {}),
    retry: false,
  });
}

/** A list entry of the event stream, applied to the cached lists. */
export function applyListChange(queryClient: QueryClient, userId: string, change: ListChange): void {
  queryClient.setQueryData<List[]>(keys.lists(userId), (current) => {
    if (!current) return current;
    if (change.type === 'list_delete') return current.filter((l) => l.id !== change.id);
    // open_count is not kept by the feed: keep the count held.
    const held = current.find((l) => l.id === change.list.id);
    const next = held ? { ...change.list, open_count: held.open_count } : change.list;
    return ordered([...current.filter((l) => l.id !== change.list.id), next]);
  });
}

export function useTaskPage(
  client: TaskClient,
  userId: string,
  query: ListQuery,
  options: { initial?: TaskPageData | undefined; onSettled?: () => void },
) {
  const queryClient = useQueryClient();
  const key = keys.taskPage(userId, query);
  return useQuery({
    queryKey: key,
    queryFn: async ({ signal }): Promise<TaskPageData> => {
      const held = queryClient.getQueryData<TaskPageData>(key);
      // A refetch started meanwhile (a live change) aborts this one, its retries included.
      try {
        const page = await client.tasks.list(query, { ifNoneMatch: held?.etag ?? null, signal });
        if (page === null && held) return held; // 304: nothing changed
        if (page === null) throw new Error('Empty answer');
        return { tasks: page.tasks, nextCursor: page.nextCursor, etag: page.etag };
      } finally {
        options.onSettled?.();
      }
    },
    ...(options.initial ? { initialData: options.initial, initialDataUpdatedAt: 0 } : {}),
    placeholderData: (previous) => previous,
    retry: false,
    refetchOnWindowFocus: false,
  });
}

export function useTags(client: TaskClient, userId: string) {
  return useQuery({
    queryKey: keys.tags(userId),
    queryFn: (): Promise<TagCount[]> => client.tags.list(),
    retry: false,
    refetchOnWindowFocus: false,
  });
}

/** Refetches every shown page of tasks (and the tags); resolves when they are in. */
export function invalidateTasks(queryClient: QueryClient, userId: string): Promise<void> {
  return Promise.all([
    queryClient.invalidateQueries({ queryKey: keys.tasks(userId) }),
    queryClient.invalidateQueries({ queryKey: keys.tags(userId) }),
  ]).then(() => undefined);
}

/** Changes the tasks of every cached page (an optimistic update, a 412's newer task). */
export function updateCachedTasks(queryClient: QueryClient, userId: string, fn: (tasks: Task[]) => Task[]): void {
  queryClient.setQueriesData<TaskPageData>({ queryKey: keys.tasks(userId) }, (page) => (page ? { ...page, tasks: fn(page.tasks) } : page));
}

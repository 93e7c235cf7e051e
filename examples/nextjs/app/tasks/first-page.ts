/**
 * The first page, fetched by the server component with the user's JWT (Better Auth's
 * `auth.api.getToken` on the server): the lists and the first page of the list shown, so the page
 * renders with its tasks. Anything that fails here is simply left to the browser to load.
 */
import { createTaskClient, type List } from '@task-api/client';

import { taskApiUrl } from '@/lib/config';
import { getApiToken } from '@/lib/session';

import { DEFAULT_QUERY, type View } from './view';
import type { TaskPageData } from './queries';

export interface FirstPage {
  lists: List[];
  /** The tasks of `DEFAULT_QUERY` in the list shown (`listId`). */
  page: TaskPageData | null;
  listId: number | null;
}

export async function fetchFirstPage(userId: string, view: View): Promise<FirstPage | null> {
  const token = await getApiToken();
  if (!token) return null;
  const api = createTaskClient({ baseUrl: taskApiUrl(), userId, token: () => token, retry: { retries: 1 } });
  try {
    const lists = await api.lists.list({ signal: AbortSignal.timeout(3000) });
    if (view.kind !== 'list') return { lists, page: null, listId: null };
    const inbox = lists.find((l) => l.is_default && l.owner_id === userId) ?? lists[0];
    const list = lists.find((l) => l.id === view.id) ?? inbox;
    if (!list) return { lists, page: null, listId: null };
    const page = await api.tasks.list({ ...DEFAULT_QUERY, list_id: list.id }, { signal: AbortSignal.timeout(3000) });
    return { lists, page: { tasks: page.tasks, nextCursor: page.nextCursor, etag: null }, listId: list.id };
  } catch {
    return null;
  }
}

'use server';
/**
 * The Task API from the server: a server action with the signed-in user's JWT (Better Auth's
 * `auth.api.getToken`, the same token the browser gets from /api/auth/token).
 */
import { createTaskClient, type Task } from '@task-api/client';

import { taskApiUrl } from '@/lib/config';
import { getApiToken, getSession } from '@/lib/session';

/** Deletes every completed task (of one list, when `listId` is given); answers how many. */
export async function clearCompleted(listId?: number): Promise<{ deleted: number } | { error: string }> {
  const session = await getSession();
  const token = await getApiToken();
  if (!session || !token) return { error: 'Not signed in' };
  const api = createTaskClient({
    baseUrl: taskApiUrl(),
    userId: session.user.id,
    token: () => token,
  });
  const done: Task[] = [];
  for await (const task of api.tasks.all({ status: 'completed', limit: 100, ...(listId !== undefined ? { list_id: listId } : {}) })) done.push(task);
  for (const task of done) await api.tasks.delete(task.id);
  return { deleted: done.length };
}

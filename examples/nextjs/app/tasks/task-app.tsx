'use client';
/**
 * The tasks of one list (or of a view across lists), composed of hooks and components; every call
 * goes from the browser to the Task API through @task-api/client, the data through TanStack Query
 * (queries.ts).
 *   - use-task-client.ts: the client (Better Auth JWT, 401 to /sign-in, 503/429 retried with a
 *     notice), its offline wrapper, sign-out
 *   - use-page-state.ts: filters, search, pages, and the page's query
 *   - use-task-stream.ts: the event stream (and the outbox, and other tabs) keeping the cache fresh
 *   - use-task-tree.ts: the rows (My order's tree, subtasks, "Completed")
 *   - use-task-actions.ts: the writes (optimistic updates, If-Match and its 412, undo through the
 *     offline mode, a server action); use-task-drop.ts: drag-and-drop; use-task-keys.ts: the keyboard
 */
import { ApiError } from '@task-api/client';
import { useMemo, useRef } from 'react';

import type { ListView } from './list-view';
import { Notices } from './notices';
import { OfflinePanel } from './offline-panel';
import { PageFooter } from './page-footer';
import { PageHeader } from './page-header';
import { useTags, useTaskPage } from './queries';
import { QuickAdd } from './quick-add';
import { ReminderCenter } from './reminder-toast';
import { ShortcutHelp } from './shortcuts';
import { TaskCount } from './task-count';
import { TaskList } from './task-list';
import { Toolbar } from './toolbar';
import { usePageState } from './use-page-state';
import { describe, useTaskActions } from './use-task-actions';
import { useTaskClient } from './use-task-client';
import { useTaskDrop } from './use-task-drop';
import { useTaskKeys } from './use-task-keys';
import { useTaskStream } from './use-task-stream';
import { useTaskTree } from './use-task-tree';

export function TaskApp({ apiUrl, userId, email, list }: { apiUrl: string; userId: string; email: string; list?: ListView }) {
  const listId = list?.id ?? null;
  const scope = list?.scope ?? null;
  const view = scope === 'today' || scope === 'upcoming';
  const readOnly = list?.readOnly === true;

  const { client, offline, notice, setNotice, endRetryNotice, signOut } = useTaskClient(apiUrl, userId);
  const page = usePageState(list);
  const pageQuery = useTaskPage(client, userId, page.query, {
    initial: list?.initialPage && page.isFirstPage ? list.initialPage : undefined,
    onSettled: endRetryNotice,
  });
  const tags = useTags(client, userId).data ?? [];
  const tasks = pageQuery.data?.tasks ?? null;
  const nextCursor = pageQuery.data?.nextCursor ?? null;
  const loadError = pageQuery.error && !(pageQuery.error instanceof ApiError && pageQuery.error.status === 401) ? describe(pageQuery.error) : null;
  const stream = useTaskStream(client, offline, userId, list);

  const tree = page.myOrder;
  /** A task of a list can be dragged onto another list of the sidebar; in My order, also among its siblings. */
  const draggable = !readOnly && scope === null && listId !== null;
  const rows = useTaskTree(tasks, tree);
  const actions = useTaskActions({ client, userId, query: page.query, list, tasks, childrenOf: rows.childrenOf, siblingsOf: rows.siblingsOf, setNotice });
  useTaskDrop(tasks, rows.all, tree, list?.lists, actions);
  const quickAdd = useRef<HTMLFormElement>(null);
  const keyboard = useTaskKeys({ visible: rows.visible, readOnly, tree, quickAdd, actions });

  // A reminder's toast or notification opens its task: its details, when the list shows it.
  const openTask = (id: number): boolean => {
    if (!tasks?.some((t) => t.id === id)) return false;
    actions.openDetails(id);
    return true;
  };
  const listNames = useMemo(() => new Map((list?.lists ?? []).map((l) => [l.id, l.name])), [list?.lists]);

  return (
    <>
      <PageHeader menu={list?.menu} title={list?.title ?? 'Tasks'} email={email} onHelp={() => keyboard.setHelp(true)} onSignOut={() => void signOut(stream.stop)} />
      <main>
        {list?.bar}
        <Notices notice={notice} error={actions.error ?? loadError} />
        <ReminderCenter client={client} onOpenTask={openTask} />
        <OfflinePanel mode={offline} />

        <QuickAdd ref={quickAdd} hidden={readOnly} onCreate={actions.create} />

        {view ? null : <Toolbar filters={page.filters} search={page.search} onSearch={page.setSearch} onChange={page.change} tags={tags} />}

        <TaskCount
          count={tasks?.length ?? null}
          pageNo={page.pageNo}
          hasNext={nextCursor !== null}
          filtered={page.filtered}
          readOnly={readOnly}
          scope={scope}
          onClearFilters={page.clearFilters}
        />

        <TaskList
          rows={rows}
          actions={actions}
          client={client}
          offline={offline}
          lists={list?.lists ?? []}
          listNames={listId === null ? listNames : null}
          upcoming={scope === 'upcoming'}
          tree={tree}
          draggable={draggable}
          readOnly={readOnly}
          cursorId={keyboard.cursorId}
          onSelect={keyboard.setCursorId}
          onTag={(tag) => page.change({ tag })}
          taskExtra={list?.taskExtra}
        />

        <PageFooter
          hidden={view}
          readOnly={readOnly}
          pageNo={page.pageNo}
          nextCursor={nextCursor}
          onPrevious={page.previousPage}
          onNext={page.nextPage}
          onClearCompleted={() => void actions.clearCompleted()}
          live={stream.live}
        />
      </main>
      {keyboard.help ? <ShortcutHelp onClose={() => keyboard.setHelp(false)} /> : null}
    </>
  );
}

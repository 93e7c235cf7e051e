'use client';
import type { ListQuery } from '@task-api/client';
import { useEffect, useMemo, useState } from 'react';

import type { ListView } from './list-view';
import { DEFAULT_FILTERS, isFiltered, type Filters } from './toolbar';
import { viewQuery } from './view';

function toQuery(f: Filters, cursor: string | undefined): ListQuery {
  const q: ListQuery = { sort: f.sort, limit: f.limit };
  if (f.status !== 'all') q.status = f.status;
  if (f.q.trim() !== '') q.q = f.q.trim();
  if (f.priority !== '') q.priority = f.priority;
  if (f.tag.trim() !== '') q.tag = f.tag.trim();
  if (f.due !== '') {
    const now = new Date();
    if (f.due === 'overdue') q.due_before = now.toISOString();
    else {
      q.due_after = now.toISOString();
      q.due_before = new Date(now.getTime() + 7 * 86_400_000).toISOString();
    }
  }
  if (cursor !== undefined) q.cursor = cursor;
  return q;
}

/**
 * Which page of tasks is shown: the filters (the search box applied 250 ms after the last
 * keystroke), the cursors of the pages walked so far, and from them the page's `ListQuery` (a view's
 * own query in Today and Upcoming). Any change of filters goes back to page 1.
 */
export function usePageState(list: ListView | undefined) {
  const listId = list?.id ?? null;
  const scope = list?.scope ?? null;
  const [filters, setFilters] = useState<Filters>(DEFAULT_FILTERS);
  const [search, setSearch] = useState('');
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const query = useMemo<ListQuery>(
    () => (scope === 'today' || scope === 'upcoming' ? viewQuery(scope) : { ...toQuery(filters, cursor), ...(listId !== null ? { list_id: listId } : {}) }),
    [filters, cursor, listId, scope],
  );

  useEffect(() => {
    if (search === filters.q) return;
    const t = setTimeout(() => {
      setFilters((f) => ({ ...f, q: search }));
      setCursors([undefined]);
    }, 250);
    return () => clearTimeout(t);
  }, [search, filters.q]);

  const change = (patch: Partial<Filters>) => {
    setFilters((f) => ({ ...f, ...patch }));
    setCursors([undefined]);
  };

  return {
    filters,
    search,
    setSearch,
    change,
    query,
    filtered: isFiltered(filters),
    /** The default filters on page 1: the server component's first page can stand in. */
    isFirstPage: filters === DEFAULT_FILTERS && cursor === undefined,
    /** "My order" of one list, unfiltered: the tree, dragged to reorder; indent and outdent. */
    myOrder: scope === null && listId !== null && filters.sort === 'position' && !isFiltered(filters) && cursors.length === 1,
    pageNo: cursors.length,
    previousPage: () => setCursors((c) => c.slice(0, -1)),
    nextPage: (nextCursor: string) => setCursors((c) => [...c, nextCursor]),
    clearFilters: () => {
      setSearch('');
      change({ ...DEFAULT_FILTERS, sort: filters.sort, limit: filters.limit });
    },
  };
}

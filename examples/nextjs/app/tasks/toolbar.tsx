'use client';
/** Search, filters, sort and page size: one compact line above the tasks. */
import type { Priority, Sort, TagCount } from '@task-api/client';

import { Options, PRIORITIES } from './task-fields';

export type StatusFilter = 'all' | 'pending' | 'completed';
export type DueFilter = '' | 'overdue' | 'week';
export interface Filters {
  q: string;
  status: StatusFilter;
  priority: '' | Priority;
  tag: string;
  due: DueFilter;
  sort: Sort;
  limit: number;
}
export const DEFAULT_FILTERS: Filters = { q: '', status: 'all', priority: '', tag: '', due: '', sort: '-created_at', limit: 10 };

const SORTS: { value: Sort; label: string }[] = [
  { value: '-created_at', label: 'Newest first' },
  { value: 'position', label: 'My order (drag)' },
  { value: 'created_at', label: 'Oldest first' },
  { value: '-updated_at', label: 'Recently changed' },
  { value: 'due_at', label: 'Due date' },
  { value: '-priority', label: 'Priority' },
  { value: 'title', label: 'Title' },
];
const PAGE_SIZES = [2, 5, 10, 20, 50].map((n) => ({ value: n, label: String(n) }));

export function isFiltered(f: Filters): boolean {
  return f.q !== '' || f.status !== 'all' || f.priority !== '' || f.tag !== '' || f.due !== '';
}

export function Toolbar({
  filters,
  search,
  onSearch,
  onChange,
  tags,
}: {
  filters: Filters;
  search: string;
  onSearch: (q: string) => void;
  onChange: (patch: Partial<Filters>) => void;
  tags: TagCount[];
}) {
  return (
    <fieldset className="toolbar" data-testid="filters">
      <legend className="sr-only">Find</legend>
      <label className="search">
        <span className="sr-only">Search</span>
        <input type="search" aria-label="Search" value={search} onChange={(e) => onSearch(e.target.value)} placeholder="Search" />
      </label>
      <label>
        <span className="sr-only">Status</span>
        <select aria-label="Status" value={filters.status} onChange={(e) => onChange({ status: e.target.value as StatusFilter })}>
          <option value="all">All</option>
          <option value="pending">Pending</option>
          <option value="completed">Completed</option>
        </select>
      </label>
      <label>
        <span className="sr-only">Priority filter</span>
        <select aria-label="Priority filter" value={filters.priority} onChange={(e) => onChange({ priority: e.target.value as '' | Priority })}>
          <option value="">Any priority</option>
          <Options of={[...PRIORITIES].reverse()} />
        </select>
      </label>
      <label>
        <span className="sr-only">Tag filter</span>
        <input aria-label="Tag filter" list="tag-options" value={filters.tag} onChange={(e) => onChange({ tag: e.target.value })} placeholder="# tag" size={8} />
        <datalist id="tag-options">
          {tags.map((t) => (
            <option key={t.name} value={t.name}>{`${t.name} (${t.count})`}</option>
          ))}
        </datalist>
      </label>
      <label>
        <span className="sr-only">Due filter</span>
        <select aria-label="Due filter" value={filters.due} onChange={(e) => onChange({ due: e.target.value as DueFilter })}>
          <option value="">Any due date</option>
          <option value="overdue">Overdue</option>
          <option value="week">Due in 7 days</option>
        </select>
      </label>
      <label>
        <span className="sr-only">Sort</span>
        <select aria-label="Sort" value={filters.sort} onChange={(e) => onChange({ sort: e.target.value as Sort })}>
          <Options of={SORTS} />
        </select>
      </label>
      <label>
        <span className="sr-only">Per page</span>
        <select aria-label="Per page" value={filters.limit} onChange={(e) => onChange({ limit: Number(e.target.value) })} title="Tasks per page">
          <Options of={PAGE_SIZES} />
        </select>
      </label>
    </fieldset>
  );
}

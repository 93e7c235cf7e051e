'use client';
/**
 * The sidebar: the views (Today, Upcoming, All tasks) and the user's lists in their own order, with
 * New list, Share, Rename, Delete (the owner; never the Inbox) and reorder by drag-and-drop (dnd-kit: the
 * handle with the mouse or touch, or the keyboard: focus it, Space, arrows, Space), which calls
 * `POST /lists/{id}/move`. On a phone it is a drawer (the ☰ button of the header).
 */
import type { List } from '@task-api/client';
import { useDndMonitor, type DragEndEvent } from '@dnd-kit/core';
import { SortableContext, arrayMove, useSortable, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { useState, type FormEvent } from 'react';

import { listDndId, parseDndId } from './dnd';
import { VIEW_NAMES, type View } from './view';

export interface SidebarActions {
  select: (view: View) => void;
  create: (name: string) => Promise<boolean>;
  rename: (list: List, name: string) => Promise<boolean>;
  remove: (list: List) => Promise<boolean>;
  /** Opens the list with its share dialog (the owner). */
  share: (list: List) => void;
  /** The list was dropped at `index` of `order` (the new order). */
  reorder: (order: List[], index: number) => void;
}

const VIEWS = ['today', 'upcoming', 'all'] as const;
const VIEW_ICONS = { today: '☀', upcoming: '▦', all: '≡' } as const;

export function Sidebar({ lists, view, inboxId, open, actions }: { lists: List[]; view: View; inboxId: number | null; open: boolean; actions: SidebarActions }) {
  const [newName, setNewName] = useState('');
  const selectedId = view.kind === 'list' ? (view.id ?? inboxId) : null;

  // A list dropped on a list (a task dropped on a list is the task list's: use-task-drop.ts).
  useDndMonitor({
    onDragEnd({ active, over }: DragEndEvent) {
      const a = parseDndId(active.id);
      const o = parseDndId(over?.id);
      if (a?.kind !== 'list' || o?.kind !== 'list' || a.id === o.id) return;
      const from = lists.findIndex((l) => l.id === a.id);
      const to = lists.findIndex((l) => l.id === o.id);
      if (from < 0 || to < 0) return;
      actions.reorder(arrayMove(lists, from, to), to);
    },
  });

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (await actions.create(newName)) setNewName('');
  }

  return (
    <nav className={`sidebar${open ? ' open' : ''}`} aria-label="Lists and views" data-testid="sidebar">
      <ul className="views">
        {VIEWS.map((kind) => (
          <li key={kind}>
            <button
              type="button"
              data-testid="view-item"
              data-view={kind}
              aria-current={view.kind === kind ? 'page' : undefined}
              onClick={() => actions.select({ kind })}
            >
              <span aria-hidden="true" className="icon">
                {VIEW_ICONS[kind]}
              </span>
              {VIEW_NAMES[kind]}
            </button>
          </li>
        ))}
      </ul>
      <h2>Lists</h2>
        <SortableContext id="lists" items={lists.map((l) => listDndId(l.id))} strategy={verticalListSortingStrategy}>
          <ul className="lists" data-testid="list-items">
            {lists.map((l) => (
              <ListItem key={l.id} list={l} selected={l.id === selectedId} inbox={l.id === inboxId} actions={actions} />
            ))}
          </ul>
        </SortableContext>
      <form className="new-list" onSubmit={(e) => void create(e)} aria-label="New list">
        <input aria-label="New list name" value={newName} onChange={(e) => setNewName(e.target.value)} maxLength={100} required placeholder="New list name" />
        <button type="submit">New list</button>
      </form>
    </nav>
  );
}

function ListItem({ list, selected, inbox, actions }: { list: List; selected: boolean; inbox: boolean; actions: SidebarActions }) {
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging, isOver, active } = useSortable({ id: listDndId(list.id) });
  /** A task dragged over this list: dropped, it moves here. */
  const taskOver = isOver && parseDndId(active?.id)?.kind === 'task';
  const [mode, setMode] = useState<'show' | 'rename' | 'delete'>('show');
  const [name, setName] = useState(list.name);
  const owner = list.role === 'owner';
  return (
    <li
      ref={setNodeRef}
      style={{ transform: CSS.Translate.toString(transform), transition }}
      className={`${selected ? 'selected' : ''}${isDragging ? ' dragging' : ''}${taskOver ? ' drop-target' : ''}`}
      data-testid="list-item"
      data-id={list.id}
      aria-current={selected ? 'page' : undefined}
    >
      {mode === 'rename' ? (
        <form
          className="rename"
          onSubmit={(e) => {
            e.preventDefault();
            void actions.rename(list, name).then((ok) => ok && setMode('show'));
          }}
        >
          <input aria-label={`New name of ${list.name}`} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required autoFocus onKeyDown={(e) => e.key === 'Escape' && setMode('show')} />
          <button type="submit">Save</button>
        </form>
      ) : (
        <>
          <button type="button" className="handle" ref={setActivatorNodeRef} {...attributes} {...listeners} aria-label={`Reorder ${list.name}`} title="Drag to reorder">
            ⠿
          </button>
          <button type="button" className="name" data-testid="list-name" onClick={() => actions.select({ kind: 'list', id: list.id })}>
            {list.name}
          </button>
          {list.member_count > 1 ? (
            <span className="shared" title={`Shared with ${list.member_count - 1}`} aria-label="shared">
              ⇄
            </span>
          ) : null}
          <span className="count" data-testid="list-count" aria-label={`${list.open_count} open`}>
            {list.open_count > 0 ? list.open_count : ''}
          </span>
          {owner ? (
            <span className="list-actions">
              <button type="button" aria-label={`Share ${list.name}`} title="Share" onClick={() => actions.share(list)}>
                ↗
              </button>
              <button type="button" aria-label={`Rename ${list.name}`} title="Rename" onClick={() => { setName(list.name); setMode('rename'); }}>
                ✎
              </button>
              {inbox ? null : (
                <button type="button" aria-label={`Delete ${list.name}`} title="Delete" onClick={() => setMode('delete')}>
                  ×
                </button>
              )}
            </span>
          ) : null}
        </>
      )}
      {mode === 'delete' ? (
        <div className="confirm" role="alertdialog" aria-label={`Delete ${list.name}?`}>
          <span>Delete “{list.name}” and its tasks?</span>
          <button type="button" className="danger" onClick={() => void actions.remove(list).then((ok) => ok || setMode('show'))}>
            Delete list
          </button>
          <button type="button" onClick={() => setMode('show')}>
            Keep it
          </button>
        </div>
      ) : null}
    </li>
  );
}

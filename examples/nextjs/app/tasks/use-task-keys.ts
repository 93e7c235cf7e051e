'use client';
import type { Task } from '@task-api/client';
import { useEffect, useState, type RefObject } from 'react';

import { useShortcuts, type ShortcutAction } from './shortcuts';
import type { TaskActions } from './use-task-actions';
import type { Row } from './use-task-tree';

interface Options {
  /** The rows shown, in order: j and k walk them. */
  visible: Row[];
  readOnly: boolean;
  /** My order: Tab and Shift+Tab indent and outdent. */
  tree: boolean;
  quickAdd: RefObject<HTMLFormElement | null>;
  actions: Pick<TaskActions, 'toggle' | 'remove' | 'openDetails' | 'closeDetails' | 'indentOf' | 'outdentOf'>;
}

/**
 * The keyboard (shortcuts.tsx): the selected row (`cursorId`, which takes the focus, so a screen
 * reader follows), the shortcut help (`help`), and what each key does to the selected task.
 */
export function useTaskKeys({ visible, readOnly, tree, quickAdd, actions }: Options) {
  const [cursorId, setCursorId] = useState<number | null>(null);
  const [help, setHelp] = useState(false);
  const current: Task | null = visible.find((r) => r.task.id === cursorId)?.task ?? null;

  useShortcuts((action: ShortcutAction) => {
    if (action === 'help') {
      setHelp((h) => !h);
      return true;
    }
    if (action === 'escape') {
      setHelp(false);
      actions.closeDetails();
      return true;
    }
    if (action === 'new') {
      const input = quickAdd.current?.querySelector<HTMLInputElement>('input[name=title]');
      if (!input || readOnly) return false;
      input.focus();
      return true;
    }
    if (action === 'next' || action === 'previous') {
      const i = visible.findIndex((r) => r.task.id === cursorId);
      const next = visible[action === 'next' ? Math.min(visible.length - 1, i + 1) : Math.max(0, i - 1)];
      if (!next) return false;
      setCursorId(next.task.id);
      return true;
    }
    if (!current || readOnly) return false;
    if (action === 'toggle') {
      actions.toggle(current, !current.completed);
      return true;
    }
    if (action === 'open') {
      actions.openDetails(current.id);
      return true;
    }
    if (action === 'delete') {
      const i = visible.findIndex((r) => r.task.id === current.id);
      setCursorId(visible[i + 1]?.task.id ?? visible[i - 1]?.task.id ?? null);
      actions.remove(current);
      return true;
    }
    if (!tree) return false;
    const fn = action === 'indent' ? actions.indentOf(current) : actions.outdentOf(current);
    fn?.();
    return true;
  });

  // The selected row takes the focus (a screen reader follows), and Tab on it indents.
  useEffect(() => {
    if (cursorId === null) return;
    const li = document.querySelector<HTMLElement>(`li[data-testid=task][data-id="${cursorId}"]`);
    if (li && !li.contains(document.activeElement)) li.focus({ preventScroll: false });
  }, [cursorId]);

  return { cursorId, setCursorId, help, setHelp };
}

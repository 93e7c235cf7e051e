'use client';
/** Keyboard shortcuts of the task page, and the `?` dialog that lists them. None fire while typing. */
import { useEffect, useRef } from 'react';

export const SHORTCUTS: [keys: string, what: string][] = [
  ['n or q', 'New task: focus the quick add'],
  ['j / k', 'Select the next / previous task'],
  ['x or Space', 'Complete the selected task (again: reopen)'],
  ['e or Enter', 'Open the selected task’s details'],
  ['Delete', 'Delete the selected task (Undo in the toast)'],
  ['Tab / Shift+Tab', 'Indent / outdent the selected task (My order)'],
  ['Escape', 'Close the details or this list'],
  ['?', 'Show or hide these shortcuts'],
];

export type ShortcutAction = 'new' | 'next' | 'previous' | 'toggle' | 'open' | 'delete' | 'indent' | 'outdent' | 'escape' | 'help';

const KEYS: Record<string, ShortcutAction> = {
  n: 'new', q: 'new', j: 'next', k: 'previous', x: 'toggle', ' ': 'toggle', e: 'open', Enter: 'open',
  Delete: 'delete', Backspace: 'delete', Escape: 'escape', '?': 'help',
};

/** Calls `on(action)` for a shortcut pressed outside any field; `on` answers whether it used it. */
export function useShortcuts(on: (action: ShortcutAction) => boolean): void {
  const ref = useRef(on);
  ref.current = on;
  useEffect(() => {
    const handler = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
      const target = event.target as HTMLElement | null;
      if (target?.closest('input, textarea, select, [contenteditable=true], [role=dialog] form')) return;
      // Space and Enter on a button (a drag handle too) are the button's own.
      if ((event.key === ' ' || event.key === 'Enter') && target?.closest('button, a, summary')) return;
      // Tab moves the focus, except on the page itself or a selected task's row.
      if (event.key === 'Tab' && !(target === document.body || target?.matches('li[data-testid=task]'))) return;
      const action: ShortcutAction | undefined = event.key === 'Tab' ? (event.shiftKey ? 'outdent' : 'indent') : KEYS[event.key];
      if (!action) return;
      if (ref.current(action)) event.preventDefault();
    };
    window.addEventListener('keydown', handler);
    return () => window.removeEventListener('keydown', handler);
  }, []);
}

export function ShortcutHelp({ onClose }: { onClose: () => void }) {
  return (
    <div className="dialog-scrim" onClick={onClose}>
      <section className="panel shortcuts" role="dialog" aria-label="Keyboard shortcuts" data-testid="shortcuts" onClick={(e) => e.stopPropagation()}>
        <h3>Keyboard shortcuts</h3>
        <dl>
          {SHORTCUTS.map(([keys, what]) => (
            <div key={keys}>
              <dt>
                <kbd>{keys}</kbd>
              </dt>
              <dd>{what}</dd>
            </div>
          ))}
        </dl>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </section>
    </div>
  );
}

'use client';
/** Multi-select: a box on each task, and a bar to complete, move or delete the selected ones in one batch. */
import type { List, Task } from '@task-api/client';
import { useEffect, useState } from 'react';

import { useOfflineState, type OfflineMode } from '@/lib/offline';

export function SelectBox({ mode, task }: { mode: OfflineMode; task: Task }) {
  const { selected } = useOfflineState(mode);
  return (
    <input
      type="checkbox"
      className="select"
      data-testid="select"
      aria-label={`Select: ${task.title}`}
      checked={selected.includes(task.id)}
      onChange={(e) => mode.toggleSelected(task.id, e.target.checked)}
    />
  );
}

export function SelectionBar({ mode }: { mode: OfflineMode }) {
  const { selected } = useOfflineState(mode);
  const [lists, setLists] = useState<List[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const count = selected.length;
  const open = count > 0;

  // The user's lists, fetched each time the bar opens (kept for offline by lib/offline.ts).
  useEffect(() => {
    if (!open) return;
    let live = true;
    void mode.lists().then((l) => live && setLists(l));
    return () => {
      live = false;
    };
  }, [mode, open]);

  if (count === 0) return null;
  const act = async (action: Parameters<OfflineMode['bulk']>[0]) => {
    setBusy(true);
    setError(null);
    try {
      await mode.bulk(action);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="selection-bar row" role="toolbar" aria-label="Selected tasks" data-testid="selection-bar">
      <span data-testid="selected-count">{count} selected</span>
      <button type="button" disabled={busy} onClick={() => void act({ op: 'complete' })}>
        Complete selected
      </button>
      <select
        aria-label="Move selected to list"
        value=""
        disabled={busy}
        onChange={(e) => {
          const listId = Number(e.target.value);
          if (listId) void act({ op: 'move', listId });
        }}
      >
        <option value="" disabled>
          Move to list…
        </option>
        {lists.map((l) => (
          <option key={l.id} value={l.id}>
            {l.name}
          </option>
        ))}
      </select>
      <button type="button" className="danger" disabled={busy} onClick={() => void act({ op: 'delete' })}>
        Delete selected
      </button>
      <button type="button" disabled={busy} onClick={() => mode.clearSelection()}>
        Clear selection
      </button>
      {error ? (
        <span className="error" role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}

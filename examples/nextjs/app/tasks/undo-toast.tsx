'use client';
/** After a delete: "Deleted “Buy milk”. Undo" for 6 seconds. Undo restores it from the trash (or drops the delete still queued). */
import { useEffect, useState } from 'react';

import type { Deletion, OfflineMode } from '@/lib/offline';

export const UNDO_MS = 6000;

export function UndoToast({ mode }: { mode: OfflineMode }) {
  const [deletion, setDeletion] = useState<Deletion | null>(null);
  const [state, setState] = useState<{ kind: 'idle' | 'busy' | 'done' | 'error'; text?: string }>({ kind: 'idle' });

  useEffect(() => mode.onDeleted((d) => {
    setDeletion(d);
    setState({ kind: 'idle' });
  }), [mode]);

  useEffect(() => {
    if (!deletion || state.kind === 'busy') return;
    const t = setTimeout(() => setDeletion(null), state.kind === 'idle' ? UNDO_MS : 3000);
    return () => clearTimeout(t);
  }, [deletion, state.kind]);

  if (!deletion || deletion.tasks.length === 0) return null;
  const what = deletion.tasks.length === 1 ? `“${deletion.tasks[0]?.title}”` : `${deletion.tasks.length} tasks`;
  return (
    <div className="toast" role="status" data-testid="undo-toast" data-state={state.kind}>
      {state.kind === 'done' ? (
        <span>Restored {what}.</span>
      ) : state.kind === 'error' ? (
        <span className="error">{state.text}</span>
      ) : (
        <>
          <span>Deleted {what}.</span>
          <button
            type="button"
            disabled={state.kind === 'busy'}
            onClick={() => {
              setState({ kind: 'busy' });
              deletion
                .undo()
                .then(() => setState({ kind: 'done' }))
                .catch((err: unknown) => setState({ kind: 'error', text: err instanceof Error ? err.message : String(err) }));
            }}
          >
            Undo
          </button>
          <button type="button" aria-label="Dismiss" onClick={() => setDeletion(null)}>
            ×
          </button>
        </>
      )}
    </div>
  );
}

'use client';
/** What the task page shows for undo, trash, bulk edits and offline mode (one place in task-app.tsx). */
import type { OfflineMode } from '@/lib/offline';

import { Conflicts, OfflineBanner } from './offline-banner';
import { SelectionBar } from './selection-bar';
import { UndoToast } from './undo-toast';

export { SelectBox } from './selection-bar';

export function OfflinePanel({ mode }: { mode: OfflineMode }) {
  return (
    <>
      <OfflineBanner mode={mode} />
      <Conflicts mode={mode} />
      <p className="row">
        <a href="/trash" data-testid="trash-link">
          Trash
        </a>
      </p>
      <SelectionBar mode={mode} />
      <UndoToast mode={mode} />
    </>
  );
}

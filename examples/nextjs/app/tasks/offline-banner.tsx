'use client';
/** Offline: what is queued, and the conflicts waiting for "keep mine" or "take theirs". */
import type { Conflict } from '@task-api/client';
import { useState } from 'react';

import { OTHER_TAB, useOfflineState, type OfflineMode } from '@/lib/offline';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function OfflineBanner({ mode }: { mode: OfflineMode }) {
  const { online, queued, shellReady, message, owner } = useOfflineState(mode);
  return (
    <>
      {!online || queued > 0 ? (
        <p
          className={`offline-banner${online ? ' syncing' : ''}`}
          role="status"
          data-testid="offline-banner"
          data-online={String(online)}
          data-queued={queued}
          data-owner={String(owner)}
        >
          {online
            ? `Back online: sending ${plural(queued, 'queued change', 'queued changes')}…`
            : !owner
              ? OTHER_TAB
              : `You are offline. ${queued === 0 ? 'Changes you make are kept here' : `${plural(queued, 'change', 'changes')} queued`} and sent when you are back online.`}
        </p>
      ) : null}
      {message ? (
        <p className="notice" role="alert" data-testid="offline-message">
          {message}
        </p>
      ) : null}
      <span hidden data-testid="offline-shell" data-ready={String(shellReady)} />
    </>
  );
}

function describeConflict(c: Conflict): string {
  const title = c.theirs?.title ?? ('task' in c.op ? c.op.task.title : undefined) ?? 'A task';
  if (c.op.op === 'delete') return `“${title}” was changed elsewhere before your delete was sent.`;
  // The fields the edit would change on the server's version (an edit form sends them all).
  const theirs = (c.theirs ?? {}) as Record<string, unknown>;
  const fields = Object.entries(c.op.task)
    .filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(theirs[k]))
    .map(([k]) => k.replace('_at', ''));
  return `“${title}” was changed elsewhere before your edit${fields.length ? ` (${fields.join(', ')})` : ''} was sent.`;
}

export function Conflicts({ mode }: { mode: OfflineMode }) {
  const { conflicts } = useOfflineState(mode);
  const [busy, setBusy] = useState(false);
  if (conflicts.length === 0) return null;
  const choose = async (c: Conflict, choice: 'mine' | 'theirs') => {
    setBusy(true);
    try {
      await mode.resolve(c, choice);
    } finally {
      setBusy(false);
    }
  };
  return (
    <ul className="conflicts" data-testid="conflicts">
      {conflicts.map((c) => (
        <li key={c.id} role="alert" data-testid="sync-conflict" data-op={c.op.op}>
          <span>{describeConflict(c)}</span>
          {c.op.op === 'update' && c.theirs ? (
            <span className="muted">
              {' '}
              Theirs: “{c.theirs.title}”{c.op.task.title !== undefined ? <>; yours: “{c.op.task.title}”</> : null}
            </span>
          ) : null}
          <span className="actions">
            <button type="button" disabled={busy} onClick={() => void choose(c, 'mine')}>
              Keep mine
            </button>
            <button type="button" disabled={busy} onClick={() => void choose(c, 'theirs')}>
              Take theirs
            </button>
          </span>
        </li>
      ))}
    </ul>
  );
}

'use client';
import type { Notice } from './use-task-client';

/** "Retrying in 1 s…" or an action's outcome (a status), and what failed (an alert). */
export function Notices({ notice, error }: { notice: Notice | null; error: string | null }) {
  return (
    <>
      {notice ? (
        <p className="notice" role="status" data-testid="notice">
          {notice.text}
        </p>
      ) : null}
      {error ? (
        <p className="error" role="alert" data-testid="error">
          {error}
        </p>
      ) : null}
    </>
  );
}

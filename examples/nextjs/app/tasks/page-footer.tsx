'use client';
import type { ConnectionState } from '@task-api/client';

const LIVE_TEXT: Record<ConnectionState, string> = {
  connecting: 'Live updates: connecting…',
  open: 'Live updates: on',
  reconnecting: 'Live updates: reconnecting…',
  unavailable: 'Live updates: unavailable',
  closed: 'Live updates: off',
};

interface Props {
  /** Today and Upcoming: one page, nothing to clear here. */
  hidden: boolean;
  readOnly: boolean;
  pageNo: number;
  nextCursor: string | null;
  onPrevious: () => void;
  onNext: (cursor: string) => void;
  onClearCompleted: () => void;
  live: ConnectionState;
}

/** Below the tasks: the pager, Clear completed, and the event stream's state. */
export function PageFooter({ hidden, readOnly, pageNo, nextCursor, onPrevious, onNext, onClearCompleted, live }: Props) {
  return (
    <>
      <div className="footer-row" hidden={hidden}>
        <div className="pager">
          <button type="button" disabled={pageNo === 1} onClick={onPrevious}>
            Previous page
          </button>
          <span data-testid="page">Page {pageNo}</span>
          <button type="button" disabled={nextCursor === null} onClick={() => nextCursor !== null && onNext(nextCursor)}>
            Next page
          </button>
        </div>
        <button type="button" hidden={readOnly} onClick={onClearCompleted}>
          Clear completed
        </button>
      </div>
      <p className={`live ${live}`} data-testid="live" data-state={live}>
        {LIVE_TEXT[live]}
      </p>
    </>
  );
}

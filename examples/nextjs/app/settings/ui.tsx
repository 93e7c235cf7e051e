'use client';
/** Small pieces the settings panels share: error text, times, a field whose text is copied. */
import { ApiError } from '@task-api/client';
import { useRef, useState } from 'react';

/** An error as a sentence for the page: the API's detail with its status and code. */
export function describe(err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? `The API cannot be reached (${err.detail})` : `${err.detail} (${err.status} ${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

/** A 401 is handled by the client's onUnauthorized (to /sign-in): nothing to show. */
export const isUnauthorized = (err: unknown): boolean => err instanceof ApiError && err.status === 401;

const pad = (n: number): string => String(n).padStart(2, '0');
/** An instant in the browser's time zone, to the second: 2026-12-24 17:00:05. */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * A read-only field with a Copy button: the Clipboard API where the page may use it (a secure
 * context: https, or localhost); otherwise the text is selected for Ctrl+C / Cmd+C.
 */
export function CopyField({ value, label, button, testid }: { value: string; label: string; button: string; testid: string }) {
  const [status, setStatus] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
      setStatus('Copied');
    } catch {
      input.current?.focus();
      input.current?.select();
      setStatus('Selected: press Ctrl+C (⌘C) to copy');
    }
  }
  return (
    <div className="copyable">
      <input
        readOnly
        value={value}
        aria-label={label}
        data-testid={testid}
        ref={input}
        onFocus={(e) => e.currentTarget.select()}
      />
      <button type="button" onClick={() => void copy()}>
        {button}
      </button>
      {status ? (
        <span className="muted" role="status" data-testid={`${testid}-copied`}>
          {status}
        </span>
      ) : null}
    </div>
  );
}

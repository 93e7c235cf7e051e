'use client';
/**
 * The owner's share dialog: make an invitation link with a role, copy it, see the open invitations
 * and revoke them. The token is in the API's answer to the create only (the open invitations come
 * without tokens), so the link shows until the dialog closes and is never stored or logged.
 */
import { ApiError, type Invitation, type List, type TaskClient } from '@task-api/client';
import { useCallback, useEffect, useRef, useState } from 'react';

function describe(err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? `The API cannot be reached (${err.detail})` : `${err.detail} (${err.status} ${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

const pad = (n: number): string => String(n).padStart(2, '0');
function when(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
const ROLE_LABEL = { editor: 'Editor', viewer: 'Viewer' } as const;

/** Copies text: the Clipboard API, else the selected input and execCommand (older or insecure contexts). */
async function copyText(text: string, input: HTMLInputElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (!input) return false;
    input.select();
    return document.execCommand('copy');
  }
}

export function ShareDialog({ client, list, onClose }: { client: TaskClient; list: List; onClose: () => void }) {
  const [role, setRole] = useState<'editor' | 'viewer'>('editor');
  /** The link just made: its invitation's id and the URL with the token. */
  const [made, setMade] = useState<{ id: number; role: 'editor' | 'viewer'; url: string } | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [open, setOpen] = useState<Invitation[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const linkInput = useRef<HTMLInputElement>(null);

  const loadOpen = useCallback(async () => {
    try {
      setOpen(await client.lists.invitations(list.id));
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(describe(err));
    }
  }, [client, list.id]);

  // Again whenever the list's version moves: an accepted invitation is no longer open.
  useEffect(() => {
    void loadOpen();
  }, [loadOpen, list.version]);

  async function makeLink() {
    setBusy(true);
    setCopied(null);
    try {
      const invitation = await client.lists.invite(list.id, role);
      setMade({ id: invitation.id, role: invitation.role as 'editor' | 'viewer', url: `${window.location.origin}/invite/${invitation.token}` });
      setError(null);
      await loadOpen();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(describe(err));
    } finally {
      setBusy(false);
    }
  }

  async function revoke(invitation: Invitation) {
    try {
      await client.lists.revoke(list.id, invitation.id);
      if (made?.id === invitation.id) setMade(null);
      setCopied(null);
      setError(null);
      await loadOpen();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(describe(err));
      await loadOpen();
    }
  }

  return (
    <section className="panel" role="dialog" aria-label={`Share ${list.name}`} data-testid="share-dialog">
      <h3>Share “{list.name}”</h3>
      <div className="row">
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as 'editor' | 'viewer')}>
            <option value="editor">Editor: adds, changes and deletes tasks</option>
            <option value="viewer">Viewer: only reads</option>
          </select>
        </label>
        <button type="button" className="primary" disabled={busy} onClick={() => void makeLink()}>
          Make link
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {made ? (
        <div className="row">
          <input
            ref={linkInput}
            className="link"
            readOnly
            value={made.url}
            aria-label={`Invitation link (${ROLE_LABEL[made.role]})`}
            data-testid="invite-link"
            onFocus={(e) => e.currentTarget.select()}
          />
          <button
            type="button"
            onClick={() =>
              void copyText(made.url, linkInput.current).then((ok) =>
                setCopied(ok ? 'Copied. Anyone with the link can join until it is used, revoked or expires.' : 'Select the link and copy it.'),
              )
            }
          >
            Copy link
          </button>
          {copied ? (
            <span className="muted" role="status" data-testid="copied">
              {copied}
            </span>
          ) : null}
        </div>
      ) : null}
      {error ? (
        <p className="error" role="alert" data-testid="share-error">
          {error}
        </p>
      ) : null}
      <h3>Open invitations</h3>
      {open === null ? (
        <p className="muted">Loading…</p>
      ) : open.length === 0 ? (
        <p className="muted" data-testid="no-invitations">
          No open invitations.
        </p>
      ) : (
        <ul>
          {open.map((inv) => (
            <li key={inv.id} data-testid="invitation" data-id={inv.id}>
              <span className="who">
                {ROLE_LABEL[inv.role as 'editor' | 'viewer'] ?? inv.role} link, expires {when(inv.expires_at)}
              </span>
              <button type="button" className="danger" onClick={() => void revoke(inv)}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

'use client';
import type { ReactNode } from 'react';

/** The page's header: the ☰ menu (phone), the title; the shortcuts help, Settings, the user, Sign out. */
export function PageHeader({ menu, title, email, onHelp, onSignOut }: { menu?: ReactNode; title: string; email: string; onHelp: () => void; onSignOut: () => void }) {
  return (
    <header className="top">
      <div className="row">
        {menu}
        <h1 data-testid="page-title">{title}</h1>
      </div>
      <div className="row account">
        <button type="button" className="link" onClick={onHelp} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">
          ?
        </button>
        <a href="/settings">Settings</a>
        <span data-testid="user-email" className="email">
          {email}
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}

'use client';
/**
 * The one-line quick add: type a title, press Enter. Its details (notes, priority, tags, due, repeat,
 * reminders) open below while the line is in use, and stay out of the way otherwise.
 */
import { forwardRef, useState, type FormEvent } from 'react';

import type { TaskCreate } from '@task-api/client';

import { DetailFields, TitleField, readTaskForm } from './task-fields';

export const QuickAdd = forwardRef<HTMLFormElement, { hidden: boolean; onCreate: (input: TaskCreate) => Promise<boolean> }>(function QuickAdd({ hidden, onCreate }, ref) {
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState(false);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    setBusy(true);
    try {
      // Reset; the details stay open while the line is in use (Escape, or leaving it empty, closes them).
      if (await onCreate(readTaskForm(new FormData(form)))) form.reset();
    } finally {
      setBusy(false);
    }
  }
  return (
    <form
      ref={ref}
      className={`quick-add${open ? ' open' : ''}`}
      onSubmit={(e) => void submit(e)}
      onFocus={() => setOpen(true)}
      onBlur={(e) => {
        const form = e.currentTarget;
        if (form.contains(e.relatedTarget as Node | null)) return;
        if ((form.elements.namedItem('title') as HTMLInputElement | null)?.value === '') setOpen(false);
      }}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          setOpen(false);
          (document.activeElement as HTMLElement | null)?.blur();
        }
      }}
      aria-label="New task"
      data-testid="create-form"
      hidden={hidden}
    >
      <TitleField>
        <button className="primary" type="submit" disabled={busy}>
          Add task
        </button>
      </TitleField>
      {open ? (
        <div className="quick-details">
          <DetailFields />
          <button type="button" className="link" onClick={() => setOpen(false)}>
            Hide details
          </button>
        </div>
      ) : null}
    </form>
  );
});

'use client';
/** The fields of the quick add's details and of a task's details (named as readTaskForm reads them). */
import type { Priority, Task, TaskCreate } from '@task-api/client';
import type { ReactNode } from 'react';

import { toLocalInput } from './dates';
import { RecurrencePicker, readRecurrenceForm } from './recurrence-picker';
import { readReminders, RemindersField } from './reminders-field';

export const PRIORITIES: { value: Priority; label: string }[] = [
  { value: 'none', label: 'None' },
  { value: 'low', label: 'Low' },
  { value: 'medium', label: 'Medium' },
  { value: 'high', label: 'High' },
];

/** The <option>s of a list of choices. */
export function Options({ of }: { of: readonly { value: string | number; label: string }[] }) {
  return (
    <>
      {of.map((o) => (
        <option key={o.value} value={o.value}>
          {o.label}
        </option>
      ))}
    </>
  );
}

function parseTags(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

export function readTaskForm(form: FormData): TaskCreate {
  const due = String(form.get('due') ?? '');
  const description = String(form.get('description') ?? '').trim();
  return {
    title: String(form.get('title') ?? ''),
    description: description === '' ? null : description,
    priority: String(form.get('priority') ?? 'none') as Priority,
    tags: parseTags(String(form.get('tags') ?? '')),
    due_at: due === '' ? null : new Date(due).toISOString(),
    reminders: readReminders(form),
    ...readRecurrenceForm(form),
  };
}

/** Everything but the title: notes, priority, tags, due, repeat, reminders. */
export function DetailFields({ task }: { task?: Task }) {
  return (
    <>
      <div className="row">
        <label className="wide">
          Description
          <input name="description" maxLength={1000} defaultValue={task ? (task.description ?? '') : undefined} placeholder="Notes" />
        </label>
      </div>
      <div className="row">
        <label>
          Priority
          <select name="priority" defaultValue={task?.priority ?? 'none'}>
            <Options of={PRIORITIES} />
          </select>
        </label>
        <label>
          Tags
          <input name="tags" defaultValue={task?.tags.join(', ')} placeholder={task ? undefined : 'comma, separated'} />
        </label>
        <label>
          Due
          <input name="due" type="datetime-local" defaultValue={task ? toLocalInput(task.due_at) : undefined} />
        </label>
      </div>
      <RecurrencePicker task={task} />
      <RemindersField task={task} />
    </>
  );
}

export function TitleField({ task, children }: { task?: Task; children?: ReactNode }) {
  return (
    <div className="row title-row">
      <label className="wide">
        Title
        <input name="title" required maxLength={200} defaultValue={task?.title} placeholder={task ? undefined : 'Add a task… (press Enter)'} autoComplete="off" />
      </label>
      {children}
    </div>
  );
}

'use client';
/**
 * A task's details, opened from its row (Edit, a double click, `e` or Enter): every field in a form
 * (Save sends them with If-Match: a stale edit is a 412 that shows the newer task), and what acts at
 * once: the list it is in (Move to list), indent / outdent, its subtasks and "Add subtask".
 */
import type { List, Task } from '@task-api/client';
import { useState, type FormEvent } from 'react';

import { DetailFields, TitleField } from './task-fields';

export interface DetailActions {
  onSave: (event: FormEvent<HTMLFormElement>) => void;
  onCancel: () => void;
  onMoveToList: (listId: number) => void;
  onIndent: (() => void) | null;
  onOutdent: (() => void) | null;
  onAddSubtask: (title: string) => Promise<boolean>;
}

export function TaskDetails({ task, subtasks, lists, actions }: { task: Task; subtasks: Task[]; lists: List[]; actions: DetailActions }) {
  const [subtask, setSubtask] = useState('');
  const writable = lists.filter((l) => l.role !== 'viewer');
  return (
    <li data-testid="task" data-id={task.id} data-editing="true" className="details">
      <form onSubmit={actions.onSave} aria-label={`Edit ${task.title}`}>
        <TitleField task={task} />
        <DetailFields task={task} />
        <div className="row">
          <button className="primary" type="submit">
            Save
          </button>
          <button type="button" onClick={actions.onCancel}>
            Cancel
          </button>
        </div>
      </form>
      <div className="details-more">
        {writable.length > 1 ? (
          <label>
            Move to list
            <select value={task.list_id} onChange={(e) => actions.onMoveToList(Number(e.target.value))}>
              {writable.map((l) => (
                <option key={l.id} value={l.id}>
                  {l.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <div className="row">
          <button type="button" disabled={!actions.onIndent} onClick={() => actions.onIndent?.()} title="Make it a subtask of the task above (Tab)">
            Indent
          </button>
          <button type="button" disabled={!actions.onOutdent} onClick={() => actions.onOutdent?.()} title="Out of its parent (Shift+Tab)">
            Outdent
          </button>
        </div>
        <section aria-label={`Subtasks of ${task.title}`} className="subtasks">
          <h4>Subtasks</h4>
          {subtasks.length === 0 ? <p className="muted">No subtasks: break it into steps below.</p> : null}
          <ul>
            {subtasks.map((s) => (
              <li key={s.id} data-testid="subtask" className={s.completed ? 'completed' : undefined}>
                {s.completed ? '☑' : '☐'} {s.title}
              </li>
            ))}
          </ul>
          <form
            className="row"
            aria-label="Add subtask"
            onSubmit={(e) => {
              e.preventDefault();
              void actions.onAddSubtask(subtask).then((ok) => ok && setSubtask(''));
            }}
          >
            <input aria-label="New subtask" value={subtask} onChange={(e) => setSubtask(e.target.value)} required maxLength={200} placeholder="Add a subtask" />
            <button type="submit">Add subtask</button>
          </form>
        </section>
      </div>
    </li>
  );
}

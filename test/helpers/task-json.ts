import { expect } from 'vitest';

/** A task as the API sends it (JSON: timestamps are strings). */
export interface TaskJson {
  id: number;
  user_id: string;
  list_id: number;
  uid: string;
  parent_id: number | null;
  position: string;
  assignee_id: string | null;
  title: string;
  description: string | null;
  completed: boolean;
  priority: 'none' | 'low' | 'medium' | 'high';
  tags: string[];
  due_at: string | null;
  completed_at: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

/**
 * The version-2 and version-3 fields of a new task created without them (version 3's: in the
 * Inbox, a generated uid, at the top level, after its last sibling, assigned to nobody).
 */
export const NEW_TASK_DEFAULTS = {
  priority: 'none',
  tags: [],
  due_at: null,
  completed_at: null,
  version: 1,
  list_id: expect.any(Number) as unknown as number,
  uid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/) as unknown as string,
  parent_id: null,
  position: expect.stringMatching(/^[A-Za-z][0-9A-Za-z]*$/) as unknown as string,
  assignee_id: null,
  recurrence: null,
  repeat_from: 'due',
  time_zone: null,
  reminders: [],
} as const;

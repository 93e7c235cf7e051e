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

/** The version-2 fields of a new task created without them. */
export const NEW_TASK_DEFAULTS = { priority: 'none', tags: [], due_at: null, completed_at: null, version: 1 } as const;

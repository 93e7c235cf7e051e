/** A task as the API sends it (JSON: timestamps are strings). */
export interface TaskJson {
  id: number;
  user_id: string;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
}

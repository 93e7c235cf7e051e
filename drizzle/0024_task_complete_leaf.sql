-- A completion of a task that has no subtask and no parent (most of them) in one plain UPDATE (issue
-- 29: the database's cost per write). task_complete (migration 0018) changed every task the same
-- way: one statement with the cascade down (the subtree, recursively) and up (the completed
-- ancestors), its numbering (a window) and its checks; PostgreSQL initialises every part of it at
-- each call, and for a task with no tree that was a fifth of the toggle's cost in the database
-- (1.66 M instructions against 1.31 M now, callgrind on a single-user backend, 30,000 tasks). Now,
-- once the members' counters are held (one by one in user_id order, as feed_advance, migration
-- 0022, takes them), a task with no subtask is changed by a statement without the cascade, whose
-- UPDATE also requires no parent. When that writes nothing (a task in a tree, or a check that
-- failed), 0018's function decides, unchanged: renamed task_complete_tree and called from here (its
-- lock of the counters finds them held by this transaction already). With the counters held the
-- list's tree cannot change (every write to the list takes them first), and each statement of a
-- VOLATILE function reads with a snapshot taken when it starts: the check for subtasks and the
-- UPDATE see the tree as it is. Same arguments, same result columns, same rows as 0018.
ALTER FUNCTION "task_complete"(integer, text, boolean, integer[], list_role[]) RENAME TO "task_complete_tree";
--> statement-breakpoint
CREATE FUNCTION "task_complete"("p_id" integer, "p_user" text, "p_completed" boolean, "p_versions" integer[], "p_roles" list_role[])
RETURNS TABLE (
  "id" integer, "user_id" text, "list_id" integer, "parent_id" integer, "position" text, "assignee_id" text, "uid" text,
  "title" varchar, "description" varchar, "priority" task_priority, "tags" text[], "due_at" timestamptz, "recurrence" text,
  "repeat_from" text, "time_zone" text, "reminders" jsonb, "completed" boolean, "completed_at" timestamptz, "version" integer,
  "created_at" timestamptz, "updated_at" timestamptz, "told_users" text[], "told_seqs" bigint[]
) LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  v_list integer;
  v_user text;
BEGIN
  SELECT t.list_id INTO v_list FROM tasks t WHERE t.id = p_id;
  IF v_list IS NULL THEN RETURN; END IF;
  FOREACH v_user IN ARRAY array(SELECT m.user_id FROM list_members m WHERE m.list_id = v_list ORDER BY m.user_id) LOOP
    PERFORM 1 FROM user_changes u WHERE u.user_id = v_user FOR UPDATE;
  END LOOP;
  IF NOT EXISTS (SELECT 1 FROM tasks c WHERE c.list_id = v_list AND c.parent_id = p_id) THEN
    RETURN QUERY
    WITH ch AS (
      UPDATE tasks t SET
        completed = coalesce(p_completed, NOT t.completed),
        completed_at = CASE WHEN coalesce(p_completed, NOT t.completed)
          THEN (CASE WHEN t.completed THEN t.completed_at ELSE greatest(statement_timestamp(), t.updated_at + interval '1 millisecond') END) END,
        version = t.version + 1,
        updated_at = greatest(statement_timestamp(), t.updated_at + interval '1 millisecond')
      WHERE t.id = p_id AND t.list_id = v_list AND t.parent_id IS NULL AND t.recurrence IS NULL AND (p_versions IS NULL OR t.version = ANY(p_versions))
        AND EXISTS (SELECT 1 FROM list_members may WHERE may.list_id = v_list AND may.user_id = p_user AND may.role = ANY(p_roles))
      RETURNING t.id, t.user_id, t.list_id, t.parent_id, t.position, t.assignee_id, t.uid, t.title, t.description, t.priority, t.tags, t.due_at, t.recurrence,
        t.repeat_from, t.time_zone, t.reminders, t.completed, t.completed_at, t.version, t.created_at, t.updated_at
    ),
    fan_s AS (
      UPDATE user_changes u SET seq = u.seq + 1
      WHERE u.user_id = ANY(array(SELECT m.user_id FROM list_members m WHERE m.list_id = v_list)) AND EXISTS (SELECT 1 FROM ch)
      RETURNING u.user_id, u.seq
    ),
    -- Kind 1: tasks (src/tasks/tasks.feed.ts).
    fan_f AS (
      INSERT INTO feed_entries (user_id, kind, entity_id, seq, deleted)
      SELECT fan_s.user_id, 1, p_id, fan_s.seq, false FROM fan_s
      ON CONFLICT (user_id, kind, entity_id) DO UPDATE SET seq = excluded.seq, deleted = excluded.deleted, changed_at = now()
    )
    SELECT ch.id, ch.user_id, ch.list_id, ch.parent_id, ch.position, ch.assignee_id, ch.uid, ch.title, ch.description, ch.priority, ch.tags,
      ch.due_at, ch.recurrence, ch.repeat_from, ch.time_zone, ch.reminders, ch.completed, ch.completed_at, ch.version, ch.created_at, ch.updated_at,
      array(SELECT fan_s.user_id FROM fan_s ORDER BY fan_s.user_id), array(SELECT fan_s.seq FROM fan_s ORDER BY fan_s.user_id)
    FROM ch;
    IF FOUND THEN RETURN; END IF;
  END IF;
  RETURN QUERY SELECT * FROM task_complete_tree(p_id, p_user, p_completed, p_versions, p_roles);
END
$$;

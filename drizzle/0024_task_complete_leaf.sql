-- A completion of a task that has no subtask and no parent (most of them) in one plain UPDATE (issue
-- 29: the database's cost per write). task_complete (migration 0018) changed every task the same
-- way: one statement with the cascade down (the subtree, recursively) and up (the completed
-- ancestors), its numbering (a window) and its checks; PostgreSQL initialises every part of it at
-- each call, and for a task with no tree that was a fifth of the toggle's cost in the database
-- (1.66 M instructions against 1.31 M now, callgrind on a single-user backend, 30,000 tasks). Now,
-- once the members' counters are held (one by one in user_id order, as feed_advance, migration
-- 0022, takes them), a task with no subtask is changed by a statement without the cascade, whose
-- UPDATE also requires no parent; when that writes nothing (a subtask, or a check that failed),
-- the statement of 0018 runs as before and decides. With the counters held the list's tree cannot
-- change (every write to the list takes them first), and each statement of a VOLATILE function
-- reads with a snapshot taken when it starts: the check for subtasks and the UPDATE see the tree as
-- it is. Same arguments, same result columns, same rows as 0018.
CREATE OR REPLACE FUNCTION "task_complete"("p_id" integer, "p_user" text, "p_completed" boolean, "p_versions" integer[], "p_roles" list_role[])
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
  RETURN QUERY
  WITH RECURSIVE
  go AS (
    SELECT h.id, coalesce(p_completed, NOT h.completed) AS completing FROM tasks h
    WHERE h.id = p_id AND h.list_id = v_list AND h.recurrence IS NULL AND (p_versions IS NULL OR h.version = ANY(p_versions))
      AND EXISTS (SELECT 1 FROM list_members may WHERE may.list_id = v_list AND may.user_id = p_user AND may.role = ANY(p_roles))
  ),
  sub(id, completed, depth) AS (
    SELECT s.id, s.completed, 0 FROM tasks s WHERE s.id = p_id
    UNION ALL SELECT t.id, t.completed, sub.depth + 1 FROM tasks t JOIN sub ON t.parent_id = sub.id WHERE t.list_id = v_list AND sub.depth < 10
  ),
  down AS (SELECT sub.id FROM sub WHERE sub.depth > 0 AND NOT sub.completed AND (SELECT completing FROM go)),
  anc(id, parent_id, completed, level) AS (
    SELECT a.id, a.parent_id, a.completed, 0 FROM tasks a WHERE a.id = p_id
    UNION ALL SELECT t.id, t.parent_id, t.completed, anc.level + 1 FROM tasks t JOIN anc ON t.id = anc.parent_id WHERE anc.level < 10
  ),
  up AS (SELECT anc.id FROM anc WHERE anc.level > 0 AND anc.completed AND NOT (SELECT completing FROM go)),
  -- Strictly later than each row's last change (tasks.repository.ts, NOW).
  ch AS (
    UPDATE tasks t SET
      completed = CASE WHEN t.id = p_id THEN (SELECT completing FROM go) ELSE t.id = ANY(array(SELECT down.id FROM down)) END,
      completed_at = CASE
        WHEN t.id = p_id THEN (CASE WHEN (SELECT completing FROM go) THEN (CASE WHEN t.completed THEN t.completed_at ELSE greatest(statement_timestamp(), t.updated_at + interval '1 millisecond') END) END)
        WHEN t.id = ANY(array(SELECT down.id FROM down)) THEN greatest(statement_timestamp(), t.updated_at + interval '1 millisecond') END,
      version = t.version + 1,
      updated_at = greatest(statement_timestamp(), t.updated_at + interval '1 millisecond')
    WHERE t.id = ANY(array[p_id] || array(SELECT down.id FROM down) || array(SELECT up.id FROM up)) AND t.list_id = v_list AND EXISTS (SELECT 1 FROM go)
    RETURNING t.id, t.user_id, t.list_id, t.parent_id, t.position, t.assignee_id, t.uid, t.title, t.description, t.priority, t.tags, t.due_at, t.recurrence,
      t.repeat_from, t.time_zone, t.reminders, t.completed, t.completed_at, t.version, t.created_at, t.updated_at
  ),
  chn AS (SELECT ch.*, row_number() OVER (ORDER BY ch.id) AS rn FROM ch),
  cnt AS (SELECT count(*)::int AS n FROM ch),
  fan_s AS (
    UPDATE user_changes u SET seq = u.seq + cnt.n FROM cnt
    WHERE u.user_id IN (SELECT m.user_id FROM list_members m WHERE m.list_id = v_list) AND cnt.n > 0
    RETURNING u.user_id, u.seq, cnt.n
  ),
  -- Kind 1: tasks (src/tasks/tasks.feed.ts).
  fan_f AS (
    INSERT INTO feed_entries (user_id, kind, entity_id, seq, deleted)
    SELECT fan_s.user_id, 1, chn.id, fan_s.seq - fan_s.n + chn.rn, false FROM fan_s, chn
    ON CONFLICT (user_id, kind, entity_id) DO UPDATE SET seq = excluded.seq, deleted = excluded.deleted, changed_at = now()
  )
  SELECT chn.id, chn.user_id, chn.list_id, chn.parent_id, chn.position, chn.assignee_id, chn.uid, chn.title, chn.description, chn.priority, chn.tags,
    chn.due_at, chn.recurrence, chn.repeat_from, chn.time_zone, chn.reminders, chn.completed, chn.completed_at, chn.version, chn.created_at, chn.updated_at,
    array(SELECT fan_s.user_id FROM fan_s ORDER BY fan_s.user_id), array(SELECT fan_s.seq FROM fan_s ORDER BY fan_s.user_id)
  FROM chn WHERE chn.id = p_id;
END
$$;

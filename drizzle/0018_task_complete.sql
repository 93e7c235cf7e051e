-- A completion (PATCH /tasks/{id}/complete) of a task that does not recur, in one round trip
-- (issue 29: the database's cost per write; issue 21: no slower than before the lists).
-- The three steps of src/tasks/tasks.tree.ts in one call: (1) the feed counters of the members of
-- the task's list locked in user_id order, (2) the checks, (3) one statement that changes the task
-- and its cascade (completing completes the pending descendants, reopening reopens the completed
-- ancestors) and records each changed task in every member's feed. A VOLATILE function takes a new
-- snapshot for each statement it runs (READ COMMITTED), so the statement of step 3 reads the tree as
-- it is once the counters are held: a subtask created or completed while the call waited for them
-- is seen. Run as three statements of a transaction from the server, the same held the counters
-- over two more round trips to the server, where 32 writers of one list then waited.
-- No row: the task is not there, was moved meanwhile, recurs, is at another version than
-- p_versions (when given) or the caller's role is not one of p_roles; nothing was written, and the
-- server takes tasks.tree.ts's way, which says why. p_completed null: a toggle.
-- The columns returned are TaskSchema's (tasks.schemas.ts) and the members told: a field added to
-- the task is added here (the route tests compare whole tasks).
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
BEGIN
  SELECT t.list_id INTO v_list FROM tasks t WHERE t.id = p_id;
  IF v_list IS NULL THEN RETURN; END IF;
  PERFORM 1 FROM user_changes u WHERE u.user_id IN (SELECT m.user_id FROM list_members m WHERE m.list_id = v_list) ORDER BY u.user_id FOR UPDATE;
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

-- The feed counters of a list's members, taken and moved on by a function (issue 29 and issue 21:
-- what a write does while it holds the counters sets one user's write rate). A write's statement
-- that locks the counters itself, and finds them changed by the write it waited for, is run again
-- for the new row versions (EvalPlanQual): PostgreSQL then initialises every part of that statement
-- a second time, about a quarter of a create's PostgreSQL time under 32 connections of one user,
-- all of it while holding the counters (perf, `npm run bench -- --scenarios create`). Here the lock
-- is taken by a statement of its own (the members' counters in user_id order, as src/feed/feed.ts's
-- fanOut takes them), and the update that follows runs with a snapshot taken once they are held, so
-- it never waits and nothing is run again. A VOLATILE PL/pgSQL function takes a snapshot for each of
-- its statements (READ COMMITTED), as task_complete (migration 0018) does.
-- p_step: how many numbers the write takes in each member's feed; the rows returned carry the last
-- of them. p_count: tasks added to the count of the list's owner, refused (no row returned, nothing
-- moved) when that would exceed p_max. No row either when the list has no members (gone, or p_list
-- null: the caller's checks failed).
CREATE FUNCTION "feed_advance"("p_list" integer, "p_step" integer, "p_count" integer, "p_max" integer)
RETURNS TABLE ("user_id" text, "seq" bigint, "owner" boolean) LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
  IF p_list IS NULL THEN RETURN; END IF;
  PERFORM 1 FROM user_changes u WHERE u.user_id IN (SELECT m.user_id FROM list_members m WHERE m.list_id = p_list) ORDER BY u.user_id FOR UPDATE;
  RETURN QUERY
  UPDATE user_changes u SET seq = u.seq + p_step, task_count = u.task_count + CASE WHEN m.role = 'owner' THEN p_count ELSE 0 END
  FROM list_members m
  WHERE m.list_id = p_list AND u.user_id = m.user_id
    AND (p_count <= 0 OR EXISTS (SELECT 1 FROM list_members o JOIN user_changes c ON c.user_id = o.user_id
                                 WHERE o.list_id = p_list AND o.role = 'owner' AND c.task_count + p_count <= p_max))
  RETURNING u.user_id, u.seq, m.role = 'owner';
END
$$;

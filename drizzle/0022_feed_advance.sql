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
-- Each statement finds its rows through a primary key or the members' index, whatever the
-- statistics say: a plan made when the tables were small (PL/pgSQL keeps one per connection) must
-- not read every counter of every user.
CREATE FUNCTION "feed_advance"("p_list" integer, "p_step" integer, "p_count" integer, "p_max" integer)
RETURNS TABLE ("user_id" text, "seq" bigint, "owner" boolean) LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  v_user text;
BEGIN
  IF p_list IS NULL THEN RETURN; END IF;
  -- One by one, in user_id order: a lookup of one key keeps one plan (an array of keys is planned
  -- again at every call).
  FOREACH v_user IN ARRAY array(SELECT m.user_id FROM list_members m WHERE m.list_id = p_list ORDER BY m.user_id) LOOP
    PERFORM 1 FROM user_changes u WHERE u.user_id = v_user FOR UPDATE;
  END LOOP;
  -- The members and the owner once the counters are held (a member who joined meanwhile is told too).
  RETURN QUERY
  WITH o AS (SELECT m.user_id FROM list_members m WHERE m.list_id = p_list AND m.role = 'owner')
  UPDATE user_changes u SET seq = u.seq + p_step, task_count = u.task_count + CASE WHEN u.user_id = (SELECT o.user_id FROM o) THEN p_count ELSE 0 END
  WHERE u.user_id = ANY(array(SELECT m.user_id FROM list_members m WHERE m.list_id = p_list))
    AND (p_count <= 0 OR (SELECT c.task_count FROM user_changes c WHERE c.user_id = (SELECT o.user_id FROM o)) + p_count <= p_max)
  RETURNING u.user_id, u.seq, u.user_id = (SELECT o.user_id FROM o);
END
$$;

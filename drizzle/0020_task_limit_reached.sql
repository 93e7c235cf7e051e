-- A create that takes its list's feed counters last (issue 29: one user's writes take turns on
-- those counters, and a create inserted the task, its 13 indexes and its triggers while holding
-- them). The create checks the list owner's task limit before inserting, from the counter as it
-- was, and again once the counter is locked: when creates racing for the last places passed the
-- first check, the second stops the statement with this error (nothing of it is kept), and the
-- server answers 403 TASK_LIMIT_REACHED (src/tasks/tasks.repository.ts, create).
CREATE OR REPLACE FUNCTION "task_limit_reached"() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the list owner''s task limit was reached meanwhile' USING ERRCODE = 'TL001';
END
$$;

-- The position a create places a task at, read once the list's feed counters are held (issue 29's
-- writes; API.md, version 3, "position": "after its last sibling"). Read by the create's statement
-- itself, the last sibling came from the statement's snapshot, taken before it waited for the
-- counters: creates that waited on each other read the same last sibling and got the same key (30 at
-- once in one list: 22 distinct keys). The contract orders equal keys by id, but a client that mints
-- a key between two equal neighbours gets an error from fractional-indexing. A VOLATILE PL/pgSQL
-- function reads with a snapshot of its own, taken when it is called: after the counters are held
-- (src/tasks/tasks.repository.ts calls it after them), when every create that held them before has
-- committed. Read backwards in tasks_list_parent_position_idx (parent_id first), as before: one row.
CREATE FUNCTION "task_last_position"("p_list" integer, "p_parent" integer) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF p_parent IS NULL THEN
    RETURN (SELECT s.position FROM tasks s WHERE s.list_id = p_list AND s.parent_id IS NULL
            ORDER BY s.parent_id DESC NULLS FIRST, s.position DESC, s.id DESC LIMIT 1);
  END IF;
  RETURN (SELECT s.position FROM tasks s WHERE s.list_id = p_list AND s.parent_id = p_parent
          ORDER BY s.parent_id DESC NULLS FIRST, s.position DESC, s.id DESC LIMIT 1);
END
$$;

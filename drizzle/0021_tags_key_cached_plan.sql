-- The lower-cased tags (tasks.tags_key, the ?tag= filter's key) computed with a plan made once per
-- connection (issue 29: the database's cost per write). As a SQL function that cannot be inlined
-- (its body reads FROM unnest), task_tags_key was parsed and planned again by every statement that
-- inserts a task or changes its tags, for the generated column: about 3% of PostgreSQL's CPU in a
-- create (perf, `npm run bench -- --scenarios create`). PL/pgSQL keeps the plan of its one query
-- for the connection's life. Same body, same results, still IMMUTABLE and STRICT: the stored keys
-- and the index on them stay valid, and nothing is rewritten.
CREATE OR REPLACE FUNCTION task_tags_key(tags text[]) RETURNS text[] LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ BEGIN RETURN (SELECT coalesce(array_agg(lower(t)), '{}'::text[]) FROM unnest(tags) AS t); END $$;

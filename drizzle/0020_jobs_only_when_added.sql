-- A job is added only when there is one to add (issue 29: background work must not cost the
-- foreground). graphile_worker.add_jobs called with no job still runs its statements and sends a
-- `jobs:insert` notification, which wakes the job runner of every instance into fetching jobs: about
-- 0.8 ms of the database's time, and a fetch per instance, for nothing. webhook_record made that
-- call for every write of every user once anyone had a webhook (its deliveries for the writer's
-- lists being none), and every reminder made it twice (no webhook, no Web Push subscription): 4 ms
-- of PostgreSQL a reminder, 10,000 reminders due in one minute taking two thirds of a core.
-- Now webhook_record returns at once when there is no event or no enabled webhook, and adds the
-- delivery jobs only when it recorded deliveries. What it records is unchanged. It keeps jit = off
-- (migration 0016): CREATE OR REPLACE would otherwise drop it, and every write of every user would
-- pay LLVM's compilation (about 35 ms here) once anyone has a webhook, behind a pooler.
CREATE OR REPLACE FUNCTION "webhook_record"(ev jsonb) RETURNS void LANGUAGE plpgsql SET jit = off AS $$
DECLARE
  ids text[];
BEGIN
  IF jsonb_array_length(ev) = 0 OR NOT EXISTS (SELECT 1 FROM webhooks WHERE enabled) THEN RETURN; END IF;
  WITH e AS (
    SELECT x->>'type' AS type, (x->>'list_id')::int AS list_id, x->>'only_user' AS only_user, x->'data' AS data
    FROM jsonb_array_elements(ev) x
  ), d AS (
    INSERT INTO webhook_deliveries (id, webhook_id, type, payload, next_attempt_at)
    SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), w.id, e.type,
      jsonb_build_object('type', e.type, 'timestamp', api_instant(statement_timestamp()),
        'data', CASE WHEN e.data ? '__list_for' THEN jsonb_build_object('list', list_api_json(l, w.user_id)) ELSE e.data END),
      statement_timestamp()
    FROM e
    JOIN webhooks w ON w.enabled AND w.events && ARRAY[e.type, '*']
      AND (CASE WHEN e.only_user IS NOT NULL THEN w.user_id = e.only_user
                ELSE EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = e.list_id AND m.user_id = w.user_id) END)
    LEFT JOIN lists l ON l.id = e.list_id
    WHERE NOT (e.data ? '__list_for') OR EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = e.list_id AND m.user_id = w.user_id)
    RETURNING id
  )
  SELECT array_agg(id) INTO ids FROM d;
  IF ids IS NOT NULL THEN
    PERFORM count(*) FROM graphile_worker.add_jobs(array(
      SELECT row('webhook.deliver', json_build_object('id', i), null, null, 25::smallint, null, null, null)::graphile_worker.job_spec FROM unnest(ids) i));
  END IF;
END
$$;
--> statement-breakpoint
-- The task events build their JSON only when a member of an affected list has an enabled webhook:
-- webhook_record records deliveries for no one else, so a write of a user with no webhook in reach
-- costs the same whether or not others have webhooks (it was about 0.5 ms more per write once
-- anyone had one). What is recorded is unchanged.
CREATE OR REPLACE FUNCTION "tasks_webhook_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhooks) THEN RETURN NULL; END IF;
  IF TG_OP = 'DELETE' THEN
    IF NOT EXISTS (SELECT 1 FROM (SELECT DISTINCT list_id FROM old_rows) r JOIN list_members m ON m.list_id = r.list_id
                   JOIN webhooks w ON w.user_id = m.user_id AND w.enabled) THEN RETURN NULL; END IF;
  ELSIF NOT EXISTS (SELECT 1 FROM (SELECT DISTINCT list_id FROM new_rows) r JOIN list_members m ON m.list_id = r.list_id
                    JOIN webhooks w ON w.user_id = m.user_id AND w.enabled) THEN RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object(
      'type', CASE WHEN coalesce(current_setting('app.task_restore', true), '') = 'on' THEN 'task.restored' ELSE 'task.created' END,
      'list_id', n.list_id, 'data', jsonb_build_object('task', task_api_json(n))) ORDER BY n.id), '[]') FROM new_rows n));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object(
      -- A recurring task's completion advances it (it stays pending) and records a completion in
      -- the same statement: that is a completion too (API.md, "Webhooks").
      'type', CASE WHEN (n.completed AND NOT o.completed)
        OR EXISTS (SELECT 1 FROM task_completions c WHERE c.task_id = n.id AND c.completed_at = n.updated_at) THEN 'task.completed' ELSE 'task.updated' END,
      'list_id', n.list_id, 'data', jsonb_build_object('task', task_api_json(n))) ORDER BY n.id), '[]')
      FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.version <> o.version));
  ELSE
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object('type', 'task.deleted', 'list_id', o.list_id, 'data', jsonb_build_object('task', task_api_json(o))) ORDER BY o.id), '[]') FROM old_rows o));
  END IF;
  RETURN NULL;
END
$$;

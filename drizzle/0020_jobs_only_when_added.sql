-- A job is added only when there is one to add (issue 29: background work must not cost the
-- foreground). graphile_worker.add_jobs called with no job still runs its statements and sends a
-- `jobs:insert` notification, which wakes the job runner of every instance into fetching jobs: about
-- 0.8 ms of the database's time, and a fetch per instance, for nothing. webhook_record made that
-- call for every write of every user once anyone had a webhook (its deliveries for the writer's
-- lists being none), and every reminder made it twice (no webhook, no Web Push subscription): 4 ms
-- of PostgreSQL a reminder, 10,000 reminders due in one minute taking two thirds of a core.
-- Now webhook_record returns at once when there is no event or no enabled webhook, and adds the
-- delivery jobs only when it recorded deliveries. What it records is unchanged.
CREATE OR REPLACE FUNCTION "webhook_record"(ev jsonb) RETURNS void LANGUAGE plpgsql AS $$
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

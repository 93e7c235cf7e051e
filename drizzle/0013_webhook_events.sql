-- Webhook events (API.md, "Webhooks"), recorded by triggers in the transaction of the change itself:
-- never lost for a write that committed, never sent for one that rolled back, whatever route or
-- cascade made it (each task changed by a cascade is a row, so an event of its own). A delivery per
-- (event, webhook of a member of the list that subscribed to it) and a job to send it (graphile-worker,
-- installed at start: src/jobs/). When no webhook exists at all, each trigger returns at once.
CREATE FUNCTION "api_instant"(v timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  select to_char(v at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
--> statement-breakpoint
CREATE FUNCTION "task_api_json"(t "tasks") RETURNS jsonb LANGUAGE sql STABLE AS $$
  select jsonb_build_object('id', t.id, 'user_id', t.user_id, 'list_id', t.list_id, 'uid', t.uid, 'parent_id', t.parent_id,
    'position', t.position, 'assignee_id', t.assignee_id, 'title', t.title, 'description', t.description, 'priority', t.priority,
    'tags', to_jsonb(t.tags), 'due_at', api_instant(t.due_at), 'completed', t.completed, 'completed_at', api_instant(t.completed_at),
    'version', t.version, 'created_at', api_instant(t.created_at), 'updated_at', api_instant(t.updated_at))
$$;
--> statement-breakpoint
CREATE FUNCTION "list_api_json"(l "lists", member text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  select jsonb_build_object('id', l.id, 'name', l.name, 'is_default', l.is_default and l.owner_id = member, 'owner_id', l.owner_id,
    'role', m.role, 'position', m.position,
    'open_count', (select count(*) from tasks t where t.list_id = l.id and not t.completed),
    'member_count', (select count(*) from list_members c where c.list_id = l.id),
    'version', l.version, 'created_at', api_instant(l.created_at), 'updated_at', api_instant(l.updated_at))
  from list_members m where m.list_id = l.id and m.user_id = member
$$;
--> statement-breakpoint
-- Records the events of `ev` (type, list_id, data: the delivery's `data`) for the webhooks of the list's
-- members (or of `only_user` when given) that subscribed to them, and adds a job for each delivery.
CREATE FUNCTION "webhook_record"(ev jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  added int;
BEGIN
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
  SELECT count(*) INTO added FROM graphile_worker.add_jobs(array(
    SELECT row('webhook.deliver', json_build_object('id', d.id), null, null, 25::smallint, null, null, null)::graphile_worker.job_spec FROM d));
END
$$;
--> statement-breakpoint
CREATE FUNCTION "tasks_webhook_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhooks) THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object('type', 'task.created', 'list_id', n.list_id, 'data', jsonb_build_object('task', task_api_json(n))) ORDER BY n.id), '[]') FROM new_rows n));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object(
      'type', CASE WHEN n.completed AND NOT o.completed THEN 'task.completed' ELSE 'task.updated' END,
      'list_id', n.list_id, 'data', jsonb_build_object('task', task_api_json(n))) ORDER BY n.id), '[]')
      FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.version <> o.version));
  ELSE
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object('type', 'task.deleted', 'list_id', o.list_id, 'data', jsonb_build_object('task', task_api_json(o))) ORDER BY o.id), '[]') FROM old_rows o));
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "tasks_webhook_insert" AFTER INSERT ON "tasks" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_webhook_events();
--> statement-breakpoint
CREATE TRIGGER "tasks_webhook_update" AFTER UPDATE ON "tasks" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_webhook_events();
--> statement-breakpoint
CREATE TRIGGER "tasks_webhook_delete" AFTER DELETE ON "tasks" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_webhook_events();
--> statement-breakpoint
CREATE FUNCTION "lists_webhook_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhooks) THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object('type', 'list.created', 'list_id', n.id, 'data', jsonb_build_object('__list_for', true))), '[]') FROM new_rows n));
  ELSE
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object('type', 'list.updated', 'list_id', n.id, 'data', jsonb_build_object('__list_for', true))), '[]')
      FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.version <> o.version));
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "lists_webhook_insert" AFTER INSERT ON "lists" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lists_webhook_events();
--> statement-breakpoint
CREATE TRIGGER "lists_webhook_update" AFTER UPDATE ON "lists" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lists_webhook_events();
--> statement-breakpoint
-- A deleted list: each member's webhooks get it as that member saw it, before its members go.
CREATE FUNCTION "lists_webhook_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhooks) THEN RETURN OLD; END IF;
  PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object('type', 'list.deleted', 'list_id', OLD.id, 'only_user', m.user_id,
    'data', jsonb_build_object('list', list_api_json(OLD, m.user_id)))), '[]') FROM list_members m WHERE m.list_id = OLD.id));
  RETURN OLD;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "lists_webhook_delete" BEFORE DELETE ON "lists" FOR EACH ROW EXECUTE FUNCTION lists_webhook_deleted();
--> statement-breakpoint
CREATE FUNCTION "members_webhook_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhooks) THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object('type', 'member.added', 'list_id', n.list_id,
      'data', jsonb_build_object('list_id', n.list_id, 'user_id', n.user_id, 'role', n.role))), '[]')
      FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM lists l WHERE l.id = n.list_id AND l.owner_id = n.user_id AND n.role = 'owner' AND l.version = 1)));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(jsonb_build_object('type', 'member.updated', 'list_id', n.list_id,
      'data', jsonb_build_object('list_id', n.list_id, 'user_id', n.user_id, 'role', n.role))), '[]')
      FROM new_rows n JOIN old_rows o ON o.list_id = n.list_id AND o.user_id = n.user_id WHERE n.role <> o.role));
  ELSE
    -- The removed member's own webhooks hear of it too; nothing when the whole list went.
    PERFORM webhook_record((SELECT coalesce(jsonb_agg(x), '[]') FROM (
      SELECT jsonb_build_object('type', 'member.removed', 'list_id', o.list_id, 'data', jsonb_build_object('list_id', o.list_id, 'user_id', o.user_id, 'role', o.role)) AS x
        FROM old_rows o WHERE EXISTS (SELECT 1 FROM lists l WHERE l.id = o.list_id)
      UNION ALL
      SELECT jsonb_build_object('type', 'member.removed', 'list_id', o.list_id, 'only_user', o.user_id, 'data', jsonb_build_object('list_id', o.list_id, 'user_id', o.user_id, 'role', o.role))
        FROM old_rows o WHERE EXISTS (SELECT 1 FROM lists l WHERE l.id = o.list_id)) s));
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "members_webhook_insert" AFTER INSERT ON "list_members" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION members_webhook_events();
--> statement-breakpoint
CREATE TRIGGER "members_webhook_update" AFTER UPDATE ON "list_members" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION members_webhook_events();
--> statement-breakpoint
CREATE TRIGGER "members_webhook_delete" AFTER DELETE ON "list_members" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION members_webhook_events();

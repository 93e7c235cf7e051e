'use client';
/**
 * Webhooks: add one (its URL, the events it gets), its signing secret shown once with a Copy
 * button, the list, each one's deliveries (status, attempts, next attempt; refreshed every 2 s while
 * open), redeliver, turn on again (after a 410), delete.
 */
import { WEBHOOK_EVENTS, type TaskClient, type Webhook, type WebhookCreated, type WebhookDelivery, type WebhookEvent } from '@task-api/client';
import { useCallback, useEffect, useState, type FormEvent } from 'react';

import { CopyField, describe, formatTime, isUnauthorized } from './ui';

const DELIVERIES_POLL_MS = 2000;

type DeliveryState = 'queued' | 'retrying' | 'delivered' | 'gone' | 'failed';

/** What a delivery's fields say (API.md, Webhooks): waiting or retried while `next_attempt_at` is set; then delivered, gone (410) or failed. */
function deliveryState(d: WebhookDelivery): { state: DeliveryState; text: string } {
  const ok = d.last_status !== null && d.last_status >= 200 && d.last_status < 300;
  const last = d.last_status === null ? 'no answer' : String(d.last_status);
  if (d.next_attempt_at !== null) {
    if (d.attempts === 0) return { state: 'queued', text: 'Queued' };
    return ok ? { state: 'queued', text: `Queued again (last: ${last})` } : { state: 'retrying', text: `Retrying (last: ${last})` };
  }
  if (d.attempts === 0) return { state: 'failed', text: 'Not sent (the webhook was off)' };
  if (ok) return { state: 'delivered', text: `Delivered (${last})` };
  if (d.last_status === 410) return { state: 'gone', text: 'Gone (410): webhook turned off' };
  return { state: 'failed', text: `Failed (${last})` };
}

function Deliveries({ client, hook, onError }: { client: TaskClient; hook: Webhook; onError: (text: string | null) => void }) {
  const [deliveries, setDeliveries] = useState<WebhookDelivery[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setDeliveries(await client.webhooks.deliveries(hook.id));
    } catch (err) {
      if (!isUnauthorized(err)) onError(describe(err));
    }
  }, [client, hook.id, onError]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), DELIVERIES_POLL_MS);
    return () => clearInterval(timer);
  }, [load]);

  async function redeliver(id: string) {
    try {
      await client.webhooks.redeliver(hook.id, id);
      setNotice('Redelivery scheduled.');
      onError(null);
      await load();
    } catch (err) {
      if (!isUnauthorized(err)) onError(describe(err));
    }
  }

  if (deliveries === null) return <p className="muted">Loading deliveries…</p>;
  return (
    <div data-testid="deliveries">
      <div className="row">
        <span className="muted" data-testid="deliveries-count">
          {deliveries.length === 0 ? 'No deliveries yet' : `${deliveries.length} ${deliveries.length === 1 ? 'delivery' : 'deliveries'} (the latest 100, newest first)`}
        </span>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
        {notice ? (
          <span className="muted" role="status" data-testid="deliveries-notice">
            {notice}
          </span>
        ) : null}
      </div>
      {deliveries.length > 0 ? (
        <table className="deliveries">
          <thead>
            <tr>
              <th>Event</th>
              <th>Status</th>
              <th>Attempts</th>
              <th>Next attempt</th>
              <th>Delivery id</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {deliveries.map((d) => {
              const { state, text } = deliveryState(d);
              return (
                <tr key={d.id} data-testid="delivery" data-id={d.id} data-state={state}>
                  <td data-testid="delivery-type">{d.type}</td>
                  <td data-testid="delivery-status" className={`status-${state}`}>
                    {text}
                  </td>
                  <td data-testid="delivery-attempts">{d.attempts}</td>
                  <td data-testid="delivery-time">{d.next_attempt_at ? formatTime(d.next_attempt_at) : '—'}</td>
                  <td>
                    <code className="muted">{d.id}</code>
                  </td>
                  <td>
                    <button type="button" onClick={() => void redeliver(d.id)} aria-label={`Redeliver ${d.type} ${d.id}`}>
                      Redeliver
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

export function WebhooksPanel({ client }: { client: TaskClient }) {
  const [hooks, setHooks] = useState<Webhook[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<WebhookCreated | null>(null);
  const [url, setUrl] = useState('');
  const [all, setAll] = useState(true);
  const [events, setEvents] = useState<Set<Exclude<WebhookEvent, '*'>>>(new Set());
  const [open, setOpen] = useState<Set<number>>(new Set());
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setHooks(await client.webhooks.list());
    } catch (err) {
      if (!isUnauthorized(err)) setError(describe(err));
    }
  }, [client]);

  useEffect(() => {
    void load();
  }, [load]);

  async function run(action: () => Promise<unknown>) {
    try {
      await action();
      setError(null);
    } catch (err) {
      if (!isUnauthorized(err)) setError(describe(err));
    }
    await load();
  }

  async function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const chosen: WebhookEvent[] = all ? ['*'] : WEBHOOK_EVENTS.filter((e) => events.has(e));
    if (chosen.length === 0) {
      setError('Choose at least one event (or all of them).');
      return;
    }
    setBusy(true);
    await run(async () => {
      const made = await client.webhooks.create({ url: url.trim(), events: chosen });
      setCreated(made);
      setUrl('');
      setAll(true);
      setEvents(new Set());
    });
    setBusy(false);
  }

  const toggleEvent = (e: Exclude<WebhookEvent, '*'>, on: boolean) =>
    setEvents((current) => {
      const next = new Set(current);
      if (on) next.add(e);
      else next.delete(e);
      return next;
    });
  const toggleOpen = (id: number) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <section className="settings" aria-labelledby="webhooks-heading" data-testid="webhooks">
      <h2 id="webhooks-heading">Webhooks</h2>
      <p className="muted">
        The API sends each event of your lists to these URLs as a signed <code>POST</code> (Standard Webhooks: verify it with the
        secret). Failed deliveries are retried for about 4 days.
      </p>
      {error ? (
        <p className="error" role="alert" data-testid="webhooks-error">
          {error}
        </p>
      ) : null}

      <form onSubmit={(e) => void add(e)} aria-label="New webhook" data-testid="webhook-form">
        <fieldset>
          <legend>Add a webhook</legend>
          <div className="row">
            <label className="wide">
              Endpoint URL
              <input type="url" required maxLength={2000} value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.com/hooks/tasks" />
            </label>
            <button className="primary" type="submit" disabled={busy}>
              Add webhook
            </button>
          </div>
          <div className="events" role="group" aria-label="Events">
            <label>
              <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} />
              All events
            </label>
            {WEBHOOK_EVENTS.map((e) => (
              <label key={e}>
                <input type="checkbox" disabled={all} checked={all || events.has(e)} onChange={(ev) => toggleEvent(e, ev.target.checked)} />
                {e}
              </label>
            ))}
          </div>
        </fieldset>
      </form>

      {created ? (
        <div className="secret" role="status" data-testid="webhook-secret-box">
          <p>
            Webhook added for <strong>{created.url}</strong>. Its signing secret is shown <strong>only now</strong>: copy it into your
            receiver.
          </p>
          <CopyField value={created.secret} label="Signing secret" button="Copy secret" testid="webhook-secret" />
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      ) : null}

      {hooks === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <p className="muted" data-testid="webhooks-count">
          {hooks.length === 0 ? 'No webhooks yet' : `${hooks.length} ${hooks.length === 1 ? 'webhook' : 'webhooks'}`}
        </p>
      )}
      <ul className="settings-list">
        {(hooks ?? []).map((hook) => (
          <li key={hook.id} data-testid="webhook" data-id={hook.id} data-enabled={String(hook.enabled)}>
            <div className="item-head">
              <span className="what" data-testid="webhook-url">
                {hook.url}
              </span>
              <span className="actions">
                <button type="button" aria-expanded={open.has(hook.id)} onClick={() => toggleOpen(hook.id)}>
                  {open.has(hook.id) ? 'Hide deliveries' : 'Deliveries'}
                </button>
                {hook.enabled ? null : (
                  <button type="button" onClick={() => void run(() => client.webhooks.update(hook.id, { enabled: true }))}>
                    Turn on again
                  </button>
                )}
                <button type="button" className="danger" onClick={() => void run(() => client.webhooks.delete(hook.id))}>
                  Delete
                </button>
              </span>
            </div>
            <div className="muted">
              <span data-testid="webhook-events">{hook.events.includes('*') ? 'All events' : hook.events.join(', ')}</span>
              {' · '}
              <span data-testid="webhook-state">{hook.enabled ? 'On' : 'Off (the endpoint answered 410)'}</span>
              {' · added '}
              {formatTime(hook.created_at)}
            </div>
            {open.has(hook.id) ? <Deliveries client={client} hook={hook} onError={setError} /> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

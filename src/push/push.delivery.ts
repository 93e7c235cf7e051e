import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import webpush from 'web-push';
import type { VapidKeys } from '../config.js';
import { guardedLookup, isPublicAddress } from '../lib/public-address.js';

/** The largest payload the API sends (UTF-8 bytes of the JSON): push services refuse above ~4 KB once encrypted. */
export const PUSH_PAYLOAD_MAX_BYTES = 3000;

export type Urgency = 'very-low' | 'low' | 'normal' | 'high';

export interface DeliveryOptions {
  vapid: VapidKeys;
  /** Seconds the push service keeps it for an offline browser. */
  ttlSeconds: number;
  urgency: Urgency;
  /** A newer message with the same topic replaces an undelivered older one (RFC 8030 §5.4). */
  topic?: string | undefined;
  allowPrivate: boolean;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** What the push service answered: delivered, gone (remove the subscription), refused for good, or worth a retry. */
export type DeliveryResult =
  | { outcome: 'delivered'; status: number }
  | { outcome: 'gone'; status: 404 | 410 }
  | { outcome: 'refused'; status?: number; reason: string }
  | { outcome: 'retry'; status?: number; reason: string };

/**
 * Sends one encrypted message (RFC 8291, aes128gcm) with VAPID (RFC 8292) to a subscription. The
 * connection goes only to the public addresses the endpoint's host resolves to, checked in the
 * connection's own resolution (unless allowPrivate), and no redirect is followed. Never throws for
 * what the network or the push service does: the result says it, without the endpoint (a secret).
 */
export function deliver(subscription: { endpoint: string; p256dh: string; auth: string }, payload: string, options: DeliveryOptions): Promise<DeliveryResult> {
  const details = webpush.generateRequestDetails({ endpoint: subscription.endpoint, keys: { p256dh: subscription.p256dh, auth: subscription.auth } }, payload, {
    vapidDetails: { subject: options.vapid.subject, publicKey: options.vapid.publicKey, privateKey: options.vapid.privateKey },
    TTL: options.ttlSeconds,
    urgency: options.urgency,
    contentEncoding: 'aes128gcm',
    ...(options.topic === undefined ? {} : { topic: options.topic }),
  });
  const url = new URL(details.endpoint);
  // A literal address is connected to without a lookup: checked here.
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (!options.allowPrivate && isIP(literal) !== 0 && !isPublicAddress(literal)) {
    return Promise.resolve({ outcome: 'refused', reason: 'the endpoint is on a private, loopback or link-local address' });
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(details.headers)) headers[k] = String(v);
  return new Promise<DeliveryResult>((resolve) => {
    let settled = false;
    const finish = (result: DeliveryResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const req = send(
      url,
      { method: 'POST', headers, lookup: guardedLookup(options.allowPrivate), timeout: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) },
      (res) => {
        const status = res.statusCode ?? 0;
        // The answer's body is not needed (a few bytes of text at most): read and dropped.
        res.resume();
        res.on('end', () => {
          if (status >= 200 && status < 300) finish({ outcome: 'delivered', status });
          else if (status === 404 || status === 410) finish({ outcome: 'gone', status });
          else if (status === 408 || status === 425 || status === 429 || status >= 500) finish({ outcome: 'retry', status, reason: `the push service answered ${status}` });
          else finish({ outcome: 'refused', status, reason: `the push service answered ${status}` });
        });
        res.on('error', () => finish({ outcome: 'retry', status, reason: 'the answer broke off' }));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) =>
      finish(
        err.code === 'EPRIVATEADDRESS'
          ? { outcome: 'refused', reason: 'the endpoint now resolves to a private, loopback or link-local address' }
          : { outcome: 'retry', reason: err.code ?? err.name },
      ),
    );
    req.end(details.body);
  });
}

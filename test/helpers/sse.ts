/**
 * A Server-Sent Events client over node:http, parsing the stream as the WHATWG spec says
 * (fields id, event, data, retry; a blank line dispatches; `:` starts a comment). It records every
 * event with when it arrived, and can stop reading (pause) to play a stalled reader.
 */
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
  /** performance.now() when it was dispatched. */
  at: number;
}

export interface SseStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body when the status was not 200. */
  body: string;
  events: SseEvent[];
  comments: number;
  retry: number | undefined;
  /** The last id seen (what EventSource would send as Last-Event-ID). */
  lastEventId: string | undefined;
  /** Resolves with the first event (from the start, or after `after` events) that `match` accepts. */
  next(match?: (e: SseEvent) => boolean, timeoutMs?: number, after?: number): Promise<SseEvent>;
  /** Stops reading from the socket: the server's writes pile up. */
  pause(): void;
  close(): void;
  ended: Promise<void>;
}

/** `socketPath`: talk to a server listening on a Unix socket (its small buffers fill fast). */
export function openSse(url: string, headers: Record<string, string> = {}, socketPath?: string): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers }, ...(socketPath ? { socketPath } : {}) }, (res: IncomingMessage) => {
      const waiters: { match: (e: SseEvent) => boolean; after: number; resolve: (e: SseEvent) => void }[] = [];
      let buffer = '';
      let body = '';
      let data: string[] = [];
      let event = '';
      let id: string | undefined;
      let endResolve: () => void = () => {};
      const stream: SseStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: '',
        events: [],
        comments: 0,
        retry: undefined,
        lastEventId: undefined,
        next(match = () => true, timeoutMs = 5000, after = 0) {
          const found = stream.events.slice(after).find(match);
          if (found) return Promise.resolve(found);
          return new Promise((ok, fail) => {
            const timer = setTimeout(() => fail(new Error(`no matching event within ${timeoutMs} ms (got ${stream.events.map((e) => e.event).join(', ')})`)), timeoutMs);
            waiters.push({
              match,
              after,
              resolve: (e) => {
                clearTimeout(timer);
                ok(e);
              },
            });
          });
        },
        pause: () => {
          res.pause();
          res.socket.pause();
        },
        close: () => {
          req.destroy();
          res.destroy();
        },
        ended: new Promise((r) => (endResolve = r)),
      };
      const dispatch = () => {
        if (data.length === 0 && event === '') return;
        const e: SseEvent = { id, event: event || 'message', data: data.join('\n'), at: performance.now() };
        if (id !== undefined) stream.lastEventId = id;
        stream.events.push(e);
        data = [];
        event = '';
        for (const w of [...waiters]) {
          if (stream.events.length > w.after && w.match(e)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(e);
          }
        }
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (stream.status !== 200) {
          body += chunk;
          return;
        }
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.search(/\r\n|\n|\r/)) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
          if (line === '') {
            dispatch();
            continue;
          }
          if (line.startsWith(':')) {
            stream.comments++;
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') data.push(value);
          else if (field === 'event') event = value;
          else if (field === 'id') id = value;
          else if (field === 'retry' && /^\d+$/.test(value)) stream.retry = Number(value);
        }
      });
      const finish = () => {
        stream.body = body;
        endResolve();
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
      resolve(stream);
    });
    req.on('error', reject);
    req.end();
  });
}

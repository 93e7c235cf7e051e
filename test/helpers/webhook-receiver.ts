/**
 * A webhook receiver for the tests: an HTTP server on a free loopback port that records every
 * request it gets (path, headers, body, when) and answers with the status its path asks for:
 * `/s/<status>` answers that status, `/flaky...` answers 500 the first time it gets a webhook-id and
 * 200 after, anything else 200.
 */
import { createServer } from 'node:http';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Date.now() when it arrived. */
  at: number;
}

export interface WebhookReceiver {
  /** The address of `path` on the receiver (default `/hook`). */
  url(path?: string): string;
  /** What arrived, in order. */
  readonly got: Received[];
  /** The bodies of what arrived at `path`, in order. */
  bodies(path?: string): string[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      got.push({ path, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const wanted = /^\/s\/(\d{3})/.exec(path);
      const flaky = path.startsWith('/flaky') && got.filter((g) => g.headers['webhook-id'] === req.headers['webhook-id']).length === 1;
      res.writeHead(flaky ? 500 : Number(wanted?.[1] ?? 200)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    got,
    bodies: (path = '/hook') => got.filter((g) => g.path === path).map((g) => g.body),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

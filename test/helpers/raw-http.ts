/**
 * HTTP as bytes on a socket, for what a client library would not send (malformed requests, huge
 * headers) and for holding connections open (idle, or with a request in flight).
 */
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Parses one HTTP/1.1 answer (head and body as text; the body as JSON when it is JSON). */
export function parseAnswer(text: string): RawAnswer {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  const bodyText = rest.join('\r\n\r\n');
  let body: unknown = bodyText;
  try {
    body = JSON.parse(bodyText);
  } catch {
    // not JSON: kept as text
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

/** A connection to 127.0.0.1:`port` (from `localAddress`, any 127.x on Linux), once connected. */
export function openSocket(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes `request` on a new connection and parses the one answer (read until the server closes, or `Connection: close`). */
export function rawRequest(port: number, request: string | Buffer, options: { localAddress?: string; socket?: Socket } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const start = (socket: Socket) => {
      const chunks: Buffer[] = [];
      socket.setTimeout(5000, () => socket.destroy(new Error('no answer in 5 s')));
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('error', reject);
      socket.on('close', () => resolve(parseAnswer(Buffer.concat(chunks).toString('utf8'))));
      socket.write(request);
    };
    if (options.socket) start(options.socket);
    else openSocket(port, options.localAddress).then(start, reject);
  });
}

/** Resolves when `socket` is closed by the other side (or was already). */
export function closed(socket: Socket): Promise<void> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** How one connection of a burst ended: the answer it read, or how it went without one. */
export interface BurstOutcome {
  /** Whether it wrote a request (else it stayed silent). */
  sent: boolean;
  answer?: RawAnswer;
  /** The socket error (ECONNRESET, EPIPE, …), `closed` when the server closed it unanswered, `timeout`. */
  failure?: string;
}

/**
 * Opens `sockets` connections to 127.0.0.1:`port` at once from `localAddress`. Each writes `request`
 * the moment it connects, except every `silentEvery`-th one (when given), which sends nothing.
 * Each is read until the server closes it or `timeoutMs` passes (`timeout`); silent ones the
 * server still holds when every other one has ended are closed by us (`open`).
 */
export async function burst(
  port: number,
  request: string,
  options: { sockets: number; localAddress?: string; silentEvery?: number; timeoutMs?: number },
): Promise<BurstOutcome[]> {
  const isSilent = (i: number) => options.silentEvery !== undefined && i % options.silentEvery === 0;
  /** Closes a silent socket the server still holds. */
  const leave: (() => void)[] = [];
  const one = (i: number) =>
    new Promise<BurstOutcome>((resolve) => {
      const sent = !isSilent(i);
      const socket = connect({ port, host: '127.0.0.1', localAddress: options.localAddress ?? '127.0.0.1' });
      const chunks: Buffer[] = [];
      let failure: string | undefined;
      const end = (why: string) => {
        failure ??= why;
        socket.destroy();
      };
      if (!sent) leave.push(() => end('open'));
      socket.setTimeout(options.timeoutMs ?? 10_000, () => end('timeout'));
      socket.once('connect', () => {
        if (sent) socket.write(request);
      });
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('error', (e: NodeJS.ErrnoException) => (failure ??= e.code ?? e.message));
      socket.on('close', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (text !== '') resolve({ sent, answer: parseAnswer(text), ...(failure === undefined ? {} : { failure }) });
        else resolve({ sent, failure: failure ?? 'closed' });
      });
    });
  const all = Array.from({ length: options.sockets }, (_, i) => one(i));
  await Promise.all(all.filter((_, i) => !isSilent(i)));
  for (const close of leave) close();
  return Promise.all(all);
}

import { BlockList, isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

export interface ConnectionLimits {
  /** Open connections in all; beyond, the oldest idle one is closed, or the newcomer gets a 503. */
  maxTotal: number;
  /** Open connections from one peer address (0: no per-address bound). */
  maxPerIp: number;
  /** Peers the per-address bound does not apply to (our own proxies: every client comes through them). */
  exempt(address: string): boolean;
}

interface Tracked {
  ip: string;
  /** Requests on it whose response has not finished. */
  inFlight: number;
  /** Whether a request of it was answered (then, with nothing in flight, it is an idle keep-alive). */
  served: boolean;
  /** Refused: its request is answered 503 and it is closed; still open, it counts in all, not for its address. */
  over: boolean;
  /**
   * Open for at least SETTLE_MS and read since: if it has sent no request by then, its client is
   * silent or slow. Before that, its request may sit unread in the kernel (a burst is accepted in
   * one go before any of it is read), and nothing is done to it that would close it unanswered.
   */
  settled: boolean;
}

const kTracked = Symbol('task-api.connection');
type TrackedSocket = Socket & { [kTracked]?: Tracked };

/** How long a refused connection may stay open waiting for its request. */
const OVER_LIMIT_GRACE_MS = 2000;
/** How long a new connection that has sent no request counts as one whose request may be on its way. */
const SETTLE_MS = 100;

/**
 * Bounds open connections, per peer address and in all, without resetting a client that sent a
 * request. A connection over its address's bound makes room there: the address's oldest idle
 * keep-alive connection is closed (its client reopens one when it needs it); else its oldest one
 * that has sent no request in 100 ms is refused in its place; else the newcomer is refused. A
 * refused connection's request is answered `503 SERVICE_UNAVAILABLE` with `Retry-After` and
 * `Connection: close`, in the contract's format, and it is closed if no request comes within 2 s.
 * So 1,000 sockets from one client cannot hold more than its bound, and every socket of a burst
 * from one address that sends a request is served or reads that 503, however late its request
 * is read. Refused connections still count in all (the bound in all is the open-file budget,
 * where only closing frees a descriptor): over it, the oldest idle keep-alive connection of anyone
 * is closed, else the oldest refused one that has sent nothing in 100 ms, else the oldest one
 * that has sent nothing in 100 ms (so silent sockets of many addresses cannot lock the others
 * out either), else the newcomer is refused too. Only there, at the open-file budget, can a client
 * whose request comes over 100 ms after its connection be closed unanswered.
 */
export function installConnectionLimits(app: FastifyInstance, limits: ConnectionLimits): void {
  let total = 0;
  /** Idle keep-alive connections (answered, nothing in flight, not refused), oldest first (a Set keeps insertion order). */
  const idle = new Set<TrackedSocket>();
  /** Connections not refused that have sent nothing in their first 100 ms, oldest first. */
  const quiet = new Set<TrackedSocket>();
  /** Refused connections still open, oldest first. */
  const refused = new Set<TrackedSocket>();
  /** Connections not refused, per address, oldest first. */
  const byIp = new Map<string, Set<TrackedSocket>>();
  /** Accepted (or refused) and not settled yet, in that order, with when. */
  let unsettled: { socket: TrackedSocket; at: number }[] = [];
  let settling = false;

  const silent = (s: TrackedSocket): boolean => {
    const t = s[kTracked];
    return t !== undefined && t.settled && t.inFlight === 0 && !t.served;
  };
  function forget(socket: TrackedSocket): void {
    const t = socket[kTracked];
    if (t === undefined) return;
    socket[kTracked] = undefined;
    total--;
    idle.delete(socket);
    quiet.delete(socket);
    refused.delete(socket);
    const mine = byIp.get(t.ip);
    mine?.delete(socket);
    if (mine?.size === 0) byIp.delete(t.ip);
  }
  const close = (socket: TrackedSocket) => {
    forget(socket);
    socket.destroy();
  };
  /** Settles the oldest waiting connections in SETTLE_MS (from the oldest's start), or none. */
  const schedule = () => {
    const first = unsettled[0];
    if (settling || first === undefined) return;
    settling = true;
    // An immediate queued from a timer runs after the poll phase of the timer's turn: whatever
    // their clients sent by then has been read, however long the turn that accepted them took.
    setTimeout(() => setImmediate(settle), Math.max(0, first.at + SETTLE_MS - performance.now())).unref();
  };
  /** Settles the connections open for SETTLE_MS, then waits for the next one. */
  const settle = () => {
    settling = false;
    const now = performance.now();
    let n = 0;
    for (const { socket, at } of unsettled) {
      if (now - at < SETTLE_MS) break;
      n++;
      const t = socket[kTracked];
      if (t === undefined) continue;
      t.settled = true;
      if (!t.over && !t.served && t.inFlight === 0) quiet.add(socket);
    }
    unsettled = unsettled.slice(n);
    schedule();
  };
  /** Counts `socket` as one whose request may be on its way for the next SETTLE_MS. */
  const watch = (socket: TrackedSocket) => {
    (socket[kTracked] as Tracked).settled = false;
    unsettled.push({ socket, at: performance.now() });
    schedule();
  };
  /** Refuses an open connection: its next request is a 503, and it is closed after 2 s without one. */
  const refuse = (socket: TrackedSocket) => {
    const t = socket[kTracked] as Tracked;
    t.over = true;
    idle.delete(socket);
    quiet.delete(socket);
    const mine = byIp.get(t.ip);
    mine?.delete(socket);
    if (mine?.size === 0) byIp.delete(t.ip);
    refused.add(socket);
    watch(socket);
    socket.setTimeout(OVER_LIMIT_GRACE_MS, () => socket.destroy());
  };
  /** Makes room among one address's connections; whether there was any. */
  const roomAt = (mine: Set<TrackedSocket>): boolean => {
    for (const s of mine) {
      if (idle.has(s)) {
        close(s);
        return true;
      }
    }
    for (const s of mine) {
      if (quiet.has(s)) {
        refuse(s);
        return true;
      }
    }
    return false;
  };
  /**
   * Makes room in all, where only closing frees a descriptor: the oldest idle keep-alive
   * connection, else the oldest refused one that has sent nothing, else the oldest of anyone that
   * has sent nothing in 100 ms; whether there was one.
   */
  const roomInAll = (): boolean => {
    let victim: TrackedSocket | undefined = idle.values().next().value;
    if (victim === undefined) {
      for (const s of refused) {
        if (silent(s)) {
          victim = s;
          break;
        }
      }
    }
    victim ??= quiet.values().next().value;
    if (victim === undefined) return false;
    close(victim);
    return true;
  };

  app.server.on('connection', (socket: TrackedSocket) => {
    const ip = socket.remoteAddress ?? '';
    let over = false;
    const perIp = limits.maxPerIp > 0 && !limits.exempt(ip);
    const mine = byIp.get(ip);
    if (perIp && mine !== undefined && mine.size >= limits.maxPerIp && !roomAt(mine)) over = true;
    if (total >= limits.maxTotal && !roomInAll()) over = true;
    socket[kTracked] = { ip, inFlight: 0, served: false, over: false, settled: false };
    total++;
    socket.once('close', () => forget(socket));
    if (over) {
      refuse(socket);
      return;
    }
    if (mine === undefined) byIp.set(ip, new Set([socket]));
    else mine.add(socket);
    watch(socket);
  });

  app.server.on('request', (req, res) => {
    const socket = req.socket as TrackedSocket;
    const t = socket[kTracked];
    if (t === undefined) return;
    t.inFlight++;
    idle.delete(socket);
    quiet.delete(socket);
    res.once('close', () => {
      t.inFlight--;
      t.served = true;
      if (t.inFlight === 0 && !t.over && socket[kTracked] === t && !socket.destroyed) idle.add(socket);
    });
  });

  app.addHook('onRequest', async (request, reply) => {
    if ((request.raw.socket as TrackedSocket)[kTracked]?.over !== true) return;
    reply.header('connection', 'close');
    throw new ApiError('SERVICE_UNAVAILABLE', 'Too many open connections; retry shortly', { 'retry-after': '1' });
  });
}

/** proxy-addr's names for address ranges, as TRUST_PROXY accepts them. */
const RANGES: Record<string, [string, number, 'ipv4' | 'ipv6'][]> = {
  loopback: [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']],
  linklocal: [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']],
  uniquelocal: [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['fc00::', 7, 'ipv6']],
};

/**
 * Which peers the per-address bound skips: with TRUST_PROXY as addresses/CIDRs, those proxies;
 * with a hop count, every peer (all clients arrive through the proxy in front, whose address we
 * are not told); without TRUST_PROXY, none.
 */
export function proxyPeers(trust: false | number | readonly string[]): (address: string) => boolean {
  if (trust === false || trust === 0) return () => false;
  if (typeof trust === 'number') return () => true;
  const list = new BlockList();
  for (const entry of trust) {
    const named = RANGES[entry];
    if (named) {
      for (const [net, prefix, family] of named) list.addSubnet(net, prefix, family);
      continue;
    }
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return (address) => isIP(address) !== 0 && list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

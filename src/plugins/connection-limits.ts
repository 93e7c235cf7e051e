import { BlockList, isIP, type Socket } from 'node:net';
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
  /** Accepted over the limits with nothing idle to close: its first request is answered 503. */
  over: boolean;
}

const kTracked = Symbol('task-api.connection');
type TrackedSocket = Socket & { [kTracked]?: Tracked };

/** How long a connection accepted over the limits may stay open waiting for its request. */
const OVER_LIMIT_GRACE_MS = 2000;

/**
 * Bounds open connections, per peer address and in all. A connection that would go over a bound
 * first makes room by closing the oldest idle connection (of that address, or anyone's: a
 * keep-alive socket with no request in flight, which its client reopens when it needs it), so
 * 1,000 idle sockets from one client cannot lock the others out. When nothing is idle, the new
 * connection's request is answered `503 SERVICE_UNAVAILABLE` with `Retry-After` and
 * `Connection: close`, in the contract's format, and it is closed if no request comes within 2 s.
 */
export function installConnectionLimits(app: FastifyInstance, limits: ConnectionLimits): void {
  let total = 0;
  /** Connections with nothing in flight, oldest first (a Set keeps insertion order). */
  const idle = new Set<TrackedSocket>();
  const byIp = new Map<string, Set<TrackedSocket>>();

  const oldestIdle = (among: Iterable<TrackedSocket>): TrackedSocket | undefined => {
    for (const s of among) if (s[kTracked]?.inFlight === 0 && idle.has(s)) return s;
    return undefined;
  };
  /** Closes one idle connection of `among` (all when omitted); whether there was one. */
  const evict = (among?: Set<TrackedSocket>): boolean => {
    const victim = among === undefined ? idle.values().next().value : oldestIdle(among);
    if (victim === undefined) return false;
    forget(victim);
    victim.destroy();
    return true;
  };
  function forget(socket: TrackedSocket): void {
    const t = socket[kTracked];
    if (t === undefined) return;
    socket[kTracked] = undefined;
    total--;
    idle.delete(socket);
    const mine = byIp.get(t.ip);
    mine?.delete(socket);
    if (mine?.size === 0) byIp.delete(t.ip);
  }

  app.server.on('connection', (socket: TrackedSocket) => {
    const ip = socket.remoteAddress ?? '';
    let over = false;
    const perIp = limits.maxPerIp > 0 && !limits.exempt(ip);
    let mine = byIp.get(ip);
    if (perIp && mine !== undefined && mine.size >= limits.maxPerIp && !evict(mine)) over = true;
    if (!over && total >= limits.maxTotal && !evict()) over = true;
    socket[kTracked] = { ip, inFlight: 0, over };
    total++;
    idle.add(socket);
    if (mine === undefined) byIp.set(ip, (mine = new Set()));
    mine.add(socket);
    socket.once('close', () => forget(socket));
    if (over) socket.setTimeout(OVER_LIMIT_GRACE_MS, () => socket.destroy());
  });

  app.server.on('request', (req, res) => {
    const socket = req.socket as TrackedSocket;
    const t = socket[kTracked];
    if (t === undefined) return;
    t.inFlight++;
    idle.delete(socket);
    res.once('close', () => {
      t.inFlight--;
      if (t.inFlight === 0 && socket[kTracked] === t && !socket.destroyed) idle.add(socket);
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

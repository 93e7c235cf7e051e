import { BlockList, isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { errorBody } from '../http/errors.js';
import { LogThrottle } from '../lib/log-throttle.js';

export interface ConnectionLimits {
  /** Connections served at once, in all (not counting refused ones). */
  maxTotal: number;
  /**
   * Open connections in all, refused ones too, beyond which a newcomer is closed at once: below the
   * open-file limit, where the kernel's accept fails and connections are reset without anyone
   * choosing which.
   */
  hardTotal: number;
  /** Connections served at once from one peer address (0: no per-address bound). */
  maxPerIp: number;
  /** Peers the per-address bound does not apply to (our own proxies: every client comes through them). */
  exempt(address: string): boolean;
}

interface Tracked {
  ip: string;
  /** When it was accepted (performance.now()). */
  at: number;
  /** Requests on it whose response has not finished. */
  inFlight: number;
  /** Refused: its request is answered 503 and it is closed; it counts only against `hardTotal`. */
  over: boolean;
}

const kTracked = Symbol('task-api.connection');
type TrackedSocket = Socket & { [kTracked]?: Tracked };

/** How long a refused connection may stay open waiting for its request. */
const OVER_LIMIT_GRACE_MS = 2000;
/**
 * How long a new connection may send nothing before it counts as silent (a preconnect, or an
 * attacker holding sockets) and may be refused to make room. Before that its request may be on its
 * way, or read by the kernel and not by us yet: a burst is accepted in one go before any of it is read.
 */
const QUIET_MS = 1000;
const TOO_MANY = 'Too many open connections; retry shortly';

/**
 * Bounds the connections served at once, per peer address and in all, without closing unanswered
 * a connection whose request may be on its way.
 *
 * A newcomer over a bound (its address's, or all) makes room: the oldest idle keep-alive
 * connection there (answered, nothing in flight) is closed, which its client reopens when it
 * needs it; else the oldest there that has sent nothing for 1 s is refused in the newcomer's
 * place; else the newcomer is refused. A refused connection's request is answered
 * `503 SERVICE_UNAVAILABLE` with `Retry-After` and `Connection: close`, in the contract's format,
 * and it is closed if no request comes within 2 s. So a burst from one address is served up to its
 * bound, and each of its connections that sends a request reads a 200 or that 503, however late
 * its request is read.
 *
 * Refused connections still hold a descriptor each: with `hardTotal` open in all, the oldest
 * refused one that has sent nothing is closed for a newcomer (else the newcomer is closed at
 * once). Only there, at the open-file budget, is a connection closed unanswered.
 */
export function installConnectionLimits(app: FastifyInstance, limits: ConnectionLimits): void {
  /** Open connections, refused ones too. */
  let total = 0;
  /** Idle keep-alive connections (answered, nothing in flight, not refused), longest idle first (a Set keeps insertion order). */
  const idle = new Set<TrackedSocket>();
  /** Connections not refused that have not sent a whole request yet, oldest first. */
  const fresh = new Set<TrackedSocket>();
  /** Refused connections still open, oldest first. */
  const refused = new Set<TrackedSocket>();
  /** Connections not refused, per address, oldest first. */
  const byIp = new Map<string, Set<TrackedSocket>>();

  const isSilent = (s: TrackedSocket, now: number, forMs: number): boolean => {
    const t = s[kTracked];
    return t !== undefined && t.inFlight === 0 && s.bytesRead === 0 && now - t.at >= forMs;
  };
  /** The first of `among` that is idle, else the first silent for QUIET_MS. */
  const roomAt = (among: Iterable<TrackedSocket>, now: number): TrackedSocket | undefined => {
    let silent: TrackedSocket | undefined;
    for (const s of among) {
      if (idle.has(s)) return s;
      silent ??= fresh.has(s) && isSilent(s, now, QUIET_MS) ? s : undefined;
    }
    return silent;
  };
  /** The oldest idle connection of anyone, else the oldest silent for QUIET_MS (`fresh` is oldest first). */
  const roomInAll = (now: number): TrackedSocket | undefined => {
    const keptAlive: TrackedSocket | undefined = idle.values().next().value;
    if (keptAlive !== undefined) return keptAlive;
    for (const s of fresh) {
      const t = s[kTracked];
      if (t === undefined || now - t.at < QUIET_MS) return undefined;
      if (s.bytesRead === 0) return s;
    }
    return undefined;
  };
  /** Closes an idle victim, refuses a silent one; whether there was one. */
  const makeRoom = (victim: TrackedSocket | undefined): boolean => {
    if (victim === undefined) return false;
    if (idle.has(victim)) {
      forget(victim);
      victim.destroy();
    } else {
      refuse(victim, victim[kTracked] as Tracked);
    }
    return true;
  };
  function unlist(socket: TrackedSocket, t: Tracked): void {
    idle.delete(socket);
    fresh.delete(socket);
    const mine = byIp.get(t.ip);
    mine?.delete(socket);
    if (mine?.size === 0) byIp.delete(t.ip);
  }
  function forget(socket: TrackedSocket): void {
    const t = socket[kTracked];
    if (t === undefined) return;
    socket[kTracked] = undefined;
    total--;
    unlist(socket, t);
    refused.delete(socket);
  }
  /** Refuses an open connection: its request is answered 503, and it is closed after 2 s without one. */
  function refuse(socket: TrackedSocket, t: Tracked): void {
    t.over = true;
    unlist(socket, t);
    refused.add(socket);
    socket.setTimeout(OVER_LIMIT_GRACE_MS, () => socket.destroy());
  }

  app.server.on('connection', (socket: TrackedSocket) => {
    const ip = socket.remoteAddress ?? '';
    const now = performance.now();
    if (total >= limits.hardTotal) {
      let victim: TrackedSocket | undefined;
      for (const s of refused) {
        if (isSilent(s, now, 0)) {
          victim = s;
          break;
        }
      }
      if (victim === undefined) {
        socket.destroy();
        return;
      }
      forget(victim);
      victim.destroy();
    }
    let over = false;
    const mine = byIp.get(ip);
    if (limits.maxPerIp > 0 && mine !== undefined && mine.size >= limits.maxPerIp && !limits.exempt(ip)) {
      over = !makeRoom(roomAt(mine, now));
    }
    if (!over && total - refused.size >= limits.maxTotal) over = !makeRoom(roomInAll(now));
    const t: Tracked = { ip, at: now, inFlight: 0, over: false };
    socket[kTracked] = t;
    total++;
    socket.once('close', () => forget(socket));
    if (over) return refuse(socket, t);
    fresh.add(socket);
    const stillMine = byIp.get(ip);
    if (stillMine === undefined) byIp.set(ip, new Set([socket]));
    else stillMine.add(socket);
  });

  app.server.on('request', (req, res) => {
    const socket = req.socket as TrackedSocket;
    const t = socket[kTracked];
    if (t === undefined) return;
    t.inFlight++;
    idle.delete(socket);
    fresh.delete(socket);
    res.once('close', () => {
      t.inFlight--;
      if (t.inFlight === 0 && !t.over && socket[kTracked] === t && !socket.destroyed) idle.add(socket);
    });
  });

  // Load shed, not a fault: answered here (not through the error handler's 5xx logging), with
  // one warning line per 10 s saying how many were refused before it.
  const throttle = new LogThrottle(1);
  app.addHook('onRequest', async (request, reply) => {
    if ((request.raw.socket as TrackedSocket)[kTracked]?.over !== true) return;
    const { log, suppressed } = throttle.admit('refused');
    if (log) request.log.warn({ refusedBefore: suppressed, open: total, refusedOpen: refused.size }, 'too many open connections: refused (503)');
    return reply
      .code(503)
      .headers({ 'retry-after': '1', connection: 'close' })
      .send(errorBody(TOO_MANY, 'SERVICE_UNAVAILABLE'));
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

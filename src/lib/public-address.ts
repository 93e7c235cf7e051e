import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses that are not the public Internet: where a URL a user gave us (a push endpoint, a webhook)
 * must never make the server connect, or it would reach our own machine and network on the user's
 * behalf (SSRF). IANA's special-purpose registries, the ranges that matter.
 */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata: 169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

/** The IPv4 address an IPv6 one carries (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16), if any. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const mapped = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1];
  const groups = expandIpv6(lower);
  if (groups === undefined) return undefined;
  const word = (i: number) => groups[i] ?? 0;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  if (word(0) === 0 && word(1) === 0 && word(2) === 0 && word(3) === 0 && word(4) === 0 && word(5) === 0xffff) return v4(word(6), word(7));
  if (word(0) === 0x64 && word(1) === 0xff9b && word(2) === 0 && word(3) === 0 && word(4) === 0 && word(5) === 0) return v4(word(6), word(7));
  if (word(0) === 0x2002) return v4(word(1), word(2));
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address (dotted IPv4 tails included), or undefined. */
function expandIpv6(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '');
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  if (fill < 0) return undefined;
  const groups = [...left, ...Array<string>(fill).fill('0'), ...right].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** Whether an IP address (v4 or v6) is on the public Internet. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !PRIVATE.check(address, 'ipv4');
  if (family !== 6) return false;
  const v4 = embeddedIpv4(address);
  if (v4 !== undefined) return !PRIVATE.check(v4, 'ipv4');
  return !PRIVATE.check(address.replace(/%.*$/, ''), 'ipv6');
}

export class PrivateAddressError extends Error {
  override name = 'PrivateAddressError';
  readonly code = 'EPRIVATEADDRESS';
}

/** Every address `host` resolves to (a literal address is itself). */
export function resolveAll(host: string): Promise<LookupAddress[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    dnsLookup(bare, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });
}

/**
 * Resolves `host` and refuses it when any of its addresses is not public (a name that also resolves
 * to a private address is refused whole: which one a connection gets is not ours to choose).
 */
export async function publicAddresses(host: string): Promise<LookupAddress[]> {
  const addresses = await resolveAll(host);
  if (addresses.length === 0 || addresses.some((a) => !isPublicAddress(a.address))) {
    throw new PrivateAddressError('resolves to a private, loopback or link-local address');
  }
  return addresses;
}

/**
 * A `lookup` for http(s).request that checks the addresses it connects to: the check happens in the
 * resolution the connection itself uses, so a name that changes its answer between a check and the
 * connection (DNS rebinding) cannot slip through. With `allowPrivate` it only resolves.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    const done = callback as unknown as (err: NodeJS.ErrnoException | null, address?: string | LookupAddress[], family?: number) => void;
    (allowPrivate ? resolveAll(hostname) : publicAddresses(hostname)).then(
      (addresses) => {
        if ((options as { all?: boolean }).all) done(null, addresses);
        else done(null, addresses[0]?.address, addresses[0]?.family);
      },
      (err: NodeJS.ErrnoException) => done(err),
    );
  };
}

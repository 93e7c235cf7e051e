import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ApiError } from '../errors.js';

/**
 * Addresses a webhook may never reach (unless WEBHOOKS_ALLOW_PRIVATE=true): loopback, private,
 * link-local (cloud metadata lives there), carrier-grade NAT, unique-local, multicast, unspecified
 * and the other special-purpose ranges of RFC 6890, in IPv4 and IPv6 (IPv4-mapped ones included).
 */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}

/** Whether `address` (an IP) is one a webhook may not reach. */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (mapped !== undefined) return BLOCKED.check(mapped, 'ipv4');
    return BLOCKED.check(address, 'ipv6');
  }
  return BLOCKED.check(address, 'ipv4');
}

const invalid = (why: string) => new ApiError('VALIDATION_ERROR', `url ${why}`);

/**
 * Checks a target before it is stored and before every delivery: an absolute http(s) URL without
 * credentials; unless private targets are allowed, https only and every address its host resolves
 * to public (a name that resolves to 127.0.0.1 is refused like 127.0.0.1). Returns the URL.
 */
export async function checkTarget(text: string, options: { allowPrivate: boolean }): Promise<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('must be an https URL');
  if (url.username !== '' || url.password !== '') throw invalid('must not carry credentials');
  if (options.allowPrivate) return url;
  if (url.protocol !== 'https:') throw invalid('must be an https URL');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      throw invalid('host does not resolve');
    }
  }
  if (addresses.length === 0 || addresses.some(isBlockedAddress)) throw invalid('must be on a public address (private, loopback and link-local addresses are refused)');
  return url;
}

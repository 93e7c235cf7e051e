import { isIP } from 'node:net';
import { ApiError } from '../errors.js';
import { isPublicAddress, resolveAll } from '../lib/public-address.js';

const invalid = (why: string) => new ApiError('VALIDATION_ERROR', `url ${why}`);

/**
 * Checks a target before it is stored and before every delivery: an absolute http(s) URL without
 * credentials; unless private targets are allowed, https only and every address its host resolves
 * to public, as src/lib/public-address.ts decides for push endpoints too (a name that resolves to
 * 127.0.0.1 is refused like 127.0.0.1). Returns the URL.
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
      addresses = (await resolveAll(host)).map((a) => a.address);
    } catch {
      throw invalid('host does not resolve');
    }
  }
  if (addresses.length === 0 || !addresses.every(isPublicAddress)) throw invalid('must be on a public address (private, loopback and link-local addresses are refused)');
  return url;
}

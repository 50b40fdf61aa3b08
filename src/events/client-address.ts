import { isIP } from 'node:net';

/** What clientAddress reads from a request: its headers and the socket's peer address. */
export interface AddressSource {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly socket: { readonly remoteAddress?: string };
}

/**
 * The client's IP address, from nothing the client can write, or undefined when there is none.
 *
 * In production (App Engine) the socket's peer is Google's front end, so the address comes from
 * headers App Engine writes itself:
 *  1. X-Appengine-User-IP: an App Engine-specific header, which App Engine removes from incoming
 *     requests when a client sends it (exact, case-insensitive match), then sets itself.
 *  2. Else X-Forwarded-For's second-to-last entry: App Engine documents the header as
 *     "[CLIENT_IP(s)], [global forwarding rule IP]", appending the address it saw and then its
 *     own. Every earlier entry (the first one included) is whatever the client sent.
 * Locally (no proxy in front) it is the socket's peer address; forwarding headers are ignored.
 *
 * One function, for every per-client use (visitor ids, rate limits): the address is used in
 * memory only and never stored or logged.
 */
export function clientAddress(req: AddressSource, production: boolean): string | undefined {
  if (!production) return valid(req.socket.remoteAddress);
  const appEngine = valid(single(req.headers['x-appengine-user-ip']));
  if (appEngine) return appEngine;
  const forwarded = (single(req.headers['x-forwarded-for']) ?? '').split(',').map((entry) => entry.trim());
  return forwarded.length >= 2 ? valid(forwarded[forwarded.length - 2]) : undefined;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** An IPv4 or IPv6 address, IPv4-mapped IPv6 (::ffff:1.2.3.4) as plain IPv4. */
function valid(value: string | undefined): string | undefined {
  const address = value?.trim().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  return address && isIP(address) ? address.toLowerCase() : undefined;
}

/**
 * What a rate limit is keyed on: the client's address, its /64 for IPv6 (one client holds a whole
 * /64, RFC 6177, and can pick any address in it), or the socket's peer when no address is known.
 */
export function rateLimitKey(req: AddressSource, production: boolean): string {
  const address = clientAddress(req, production) ?? req.socket.remoteAddress ?? 'unknown';
  return isIP(address) === 6 ? ipv6Network(address) : address;
}

/** The /64 network of an IPv6 address, e.g. 2001:db8:1:2::/64. */
export function ipv6Network(address: string): string {
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

import { Request } from 'express';
import { isIP } from 'node:net';

/**
 * The address a rate limit is keyed on. In production, X-Appengine-User-IP: App Engine sets it
 * to the address its front end saw, and removes any header of that name a client sends
 * (https://cloud.google.com/appengine/docs/standard/reference/request-headers). Not req.ip,
 * which with 'trust proxy' is the first X-Forwarded-For entry, written by the client. Locally
 * (and should the header ever be missing), the socket's peer address. Never stored or logged.
 */
export function clientAddress(req: Request, production: boolean): string {
  const header = req.headers['x-appengine-user-ip'];
  const appEngine = production && typeof header === 'string' ? header.trim() : '';
  const address = isIP(appEngine) ? appEngine : (req.socket.remoteAddress ?? 'unknown');
  return isIP(address) === 6 ? ipv6Network(address) : address;
}

/**
 * One IPv6 client holds a whole /64 (RFC 6177 gives sites at least that) and can pick any
 * address in it: the limit is keyed on the /64, as an IPv4 client is keyed on its one address.
 * An IPv4-mapped address (::ffff:203.0.113.7, a dual-stack socket) is keyed as its IPv4 address.
 */
export function ipv6Network(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

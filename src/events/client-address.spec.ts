import { clientAddress } from './client-address';

const req = (headers: Record<string, string | string[]>, remoteAddress = '10.0.0.1') => ({ headers, socket: { remoteAddress } });

describe('clientAddress', () => {
  it('locally: the socket address, whatever the headers say', () => {
    expect(clientAddress(req({ 'x-forwarded-for': '1.1.1.1', 'x-appengine-user-ip': '2.2.2.2' }, '127.0.0.1'), false)).toBe('127.0.0.1');
    expect(clientAddress(req({}, '::ffff:127.0.0.1'), false)).toBe('127.0.0.1');
    expect(clientAddress(req({}, '::1'), false)).toBe('::1');
  });

  it('in production: X-Appengine-User-IP first (App Engine strips client copies)', () => {
    expect(clientAddress(req({ 'x-appengine-user-ip': '203.0.113.7', 'x-forwarded-for': '6.6.6.6, 198.51.100.1, 35.191.0.1' }), true)).toBe(
      '203.0.113.7',
    );
    expect(clientAddress(req({ 'x-appengine-user-ip': '2001:DB8::1' }), true)).toBe('2001:db8::1');
  });

  it('in production without it: the entry App Engine appended before its own, never the first (client-written) one', () => {
    expect(clientAddress(req({ 'x-forwarded-for': '6.6.6.6, 198.51.100.1, 35.191.0.1' }), true)).toBe('198.51.100.1');
    expect(clientAddress(req({ 'x-forwarded-for': '198.51.100.1,35.191.0.1' }), true)).toBe('198.51.100.1');
    // One entry only: no address App Engine vouches for.
    expect(clientAddress(req({ 'x-forwarded-for': '6.6.6.6' }), true)).toBeUndefined();
    // The socket is App Engine's front end in production: never the client.
    expect(clientAddress(req({}), true)).toBeUndefined();
  });

  it('ignores values that are not IP addresses', () => {
    expect(clientAddress(req({ 'x-appengine-user-ip': 'evil' }), true)).toBeUndefined();
    expect(clientAddress(req({ 'x-forwarded-for': 'junk, 35.191.0.1' }), true)).toBeUndefined();
    expect(clientAddress(req({}, ''), false)).toBeUndefined();
  });
});

'use strict';
/**
 * Blocks, and records, every network connection and DNS lookup that is not for the loopback
 * interface, in the process that loads it: `require()` it in a test, or `node -r` it in a child.
 * With LOOPBACK_GUARD_REPORT=1 each blocked attempt is also written to stderr.
 * Plain JavaScript so that a spawned `node dist/main.js` can preload it.
 */
const net = require('node:net');
const dns = require('node:dns');

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|::ffff:127(\.\d{1,3}){3})$/i;
// Kept on the shared core module: jest gives each test file fresh modules but one `net`.
const violations = (net.__loopbackGuardViolations ??= []);

function isAllowed(host) {
  return host === undefined || LOOPBACK.test(String(host).replace(/^\[|\]$/g, ''));
}

function record(kind, host) {
  const entry = `${kind} ${host}`;
  violations.push(entry);
  if (process.env.LOOPBACK_GUARD_REPORT === '1') process.stderr.write(`loopback-guard: blocked ${entry}\n`);
}

if (!net.Socket.prototype.__loopbackGuard) {
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(...args) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    // A unix socket or named pipe (options.path) is local by definition.
    const host =
      typeof first === 'object' && first !== null ? (first.path ? undefined : (first.host ?? 'localhost')) : (args[1] ?? 'localhost');
    if (!isAllowed(host)) {
      record('connect', host);
      const error = Object.assign(new Error(`loopback-guard: connection to ${host} blocked`), { code: 'ECONNREFUSED' });
      process.nextTick(() => this.destroy(error));
      return this;
    }
    return connect.apply(this, args);
  };
  net.Socket.prototype.__loopbackGuard = true;

  const lookup = dns.lookup;
  dns.lookup = function guardedLookup(hostname, options, callback) {
    if (!isAllowed(hostname) && net.isIP(hostname) === 0) {
      record('dns', hostname);
      const cb = typeof options === 'function' ? options : callback;
      const error = Object.assign(new Error(`loopback-guard: lookup of ${hostname} blocked`), { code: 'ENOTFOUND' });
      process.nextTick(() => cb(error));
      return {};
    }
    return lookup.call(this, hostname, options, callback);
  };
  const promisesLookup = dns.promises.lookup;
  dns.promises.lookup = async function guardedPromisesLookup(hostname, options) {
    if (!isAllowed(hostname) && net.isIP(hostname) === 0) {
      record('dns', hostname);
      throw Object.assign(new Error(`loopback-guard: lookup of ${hostname} blocked`), { code: 'ENOTFOUND' });
    }
    return promisesLookup.call(this, hostname, options);
  };
}

module.exports = {
  /** Blocked attempts so far, e.g. "connect 169.254.169.254" or "dns metadata.google.internal". */
  violations: () => [...violations],
  clearViolations: () => void violations.splice(0),
};

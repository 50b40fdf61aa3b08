import { OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** Idle keys are forgotten this often, as @nestjs/throttler's own store does. */
export const SWEEP_INTERVAL_MS = 60_000;

/** One key's hits: when each leaves the window, in order, the live ones from `head` on. */
interface HitWindow {
  expiries: number[];
  head: number;
  /** What X-RateLimit-Reset counts down to: a fixed window, restarted once it has passed. */
  resetAt: number;
}

/**
 * @nestjs/throttler's sliding window without block (blockDuration 0), answering exactly as its
 * ThrottlerStorageService does, at a constant cost per request. That store filters a copy of the
 * key's whole list of hits and spreads it into Math.min() on every request: a client near its
 * limit (1,200 by default) costs 1,200 comparisons and a 10 kB copy per request, and past about
 * 120,000 hits in a window (RATE_LIMIT_REQUESTS allows 1,000,000) Math.min's arguments overflow
 * the stack and every request of that client fails with a 500. Here hits are kept in the order
 * they expire: the expired ones are dropped from the front, and the oldest live one is the first.
 */
export class SlidingWindowStore implements ThrottlerStorage, OnApplicationShutdown {
  private readonly windows = new Map<string, HitWindow>();
  private sweeper?: NodeJS.Timeout;

  /** One throttler per store (EventsModule has one): its name, the last argument, is not part of the key. */
  increment(key: string, ttl: number, limit: number, blockDuration: number, _throttlerName?: string): Promise<ThrottlerStorageRecord> {
    if (blockDuration > 0) throw new Error('SlidingWindowStore implements the sliding window only: set blockDuration to 0');
    const now = Date.now();
    this.sweeper ??= setInterval(() => this.sweep(Date.now()), SWEEP_INTERVAL_MS).unref();
    let window = this.windows.get(key);
    if (!window) {
      window = { expiries: [], head: 0, resetAt: now + ttl };
      this.windows.set(key, window);
    }
    dropExpired(window, now);
    let timeToExpire = Math.ceil((window.resetAt - now) / 1000);
    if (timeToExpire <= 0) {
      window.resetAt = now + ttl;
      timeToExpire = Math.ceil(ttl / 1000);
    }
    const isBlocked = window.expiries.length - window.head >= limit;
    if (!isBlocked) insertInOrder(window.expiries, window.head, now + ttl);
    const hits = window.expiries.length - window.head;
    return Promise.resolve({
      totalHits: isBlocked ? hits + 1 : hits,
      timeToExpire,
      isBlocked,
      timeToBlockExpire: isBlocked ? Math.ceil((window.expiries[window.head] - now) / 1000) : 0,
    });
  }

  /** Keys tracked, for tests. */
  get size(): number {
    return this.windows.size;
  }

  /** Forgets the keys whose hits have all left the window and whose reset time has passed. */
  sweep(now: number): void {
    for (const [key, window] of this.windows) {
      dropExpired(window, now);
      if (window.head === window.expiries.length && window.resetAt <= now) this.windows.delete(key);
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.windows.clear();
  }
}

function dropExpired(window: HitWindow, now: number): void {
  const { expiries } = window;
  let head = window.head;
  while (head < expiries.length && expiries[head] <= now) head++;
  if (head === expiries.length) {
    expiries.length = 0;
    head = 0;
  } else if (head >= 64 && head * 2 >= expiries.length) {
    // Amortized: the dropped front is reclaimed once it is at least half of the list.
    expiries.copyWithin(0, head);
    expiries.length -= head;
    head = 0;
  }
  window.head = head;
}

/** Appends, unless the clock went back since the last hit: then the list stays sorted. */
function insertInOrder(expiries: number[], head: number, expiry: number): void {
  let at = expiries.length;
  while (at > head && expiries[at - 1] > expiry) at--;
  if (at === expiries.length) expiries.push(expiry);
  else expiries.splice(at, 0, expiry);
}

import { ThrottlerStorageService } from '@nestjs/throttler';
import { SlidingWindowStore, SWEEP_INTERVAL_MS } from './sliding-window-store';

describe('SlidingWindowStore', () => {
  let store: SlidingWindowStore;
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    store = new SlidingWindowStore();
  });
  afterEach(() => {
    store.onApplicationShutdown();
    jest.useRealTimers();
  });
  const hit = (key = 'k', limit = 3, ttl = 60_000) => store.increment(key, ttl, limit, 0, 'default');

  it('lets `limit` hits through in any window, then says when the oldest leaves it', async () => {
    for (let i = 1; i <= 3; i++) expect(await hit()).toMatchObject({ totalHits: i, isBlocked: false, timeToBlockExpire: 0 });
    jest.advanceTimersByTime(20_000);
    expect(await hit()).toEqual({ totalHits: 4, timeToExpire: 40, isBlocked: true, timeToBlockExpire: 40 });
    jest.advanceTimersByTime(40_000);
    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false, timeToExpire: 60 });
  });

  it('keeps keys apart', async () => {
    for (let i = 0; i < 3; i++) await hit('a');
    expect((await hit('a')).isBlocked).toBe(true);
    expect((await hit('b')).isBlocked).toBe(false);
  });

  it('answers as @nestjs/throttler’s own store on a random sequence of hits, clock steps back included', async () => {
    const reference = new ThrottlerStorageService();
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let now = Date.now();
    for (let i = 0; i < 5000; i++) {
      // Mostly forward in small steps, sometimes a long pause, rarely back.
      const r = random();
      now += r < 0.02 ? -Math.floor(random() * 3000) : r < 0.05 ? Math.floor(random() * 20_000) : Math.floor(random() * 400);
      jest.setSystemTime(now);
      const key = `key-${Math.floor(random() * 3)}`;
      const expected = await reference.increment(key, 10_000, 50, 0, 'default');
      expect(await store.increment(key, 10_000, 50, 0, 'default')).toEqual(expected);
    }
    reference.onApplicationShutdown();
  });

  it('serves a client with 200,000 hits in its window', async () => {
    const limit = 1_000_000;
    for (let i = 0; i < 200_000; i++) {
      await store.increment('busy', 60_000, limit, 0, 'default');
      if (i % 100 === 0) jest.advanceTimersByTime(1);
    }
    // The library's store throws here: Math.min(...hits) over 200,000 arguments overflows the stack.
    expect(await store.increment('busy', 60_000, limit, 0, 'default')).toMatchObject({ totalHits: 200_001, isBlocked: false });
  });

  it('forgets a key once its hits have left the window', async () => {
    await hit('a', 3, 1000);
    await hit('b', 3, 120_000);
    expect(store.size).toBe(2);
    jest.advanceTimersByTime(SWEEP_INTERVAL_MS);
    expect(store.size).toBe(1);
  });

  it('refuses a blocking throttler, which it does not implement', () => {
    expect(() => store.increment('k', 1000, 1, 5000, 'default')).toThrow(/blockDuration to 0/);
  });
});

import { Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { SqlCatalog } from '../warehouse/contracts';
import { QueryParams, WarehouseReader } from '../warehouse/warehouse-reader';
import { holdsPassword } from './dashboard.guard';
import { InvalidRangeError, resolveRange } from './dashboard-range';
import { CACHE_TTL_MS, DashboardService } from './dashboard.service';
import { ResultCache } from './result-cache';

describe('resolveRange', () => {
  const today = '2024-05-02';

  it('opens on the last 30 days, today included, compared with the 30 days before', () => {
    expect(resolveRange({}, today)).toEqual({
      preset: '30',
      current: { start: '2024-04-03', end: today, days: 30 },
      previous: { start: '2024-03-04', end: '2024-04-02', days: 30 },
    });
  });

  it('takes today, 7 and 90 days, a pinned end day, and a custom range', () => {
    expect(resolveRange({ range: 'today' }, today).current).toEqual({ start: today, end: today, days: 1 });
    expect(resolveRange({ range: 'today' }, today).previous).toEqual({ start: '2024-05-01', end: '2024-05-01', days: 1 });
    expect(resolveRange({ range: '7', end: '2024-03-01' }, today).current).toEqual({ start: '2024-02-24', end: '2024-03-01', days: 7 });
    expect(resolveRange({ range: '90' }, today).current.start).toBe('2024-02-03');
    expect(resolveRange({ range: 'custom', start: '2024-02-28', end: '2024-03-01' }, today)).toEqual({
      preset: 'custom',
      current: { start: '2024-02-28', end: '2024-03-01', days: 3 }, // 2024 is a leap year
      previous: { start: '2024-02-25', end: '2024-02-27', days: 3 },
    });
  });

  it.each([
    [{ range: '14' }, /range must be one of today, 7, 30, 90, custom/],
    [{ range: 'custom' }, /needs start/],
    [{ range: 'custom', start: '2024-05-03', end: '2024-05-01' }, /after end/],
    [{ range: '7', start: '2024-05-01' }, /only for range=custom/],
    [{ end: '2024-02-30' }, /end must be a date/],
    [{ end: '2024-5-1' }, /end must be a date/],
    [{ range: 'custom', start: '2020-01-01', end: '2024-01-01' }, /at most 731 days/],
  ])('refuses %j', (input, message) => {
    expect(() => resolveRange(input, today)).toThrow(InvalidRangeError);
    expect(() => resolveRange(input, today)).toThrow(message);
  });
});

describe('ResultCache', () => {
  it('keeps a result for its lifetime, shares a load, forgets failures, and drops the oldest beyond its size', async () => {
    let now = 0;
    const cache = new ResultCache<number>(1000, 2, () => now);
    let loads = 0;
    const load = () => Promise.resolve(++loads);
    expect(cache.get('a', load).hit).toBe(false);
    expect(await cache.get('a', load).value).toBe(1);
    now = 999;
    expect(cache.get('a', load).hit).toBe(true);
    now = 1000;
    expect(await cache.get('a', load).value).toBe(2);
    const failed = cache.get('b', () => Promise.reject(new Error('down'))).value;
    await expect(failed).rejects.toThrow('down');
    expect(cache.get('b', load).hit).toBe(false);
    cache.get('c', load);
    expect(cache.size).toBe(2);
    expect(cache.get('a', load).hit).toBe(false); // the oldest went first
  });
});

describe('DashboardService on BigQuery', () => {
  it('runs each query once per range for 5 minutes and logs the bytes each load processed', async () => {
    const catalog = SqlCatalog.load();
    const calls: QueryParams[] = [];
    const reader = {
      readWithStats: (_sql: string, params: QueryParams = {}) => {
        calls.push(params);
        return Promise.resolve({ rows: [{ n: 1 }], stats: { bytesProcessed: 1000 } });
      },
    } as unknown as WarehouseReader;
    const config = AppConfig.fromEnv({ WAREHOUSE: 'bigquery', BIGQUERY_PROJECT: 'acme-analytics', BIGQUERY_ACCESS_TOKEN: 'test-token' });
    const service = new DashboardService(() => Promise.resolve(reader), catalog, config);
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    try {
      const range = service.resolve({ range: '7', end: '2024-05-02' });
      const queries = catalog.queries.length + catalog.queries.filter((q) => q.name.endsWith('_totals')).length;
      const data = await service.load(range);
      expect(data.maxAgeSeconds).toBe(CACHE_TTL_MS / 1000);
      expect(calls).toHaveLength(queries);
      expect(log).toHaveBeenLastCalledWith(
        expect.objectContaining({ message: 'Dashboard load', queries, cached: 0, bytesProcessed: 1000 * queries }),
      );
      await service.load(range);
      expect(calls).toHaveLength(queries); // a reload costs nothing
      expect(log).toHaveBeenLastCalledWith(expect.objectContaining({ cached: queries }));
      expect(log.mock.lastCall?.[0]).not.toHaveProperty('bytesProcessed');
      await service.load(service.resolve({ range: '7', end: '2024-05-09' }));
      expect(calls).toHaveLength(queries + catalog.queries.length); // its previous period is the first range: cached
    } finally {
      log.mockRestore();
    }
  });
});

describe('holdsPassword', () => {
  const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

  it('takes the password under any user name, and nothing else', () => {
    expect(holdsPassword(basic('anyone:s3cret'), 's3cret')).toBe(true);
    expect(holdsPassword(basic(':s3cret'), 's3cret')).toBe(true);
    expect(holdsPassword(basic('anyone:s3cret:x'), 's3cret')).toBe(false);
    expect(holdsPassword(basic('anyone:wrong'), 's3cret')).toBe(false);
    expect(holdsPassword(basic('s3cret'), 's3cret')).toBe(false);
    expect(holdsPassword('Bearer s3cret', 's3cret')).toBe(false);
    expect(holdsPassword(undefined, 's3cret')).toBe(false);
  });
});

import { AppConfig } from '../config/app-config';
import { VISITOR_ID_HEX, VisitorIds } from './visitor-ids';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const browser = { site: 'www.example.com', address: '203.0.113.7', userAgent: 'Mozilla/5.0 Test' };
const day1 = new Date('2024-05-01T08:00:00Z');
const day1Late = new Date('2024-05-01T23:59:59.999Z');
const day2 = new Date('2024-05-02T00:00:00Z');

describe('VisitorIds', () => {
  it('gives 16 hex digits, the same all day, another the next day', () => {
    const ids = new VisitorIds(AppConfig.fromEnv({}));
    const id = ids.idFor(browser, day1);
    expect(id).toMatch(new RegExp(`^[0-9a-f]{${VISITOR_ID_HEX}}$`));
    expect(ids.idFor(browser, day1Late)).toBe(id);
    expect(ids.idFor(browser, day2)).not.toBe(id);
  });

  it('differs with each input: site, address, User-Agent', () => {
    const ids = new VisitorIds(AppConfig.fromEnv({ VISITOR_SECRET: SECRET }));
    const id = ids.idFor(browser, day1);
    expect(ids.idFor({ ...browser, site: 'example.org' }, day1)).not.toBe(id);
    expect(ids.idFor({ ...browser, address: '203.0.113.8' }, day1)).not.toBe(id);
    expect(ids.idFor({ ...browser, userAgent: 'Mozilla/5.0 Other' }, day1)).not.toBe(id);
    // The fields are separated: moving a character from one to the next makes another id.
    expect(ids.idFor({ site: 'a', address: 'b\nc', userAgent: '' }, day1)).not.toBe(
      ids.idFor({ site: 'a\nb', address: 'c', userAgent: '' }, day1),
    );
  });

  it('with VISITOR_SECRET: the same ids on every instance; without: each process its own', () => {
    const a = new VisitorIds(AppConfig.fromEnv({ VISITOR_SECRET: SECRET }));
    const b = new VisitorIds(AppConfig.fromEnv({ VISITOR_SECRET: SECRET }));
    expect(a.idFor(browser, day1)).toBe(b.idFor(browser, day1));
    const other = new VisitorIds(AppConfig.fromEnv({ VISITOR_SECRET: `${SECRET}x` }));
    expect(other.idFor(browser, day1)).not.toBe(a.idFor(browser, day1));
    expect(new VisitorIds(AppConfig.fromEnv({})).idFor(browser, day1)).not.toBe(new VisitorIds(AppConfig.fromEnv({})).idFor(browser, day1));
  });

  it("holds only the current day's salt: a random one cannot be derived again once the day is over", () => {
    const ids = new VisitorIds(AppConfig.fromEnv({}));
    expect(ids.heldDays()).toEqual([]);
    const first = ids.idFor(browser, day1);
    expect(ids.heldDays()).toEqual(['2024-05-01']);
    ids.idFor(browser, day2);
    expect(ids.heldDays()).toEqual(['2024-05-02']);
    // Asked about the first day again, the process draws a new salt: the first day's id is gone.
    expect(ids.idFor(browser, day1)).not.toBe(first);
  });

  it('refuses a short VISITOR_SECRET', () => {
    expect(() => AppConfig.fromEnv({ VISITOR_SECRET: 'short' })).toThrow(/VISITOR_SECRET="short": must be at least 32 characters/);
  });
});

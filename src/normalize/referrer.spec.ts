import { isReferrer, normalizeReferrer, storedReferrer, stripQuery } from './referrer';

describe('normalizeReferrer', () => {
  it.each([
    ['https://news.ycombinator.com/item?id=123', 'news.ycombinator.com/item'],
    ['https://www.google.com/', 'www.google.com'],
    ['https://www.google.com', 'www.google.com'],
    ['http://user:secret@example.com:8080/a/b/?token=x#frag', 'example.com:8080/a/b/'],
    ['HTTPS://GitHub.com/Org/Repo', 'github.com/Org/Repo'],
    ['android-app://com.google.android.gm/', 'com.google.android.gm'],
    ['direct', 'direct'],
    ['', 'direct'],
    [null, 'direct'],
    [undefined, 'direct'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeReferrer(input)).toBe(expected);
  });
});

describe('isReferrer', () => {
  it.each(['direct', 'https://a.example/x', 'http://localhost:3000/'])('accepts %s', (v) => expect(isReferrer(v)).toBe(true));
  it.each([
    'Direct',
    'example.com',
    '/relative',
    'about:blank',
    'not a url',
    'mailto:a@b.c',
    'javascript://evil.example/%0aalert(1)',
    'file://host/etc/passwd',
    'data:text/html,hi',
    'https://-x.example/',
  ])('rejects %s', (v) => expect(isReferrer(v)).toBe(false));
});

describe('storedReferrer', () => {
  it.each(['direct', 'https://news.ycombinator.com/item?id=1', 'HTTPS://GitHub.com/Org/Repo', 'http://localhost:3000/'])(
    'is what normalizeReferrer stores for %s',
    (v) => expect(storedReferrer(v)).toBe(normalizeReferrer(v)),
  );
  it.each(['Direct', 'example.com', 'javascript://evil.example/%0aalert(1)', 'https://-x.example/'])('is undefined for %s', (v) =>
    expect(storedReferrer(v)).toBeUndefined(),
  );
});

describe('stripQuery', () => {
  it.each([
    ['/download?token=abc', '/download'],
    ['/a#section', '/a'],
    ['/?x=1', '/'],
    ['/plain/', '/plain/'],
  ])('%s -> %s', (input, expected) => expect(stripQuery(input)).toBe(expected));
});

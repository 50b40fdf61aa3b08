import { plainToInstance } from 'class-transformer';
import { IsDefined, IsInt, IsOptional, IsString, MinLength, ValidateNested, validateSync } from 'class-validator';
import { TelemetryDto } from './events/dto/telemetry.dto';
import { WebsiteEventDto } from './events/dto/website-event.dto';
import { modelsOptions, passesEveryRule } from './validation-verdict';

const OPTIONS = { whitelist: true, forbidUnknownValues: true };

const beacon = {
  installationId: '6c3b6f7a-1a8e-4f4e-9d2b-1f0e8e5c2a11',
  startTime: '2024-05-01T10:00:00.000Z',
  endTime: '2024-05-01T10:42:17.250Z',
  firstSession: false,
  version: '2.4.0',
  os: 'win32',
  environmentsCount: 3,
  country: 'fr',
  app: 'desktop',
  auth: true,
  paid: false,
};
const pageview = {
  type: 'pageview',
  eventName: null,
  eventCategory: null,
  path: '/docs/getting-started?utm_source=x',
  entryPage: '/',
  referrer: 'https://news.ycombinator.com/item?id=41234567',
};
const download = {
  type: 'event',
  eventName: 'download',
  eventCategory: 'mac',
  path: '/download',
  entryPage: '/download',
  referrer: 'direct',
};

/** Values that break, or pass, some rule of some field. */
const ODD_VALUES: unknown[] = [
  undefined,
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1_000_001,
  1e308,
  NaN,
  '',
  ' ',
  'x',
  'x'.repeat(65),
  'é'.repeat(17),
  '\u0000',
  'a\u202eb',
  '\ud800',
  '=1',
  '-2',
  '/docs',
  '/a\u0001b',
  'docs',
  'direct',
  'Direct',
  'https://a.example/',
  'javascript://x/%0a',
  'data:text/html,hi',
  'https://a.example/' + 'é'.repeat(1000),
  '2024-05-01T10:00:00Z',
  '2024-02-31T10:00:00Z',
  '9999-12-31T23:00:00-05:00',
  '6C3B6F7A-1A8E-4F4E-9D2B-1F0E8E5C2A11',
  'ZZ',
  'FR',
  'France',
  'pageview',
  'event',
  'desktop',
  'mobile',
  [],
  ['/docs'],
  {},
  { a: 1 },
];

/** What class-validator itself says, and what it leaves of the object under `whitelist`. */
function classValidator<T extends object>(dto: new () => T, plain: object) {
  const instance = plainToInstance(dto, plain);
  const valid = validateSync(instance, OPTIONS).length === 0;
  return { valid, after: { ...instance } };
}

function verdict<T extends object>(dto: new () => T, plain: object) {
  const instance = plainToInstance(dto, plain);
  const valid = passesEveryRule(instance, true);
  return { valid, after: { ...instance } };
}

describe('passesEveryRule', () => {
  it('models the options the ValidationPipe is given', () => {
    expect(modelsOptions({ ...OPTIONS, validationError: { target: false } })).toBe(true);
    expect(modelsOptions({ ...OPTIONS, groups: ['a'] })).toBe(false);
    expect(modelsOptions({ ...OPTIONS, skipMissingProperties: true })).toBe(false);
    expect(modelsOptions({ ...OPTIONS, forbidNonWhitelisted: true })).toBe(false);
  });

  it.each([
    ['the app beacon', TelemetryDto, beacon],
    ['the page view', WebsiteEventDto, pageview],
    ['the download event', WebsiteEventDto, download],
  ] as const)('passes %s, as class-validator does', (_, dto, plain) => {
    expect(verdict(dto as new () => object, plain)).toEqual({ valid: true, after: classValidator(dto as new () => object, plain).after });
  });

  it('agrees with class-validator on every field set to every odd value, and on random mixes of them', () => {
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const bases = [
      [TelemetryDto, beacon],
      [WebsiteEventDto, pageview],
      [WebsiteEventDto, download],
    ] as const;
    const cases: [new () => object, Record<string, unknown>][] = [];
    for (const [dto, base] of bases) {
      for (const key of [...Object.keys(base), 'extra']) for (const value of ODD_VALUES) cases.push([dto, { ...base, [key]: value }]);
      for (let i = 0; i < 1000; i++) {
        const body: Record<string, unknown> = { ...base };
        for (let m = 0; m < 1 + Math.floor(random() * 3); m++) body[pick([...Object.keys(base), 'extra'])] = pick(ODD_VALUES);
        cases.push([dto, body]);
      }
    }
    let passed = 0;
    for (const [dto, plain] of cases) {
      const expected = classValidator(dto, plain);
      const actual = verdict(dto, plain);
      expect({ plain, ...actual }).toEqual({ plain, valid: expected.valid, after: actual.valid ? expected.after : actual.after });
      if (expected.valid) passed++;
    }
    // Both outcomes are exercised.
    expect(passed).toBeGreaterThan(500);
    expect(cases.length - passed).toBeGreaterThan(2500);
  });

  it('leaves to class-validator a class with rules it does not model', () => {
    class Inner {
      @IsString()
      name: string;
    }
    class Nested {
      @ValidateNested()
      inner: Inner;
    }
    class Defined {
      @IsDefined()
      value: unknown;
    }
    class Each {
      @IsInt({ each: true })
      values: number[];
    }
    class None {
      value: unknown;
    }
    for (const dto of [Nested, Defined, Each, None]) expect(passesEveryRule(new dto(), true)).toBeUndefined();
  });

  it('applies conditions before the rules, and every rule of a property', () => {
    class Dto {
      @IsOptional()
      @IsString()
      @MinLength(3)
      name?: string | null;
    }
    expect(passesEveryRule(plainToInstance(Dto, { name: null }), true)).toBe(true);
    expect(passesEveryRule(plainToInstance(Dto, {}), true)).toBe(true);
    expect(passesEveryRule(plainToInstance(Dto, { name: 'ab' }), true)).toBe(false);
    expect(passesEveryRule(plainToInstance(Dto, { name: 3 }), true)).toBe(false);
    expect(passesEveryRule(plainToInstance(Dto, { name: 'abc' }), true)).toBe(true);
  });

  it('skips a rule whose own validateIf does not hold, as class-validator does', () => {
    class Dto {
      @IsString()
      kind: string;

      @MinLength(3, { validateIf: (o: Dto) => o.kind === 'long' })
      name: string;
    }
    for (const plain of [
      { kind: 'short', name: 'ab' },
      { kind: 'long', name: 'ab' },
      { kind: 'long', name: 'abc' },
    ]) {
      const instance = plainToInstance(Dto, plain);
      expect(passesEveryRule(instance, true)).toBe(validateSync(instance, OPTIONS).length === 0);
    }
    expect(passesEveryRule(plainToInstance(Dto, { kind: 'short', name: 'ab' }), true)).toBe(true);
  });
});

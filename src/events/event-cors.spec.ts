import cors from 'cors';
import { Request, Response } from 'express';
import { AllowedOrigins, eventCors } from './event-cors';

/** The headers and status a handler leaves on a response, and whether it passed the request on. */
function run(
  handler: (req: Request, res: Response, next: () => void) => void,
  method: string,
  headers: Record<string, string>,
  vary?: string,
) {
  const set: Record<string, unknown> = vary === undefined ? {} : { vary };
  let status: number | undefined;
  let passed = false;
  const res = {
    getHeader: (name: string) => set[name.toLowerCase()],
    setHeader: (name: string, value: unknown) => (set[name.toLowerCase()] = value),
    end: () => undefined,
    set statusCode(code: number) {
      status = code;
    },
  };
  handler({ method, headers } as Request, res as unknown as Response, () => (passed = true));
  return { headers: set, status, passed };
}

describe('eventCors', () => {
  const configs: AllowedOrigins[] = [true, '*', [], ['https://www.example.com', 'https://example.com']];
  const origins = [
    undefined,
    '',
    'null',
    'https://www.example.com',
    'https://example.com',
    'https://www.example.com.evil.example',
    'app://desktop',
  ];
  const requestHeaders = (origin: string | undefined): Record<string, string> =>
    origin === undefined ? {} : { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' };

  it.each(configs.map((c) => [JSON.stringify(c), c] as const))('answers as cors does, for origins %s', (_, config) => {
    const ours = eventCors(config);
    const library = cors({ origin: config === true || config === '*' ? config : [...config], methods: ['POST'], maxAge: 86_400 });
    for (const method of ['POST', 'OPTIONS'])
      for (const origin of origins)
        for (const vary of [undefined, 'Accept-Encoding']) {
          expect({ method, origin, vary, ...run(ours, method, requestHeaders(origin), vary) }).toEqual({
            method,
            origin,
            vary,
            ...run(library, method, requestHeaders(origin), vary),
          });
        }
  });
});

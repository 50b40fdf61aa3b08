import { json } from 'express';
import { createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { ACCEPTED_CONTENT_TYPES, BodyError, MAX_BODY_BYTES, readJsonBody } from './json-body';

/** What a reader made of a request: the body it set, or its error's status and type. */
type Outcome = { body: unknown } | { status?: number; type?: string };

const bodyParser = json({ type: ACCEPTED_CONTENT_TYPES, limit: MAX_BODY_BYTES, strict: true });
const outcome = (req: IncomingMessage & { body?: unknown }, error: BodyError | undefined): Outcome =>
  error ? { status: error.status, type: error.type } : { body: req.body };

/**
 * Two servers on loopback, one reading with readJsonBody and one with body-parser itself, each
 * answering with what it read; every request is sent to both, as raw bytes.
 */
describe('readJsonBody', () => {
  let ours: Server;
  let reference: Server;
  const serve = (read: (req: IncomingMessage, res: ServerResponse, done: (error: BodyError | undefined) => void) => void) =>
    new Promise<Server>((resolve) => {
      const server = createServer((req, res) => read(req, res, (error) => res.end(JSON.stringify(outcome(req, error)))));
      server.listen(0, '127.0.0.1', () => resolve(server));
    });
  beforeAll(async () => {
    ours = await serve(readJsonBody);
    reference = await serve((req, res, done) => bodyParser(req, res, (error?: unknown) => done(error as BodyError | undefined)));
  });
  afterAll(() => {
    ours.close();
    reference.close();
  });

  const send = (server: Server, headers: Record<string, string>, parts: Buffer[]) =>
    new Promise<Outcome>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: (server.address() as AddressInfo).port, method: 'POST', path: '/', headers, agent: false },
        (res) => {
          let data = '';
          res.on('data', (chunk: Buffer) => (data += chunk.toString()));
          res.on('end', () => resolve(JSON.parse(data) as Outcome));
        },
      );
      req.on('error', reject);
      for (const part of parts) req.write(part);
      req.end();
    });
  const both = async (headers: Record<string, string>, parts: Buffer[]) => {
    const [a, b] = await Promise.all([send(ours, headers, parts), send(reference, headers, parts)]);
    return { ours: a, reference: b };
  };
  const withLength = (type: string, body: Buffer): Record<string, string> => ({
    'content-type': type,
    'content-length': String(body.length),
  });

  it.each([
    ['an event', '{"type":"pageview","path":"/docs"}'],
    ['an empty body', ''],
    ['whitespace first', ' \t\r\n{"a":1}'],
    ['a byte-order mark', '\ufeff{"a":1}'],
    ['two byte-order marks', '\ufeff\ufeff{"a":1}'],
    ['an array', '[1,2]'],
    ['a string', '"pageview"'],
    ['null', 'null'],
    ['a number', '42'],
    ['whitespace only', '   '],
    ['a non-breaking space first', '\u00a0{}'],
    ['truncated JSON', '{"type":'],
    ['text', 'hello'],
    ['non-ASCII text', '{"path":"/é😀"}'],
    ['a __proto__ key', '{"__proto__":{"x":1},"a":2}'],
    ['a body at the limit', `{"a":"${'x'.repeat(MAX_BODY_BYTES - 8)}"}`],
    ['a body over the limit', `{"a":"${'x'.repeat(MAX_BODY_BYTES)}"}`],
  ])('reads %s as body-parser does', async (_, text) => {
    const body = Buffer.from(text);
    for (const type of ['application/json', 'text/plain;charset=UTF-8', 'application/json; charset=utf-8', 'TEXT/PLAIN']) {
      const { ours: a, reference: b } = await both(withLength(type, body), [body]);
      expect(a).toEqual(b);
    }
  });

  it('reads invalid UTF-8 and characters split across packets as body-parser does', async () => {
    let seed = 3;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 40; i++) {
      const bytes = Buffer.from(`{"p":"${'é😀a'.repeat(1 + Math.floor(random() * 20))}"}`);
      if (i % 2 === 0) bytes[6 + Math.floor(random() * (bytes.length - 8))] = 0x80 + Math.floor(random() * 0x7f);
      const cut = 1 + Math.floor(random() * (bytes.length - 2));
      const { ours: a, reference: b } = await both(withLength('text/plain', bytes), [bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(a).toEqual(b);
    }
  });

  it.each<[string, Record<string, string>, Buffer]>([
    ['another charset', { 'content-type': 'application/json; charset=utf-16le' }, Buffer.from('{"a":1}', 'utf16le')],
    ['utf8 without its dash', { 'content-type': 'application/json; charset=utf8' }, Buffer.from('{"a":1}')],
    ['an unknown charset', { 'content-type': 'application/json; charset=klingon' }, Buffer.from('{"a":1}')],
    ['a quoted charset', { 'content-type': 'application/json; charset="utf-8"' }, Buffer.from('{"a":1}')],
    ['gzip that is not gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, Buffer.from('{"a":1}')],
    ['an unknown encoding', { 'content-type': 'application/json', 'content-encoding': 'compress' }, Buffer.from('{"a":1}')],
    ['a chunked body', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, Buffer.from('{"a":1}')],
    ['another type', { 'content-type': 'application/xml' }, Buffer.from('<a/>')],
  ])('leaves %s to body-parser', async (_, headers, body) => {
    const withLengthUnlessChunked = headers['transfer-encoding'] ? headers : { ...headers, 'content-length': String(body.length) };
    const { ours: a, reference: b } = await both(withLengthUnlessChunked, [body]);
    expect(a).toEqual(b);
  });
});

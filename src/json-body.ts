import { json, Request } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Event bodies are a few hundred bytes; anything near this is not a real client. */
export const MAX_BODY_BYTES = 16 * 1024;
/** sendBeacon() posts JSON as text/plain (no CORS preflight), so both types are parsed as JSON. */
export const ACCEPTED_CONTENT_TYPES = ['application/json', 'text/plain'];

/** What every browser and app of ours sends; anything else goes through body-parser. */
const PLAIN_JSON_TYPE = /^(?:application\/json|text\/plain)[ \t]*(?:;[ \t]*charset=utf-8[ \t]*)?$/i;
const DIGITS = /^\d+$/;
/** JSON's own whitespace, as body-parser reads it before the first character. */
const FIRST_NON_WHITESPACE = /^[ \t\n\r]*([^ \t\n\r]|$)/;
const BOM = 0xfeff;

/** An error as body-parser reports it: its status, and its type (entity.too.large, entity.parse.failed...). */
export interface BodyError extends Error {
  status?: number;
  type?: string;
}

type Done = (error: BodyError | undefined) => void;

/** Whether a body was sent with another type than ACCEPTED_CONTENT_TYPES (as req.is() says; null without a body). */
export function unacceptedContentType(req: Request): boolean {
  const type = req.headers['content-type'];
  if (type !== undefined && PLAIN_JSON_TYPE.test(type)) return false;
  return req.is(ACCEPTED_CONTENT_TYPES) === false;
}

const bodyParser = json({ type: ACCEPTED_CONTENT_TYPES, limit: MAX_BODY_BYTES, strict: true });

/**
 * Sets req.body exactly as body-parser's json({ type: ACCEPTED_CONTENT_TYPES, limit: MAX_BODY_BYTES,
 * strict: true }) does, and calls done with its error, if any. The body every client sends (a
 * Content-Length within the limit, no Content-Encoding, UTF-8) is read here, at a fraction of
 * body-parser's cost (type-is, raw-body, iconv-lite and on-finished per request); every other one
 * (compressed, chunked, too large, another charset, no body at all) goes to body-parser itself.
 */
export function readJsonBody(req: IncomingMessage & { body?: unknown }, res: ServerResponse, done: Done): void {
  const { headers } = req;
  const length = headers['content-length'];
  const type = headers['content-type'];
  if (
    length === undefined ||
    !DIGITS.test(length) ||
    Number(length) > MAX_BODY_BYTES ||
    headers['content-encoding'] !== undefined ||
    headers['transfer-encoding'] !== undefined ||
    type === undefined ||
    !PLAIN_JSON_TYPE.test(type)
  ) {
    bodyParser(req, res, (error?: unknown) => done(error as BodyError | undefined));
    return;
  }
  const chunks: Buffer[] = [];
  const onData = (chunk: Buffer) => chunks.push(chunk);
  const onEnd = () => {
    req.removeListener('data', onData);
    req.removeListener('error', onError);
    const buffer = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (buffer.length !== Number(length)) return done(bodyError(400, 'request size did not match content length', 'request.size.invalid'));
    let text = buffer.toString('utf8');
    if (text.charCodeAt(0) === BOM) text = text.slice(1); // as iconv-lite's UTF-8 decoder does
    try {
      req.body = parseStrict(text);
    } catch (error) {
      return done(bodyError(400, (error as Error).message, 'entity.parse.failed'));
    }
    done(undefined);
  };
  // The client went away mid-body: nobody is left to answer.
  const onError = () => {
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
  };
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('error', onError);
}

/** body-parser's strict mode: an empty body is {}, anything but an object or array is refused. */
function parseStrict(text: string): unknown {
  if (text.length === 0) return {};
  const first = text[0] === '{' || text[0] === '[' ? text[0] : FIRST_NON_WHITESPACE.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw new SyntaxError('Unexpected token in JSON: not an object or array');
  return JSON.parse(text) as unknown;
}

function bodyError(status: number, message: string, type: string): BodyError {
  return Object.assign(new Error(message), { status, type });
}

/**
 * C0 and C1 controls (NUL, tab, newline, ESC, DEL, ...) and the bidi embedding, override and
 * isolate characters (U+202A-U+202E, U+2066-U+2069). No real client sends them: browsers
 * percent-encode paths and URLs, and versions, OS names and event names are plain words.
 * Stored, they break CSV exports and terminals, and can make a dashboard show a value that is
 * not the one stored; refusing (rather than stripping) keeps what is stored equal to what was sent.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/** Half of a UTF-16 pair on its own: not Unicode, and not valid UTF-8 for a warehouse STRING. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** A cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(...), +cmd, -2+3, @SUM). */
const FORMULA_START = /^[=+\-@]/;

export const utf8Bytes = (value: string) => Buffer.byteLength(value, 'utf8');

/** Why a text value is refused, or undefined when it is fine. */
export function textProblem(value: string, maxBytes: number, refuseFormulas: boolean): string | undefined {
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode (no lone surrogates)';
  if (FORBIDDEN_CHARACTERS.test(value)) return 'must not contain control or bidi-override characters';
  if (utf8Bytes(value) > maxBytes) return `must be at most ${maxBytes} bytes in UTF-8`;
  if (refuseFormulas && FORMULA_START.test(value)) return 'must not start with =, +, - or @';
  return undefined;
}

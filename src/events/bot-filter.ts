import { isbot } from 'isbot';

/** Distinct User-Agents whose verdict is kept; past that many, all are forgotten and judged again. */
export const MAX_VERDICTS = 1_000;

const verdicts = new Map<string, boolean>();

/**
 * isbot(), remembering its verdicts: its pattern (hundreds of alternatives) costs microseconds per
 * User-Agent, and a site's browsers send a few hundred distinct ones a day. Held in this process's
 * memory only, without any address or time, never stored or logged; bounded, so that a client
 * sending a new User-Agent each time costs what isbot() costs.
 */
export function isBot(userAgent: string): boolean {
  let verdict = verdicts.get(userAgent);
  if (verdict === undefined) {
    if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
    verdict = isbot(userAgent);
    verdicts.set(userAgent, verdict);
  }
  return verdict;
}

import { textProblem } from './text';

/** The only query parameters ever read from a page URL; every other one is dropped with the query string. */
export const CAMPAIGN_PARAMETERS = { utmSource: 'utm_source', utmMedium: 'utm_medium', utmCampaign: 'utm_campaign' } as const;
/** A campaign value as stored, in UTF-8 bytes: far beyond any real tag. */
export const CAMPAIGN_MAX_BYTES = 256;

export type Campaign = { readonly [K in keyof typeof CAMPAIGN_PARAMETERS]: string | null };

/**
 * utm_source, utm_medium and utm_campaign from a page path's query string (`/pricing?utm_source=news`),
 * percent-decoded and trimmed. A value that is empty, longer than CAMPAIGN_MAX_BYTES, holds control
 * or bidi characters or would be a spreadsheet formula (=, +, -, @) is dropped (null): the page view
 * still counts, its campaign is unknown.
 */
export function campaignOf(path: string): Campaign {
  const query = /\?([^#]*)/s.exec(path)?.[1] ?? '';
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    params = new URLSearchParams();
  }
  const read = (name: string): string | null => {
    const value = params.get(name)?.trim();
    return value && textProblem(value, CAMPAIGN_MAX_BYTES, true) === undefined ? value : null;
  };
  return {
    utmSource: read(CAMPAIGN_PARAMETERS.utmSource),
    utmMedium: read(CAMPAIGN_PARAMETERS.utmMedium),
    utmCampaign: read(CAMPAIGN_PARAMETERS.utmCampaign),
  };
}

import { CAMPAIGN_MAX_BYTES, campaignOf } from './campaign';

describe('campaignOf', () => {
  it('reads utm_source, utm_medium and utm_campaign, percent-decoded', () => {
    expect(campaignOf('/pricing?utm_source=news%20letter&utm_medium=email&utm_campaign=may+launch&id=42#top')).toEqual({
      utmSource: 'news letter',
      utmMedium: 'email',
      utmCampaign: 'may launch',
    });
  });

  it('gives nulls without a query string or without the parameters', () => {
    const none = { utmSource: null, utmMedium: null, utmCampaign: null };
    expect(campaignOf('/docs')).toEqual(none);
    expect(campaignOf('/docs?ref=abc&token=secret')).toEqual(none);
    expect(campaignOf('/docs#utm_source=x')).toEqual(none);
    expect(campaignOf('/docs?utm_source=&utm_medium=%20')).toEqual(none);
  });

  it('drops values with control or bidi characters, formulas, bad encodings, or too many bytes', () => {
    expect(campaignOf('/?utm_source=a%0Ab').utmSource).toBeNull();
    expect(campaignOf('/?utm_source=%E2%80%AEevil').utmSource).toBeNull();
    expect(campaignOf('/?utm_source=%3DHYPERLINK(1)').utmSource).toBeNull();
    expect(campaignOf('/?utm_source=%ZZ').utmSource).toBe('%ZZ');
    expect(campaignOf(`/?utm_campaign=${'é'.repeat(CAMPAIGN_MAX_BYTES / 2)}`).utmCampaign).toHaveLength(CAMPAIGN_MAX_BYTES / 2);
    expect(campaignOf(`/?utm_campaign=${'é'.repeat(CAMPAIGN_MAX_BYTES / 2 + 1)}`).utmCampaign).toBeNull();
    // Only the first of a repeated parameter.
    expect(campaignOf('/?utm_source=a&utm_source=b').utmSource).toBe('a');
  });
});

-- Chart: campaigns (table): visitors and page views per utm_source, utm_medium and utm_campaign,
-- from the page views whose URL carried at least one of them ('(none)' for a missing one).
-- Visitor ids change every UTC day, so visitors may be summed over days.
CREATE OR REPLACE VIEW `{{dataset}}.website_campaigns_daily` AS
SELECT
  DATE(date) AS day,
  IFNULL(utmSource, '(none)') AS source,
  IFNULL(utmMedium, '(none)') AS medium,
  IFNULL(utmCampaign, '(none)') AS campaign,
  COUNT(DISTINCT visitorId) AS visitors,
  COUNT(*) AS pageviews
FROM `{{dataset}}.website_events`
WHERE type = 'pageview' AND (utmSource IS NOT NULL OR utmMedium IS NOT NULL OR utmCampaign IS NOT NULL)
GROUP BY 1, 2, 3, 4;

-- Campaigns over the range: visitors and page views per utm_source / utm_medium / utm_campaign,
-- from the page views whose URL carried at least one of them ('(none)' for a missing one).
SELECT
  IFNULL(utmSource, '(none)') AS source,
  IFNULL(utmMedium, '(none)') AS medium,
  IFNULL(utmCampaign, '(none)') AS campaign,
  COUNT(DISTINCT visitorId) AS visitors,
  COUNT(*) AS pageviews
FROM `{{dataset}}.website_events`
WHERE DATE(date) BETWEEN @start_date AND @end_date
  AND type = 'pageview' AND (utmSource IS NOT NULL OR utmMedium IS NOT NULL OR utmCampaign IS NOT NULL)
GROUP BY 1, 2, 3
ORDER BY 4 DESC, 5 DESC, 1, 2, 3
LIMIT 20

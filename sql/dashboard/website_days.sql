-- Website per day of the range: page views, visits, downloads (days without events are absent).
SELECT
  DATE(date) AS day,
  COUNTIF(type = 'pageview') AS pageviews,
  COUNTIF(type = 'pageview' AND path = entryPage) AS visits,
  COUNTIF(type = 'event' AND LOWER(eventCategory) IN ('win', 'mac', 'linux')) AS downloads
FROM `{{dataset}}.website_events`
WHERE DATE(date) BETWEEN @start_date AND @end_date
GROUP BY 1
ORDER BY 1

-- Top pages over the range, by page views.
SELECT
  path,
  COUNT(*) AS pageviews
FROM `{{dataset}}.website_events`
WHERE DATE(date) BETWEEN @start_date AND @end_date
  AND type = 'pageview'
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 20

-- Referrer hosts over the range, by page views ('direct' when there was none).
SELECT
  IFNULL(NULLIF(SPLIT(referrer, '/')[SAFE_OFFSET(0)], ''), 'direct') AS referrer_host,
  COUNT(*) AS pageviews
FROM `{{dataset}}.website_events`
WHERE DATE(date) BETWEEN @start_date AND @end_date
  AND type = 'pageview'
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 20

-- Page views by country over the range (ISO 3166-1 alpha-2, null is 'Unknown').
SELECT
  IFNULL(country, 'Unknown') AS country,
  COUNT(*) AS pageviews
FROM `{{dataset}}.website_events`
WHERE DATE(date) BETWEEN @start_date AND @end_date
  AND type = 'pageview'
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 50

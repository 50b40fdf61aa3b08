-- Downloads by referrer host over the range.
SELECT
  IFNULL(NULLIF(SPLIT(referrer, '/')[SAFE_OFFSET(0)], ''), 'direct') AS referrer_host,
  COUNT(*) AS downloads
FROM `{{dataset}}.website_events`
WHERE DATE(date) BETWEEN @start_date AND @end_date
  AND type = 'event' AND LOWER(eventCategory) IN ('win', 'mac', 'linux')
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 20

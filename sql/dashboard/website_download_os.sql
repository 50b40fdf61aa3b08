-- Downloads by OS over the range (win, mac, linux).
SELECT
  LOWER(eventCategory) AS os,
  COUNT(*) AS downloads
FROM `{{dataset}}.website_events`
WHERE DATE(date) BETWEEN @start_date AND @end_date
  AND type = 'event' AND LOWER(eventCategory) IN ('win', 'mac', 'linux')
GROUP BY 1
ORDER BY 2 DESC, 1

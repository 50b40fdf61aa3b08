-- App per day of the range: sessions, active (distinct per day) and new installations, and
-- the day's median and average session duration in seconds.
SELECT
  DATE(receivedAt) AS day,
  COUNT(*) AS sessions,
  COUNT(DISTINCT installationId) AS active_installations,
  COUNTIF(firstSession) AS new_installations,
  AVG(IF(endTime >= startTime, TIMESTAMP_DIFF(endTime, startTime, MILLISECOND), NULL)) / 1000 AS avg_duration_seconds,
  APPROX_QUANTILES(IF(endTime >= startTime, TIMESTAMP_DIFF(endTime, startTime, MILLISECOND), NULL), 2)[OFFSET(1)] / 1000 AS median_duration_seconds
FROM `{{dataset}}.telemetry`
WHERE DATE(receivedAt) BETWEEN @start_date AND @end_date
GROUP BY 1
ORDER BY 1

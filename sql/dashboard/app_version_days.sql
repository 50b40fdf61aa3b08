-- Version adoption over time: installations (distinct per day and version) and sessions.
-- An installation that updated during a day counts under both versions that day.
SELECT
  DATE(receivedAt) AS day,
  version,
  COUNT(DISTINCT installationId) AS installations,
  COUNT(*) AS sessions
FROM `{{dataset}}.telemetry`
WHERE DATE(receivedAt) BETWEEN @start_date AND @end_date
GROUP BY 1, 2
ORDER BY 1, 2

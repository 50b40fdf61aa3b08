-- OS share over the range: sessions, and installations distinct over the range.
SELECT
  os,
  COUNT(*) AS sessions,
  COUNT(DISTINCT installationId) AS installations
FROM `{{dataset}}.telemetry`
WHERE DATE(receivedAt) BETWEEN @start_date AND @end_date
GROUP BY 1
ORDER BY 2 DESC, 1

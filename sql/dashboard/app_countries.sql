-- App sessions by country over the range (null is 'Unknown').
SELECT
  IFNULL(country, 'Unknown') AS country,
  COUNT(*) AS sessions,
  COUNT(DISTINCT installationId) AS installations
FROM `{{dataset}}.telemetry`
WHERE DATE(receivedAt) BETWEEN @start_date AND @end_date
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 50

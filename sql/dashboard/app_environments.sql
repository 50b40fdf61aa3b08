-- Environments per session over the range: sessions by environmentsCount, 10 and more as 10.
SELECT
  LEAST(environmentsCount, 10) AS environments,
  COUNT(*) AS sessions,
  COUNT(DISTINCT installationId) AS installations
FROM `{{dataset}}.telemetry`
WHERE DATE(receivedAt) BETWEEN @start_date AND @end_date
GROUP BY 1
ORDER BY 1

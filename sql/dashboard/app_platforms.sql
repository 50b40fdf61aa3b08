-- Desktop vs web over the range. Sessions without app (older clients) are left out.
SELECT
  app,
  COUNT(*) AS sessions,
  COUNT(DISTINCT installationId) AS installations
FROM `{{dataset}}.telemetry`
WHERE DATE(receivedAt) BETWEEN @start_date AND @end_date
  AND app IS NOT NULL
GROUP BY 1
ORDER BY 2 DESC, 1

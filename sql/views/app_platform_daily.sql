-- Chart: web vs desktop (stacked bars or pie). Only sessions that say which app they come
-- from: older clients send no app, and those are left out rather than guessed.
-- installations is distinct per day and app: not additive over a range.
CREATE OR REPLACE VIEW `{{dataset}}.app_platform_daily` AS
SELECT
  DATE(receivedAt) AS day,
  app,
  COUNT(*) AS sessions,
  COUNT(DISTINCT installationId) AS installations
FROM `{{dataset}}.telemetry`
WHERE app IS NOT NULL
GROUP BY 1, 2;

-- Chart: sessions by OS (stacked bars per day, or a pie over the range).
CREATE OR REPLACE VIEW `{{dataset}}.app_sessions_by_os` AS
SELECT
  DATE(receivedAt) AS day,
  os,
  COUNT(*) AS sessions
FROM `{{dataset}}.telemetry`
GROUP BY 1, 2;
